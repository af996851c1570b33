/**
 * Runs the OHTTP relay on its own. Configuration: `--config <file>` and `PROOFPATH_RELAY_*`
 * variables (relayConfig.ts; `--help` lists every field). Run it under a different operator than
 * the gateway, or the separation of who/what is nominal.
 */
import { parseArgs } from "node:util";
import type { z } from "zod";
import { ConfigError, configHelp, readConfig } from "../../sdk/config.js";
import { listen } from "../serve/http.js";
import { createRelayApp, createRelayLogger } from "./relay.js";
import { relayConfigRole, type relayConfigSchema } from "./relayConfig.js";

const { values } = parseArgs({ options: { config: { type: "string" }, help: { type: "boolean", short: "h" } } });
if (values.help) {
  process.stdout.write(configHelp(relayConfigRole));
  process.exit(0);
}
let config: z.output<typeof relayConfigSchema>;
try {
  ({ config } = readConfig(relayConfigRole, { file: values.config }));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`${e.message}\nRun with --help for every field.\n`);
  process.exit(2);
}
const log = createRelayLogger(1, config.logLevel);
const server = await listen(
  createRelayApp({ gatewayUrl: config.gatewayUrl, logger: log, maxBodyBytes: config.maxBodyBytes }),
  config.port,
  config.host,
);
log.info({ port: server.port }, "ohttp relay listening");
log.flush(); // the log is buffered (createRelayLogger); show the start-up line now
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
