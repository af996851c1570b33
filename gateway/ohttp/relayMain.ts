/**
 * Runs the OHTTP relay on its own. Environment: GATEWAY_URL (the enclave gateway's base URL,
 * required), PORT (8081), HOST (127.0.0.1), MAX_BODY_BYTES (1048576), LOG_LEVEL (info).
 * Run it under a different operator than the gateway, or the separation of who/what is nominal.
 */
import { listen } from "../serve/http.js";
import { createRelayApp, createRelayLogger } from "./relay.js";

const env = process.env;
if (!env.GATEWAY_URL) {
  console.error("ohttp relay: set GATEWAY_URL to the enclave gateway's base URL (its /ohttp is the target)");
  process.exit(2);
}
const log = createRelayLogger();
const server = await listen(
  createRelayApp({
    gatewayUrl: env.GATEWAY_URL,
    logger: log,
    ...(env.MAX_BODY_BYTES ? { maxBodyBytes: Number(env.MAX_BODY_BYTES) } : {}),
  }),
  Number(env.PORT ?? 8081),
  env.HOST ?? "127.0.0.1",
);
log.info({ port: server.port }, "ohttp relay listening");
log.flush(); // the log is buffered (createRelayLogger); show the start-up line now
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
