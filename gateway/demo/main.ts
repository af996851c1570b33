/**
 * Runs the demo TEE gateway. Configuration: `--config <file>` and `PROOFPATH_GATEWAY_*` variables
 * (gateway/demo/config.ts; `--help` lists every field): a local chain and a fresh enclave key by
 * default, `backendUrl` for an OpenAI-compatible model, `registerOwnerKey` + `validatorKeys` to
 * register, approve and fund the enclave first.
 */
import { parseArgs } from "node:util";
import pino from "pino";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  hexToBytes,
  http,
  type Hex,
  type PublicClient,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ConfigError, configHelp, readConfig } from "../../sdk/config.js";
import { createSettlementHook } from "../hook.js";
import { startHeartbeat } from "../attest/fromConfig.js";
import { createOhttpGateway } from "../ohttp/enclave.js";
import { keyPairFromPrivateKey } from "../../sdk/ohttp/keyConfig.js";
import { chatBackend } from "./ohttpBackend.js";
import { listen } from "../serve/http.js";
import { startDaServer } from "../serve/daServer.js";
import { registerEnclave } from "../registration.js";
import { readDeployment } from "../../sdk/deployment.js";
import { LocalModel, OpenAICompatible } from "./backend.js";
import { demoGatewayConfigRole } from "./config.js";
import { createDemoApp } from "./server.js";

const { values } = parseArgs({ options: { config: { type: "string" }, help: { type: "boolean", short: "h" } } });
if (values.help) {
  process.stdout.write(configHelp(demoGatewayConfigRole));
  process.exit(0);
}
let loaded: ReturnType<typeof readConfig<typeof demoGatewayConfigRole.schema, unknown>>;
try {
  loaded = readConfig(demoGatewayConfigRole, { file: values.config });
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`${e.message}\nRun with --help for every field.\n`);
  process.exit(2);
}
const { config: c, names } = loaded;
const log = pino({ name: "demo-gateway", level: c.logLevel });
const publicUrl = c.publicUrl ?? `http://127.0.0.1:${c.port}`;
const enclaveKey = (c.enclaveKey ?? generatePrivateKey()) as Hex;

if (c.registerOwnerKey) {
  const pub = createPublicClient({ transport: http(c.rpcUrl) }) as PublicClient;
  const owner = createWalletClient({
    transport: http(c.rpcUrl),
    account: privateKeyToAccount(c.registerOwnerKey as Hex),
    chain: defineChain({
      id: await pub.getChainId(),
      name: "proofpath",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [c.rpcUrl] } },
    }),
  });
  await registerEnclave(pub, {
    deployment: readDeployment(c.deployment),
    owner,
    enclave: privateKeyToAccount(enclaveKey),
    validators: c.validatorKeys.map((k) => privateKeyToAccount(k as Hex)),
  });
  log.info({ gateway: privateKeyToAccount(enclaveKey).address }, "enclave registered, approved and funded");
}

const {
  host,
  port,
  daPort,
  daBytesPerSec,
  daSignaturesPerSec,
  daProcess,
  daCpus,
  logLevel: _logLevel,
  publicUrl: _publicUrl,
  backendUrl,
  backendApiKey,
  registerOwnerKey: _owner,
  validatorKeys: _validators,
  ohttpPrivateKey,
  heartbeat: heartbeatConfig,
  ...hookInput
} = c;
// With predecessors, this settles their accounts to the end first (key succession), then serves.
const hook = await createSettlementHook(
  {
    ...hookInput,
    enclaveKey,
    daBaseUrl: c.daBaseUrl ?? (daPort ? `http://127.0.0.1:${daPort}` : `${publicUrl}/da`),
    logger: log.child({ part: "hook" }),
  },
  { names },
);
const heartbeat = heartbeatConfig
  ? await startHeartbeat(heartbeatConfig, {
      hook,
      rpcUrls: [...(c.rpcUrl ? [c.rpcUrl] : []), ...(c.rpcUrls ?? [])],
      enclaveKey,
      log,
    })
  : undefined;
const backend = backendUrl ? new OpenAICompatible(backendUrl, backendApiKey) : new LocalModel();
const ohttp = ohttpPrivateKey
  ? await createOhttpGateway({
      keys: keyPairFromPrivateKey({ keyId: 1, privateKey: hexToBytes(ohttpPrivateKey as Hex) }),
      backend: chatBackend(backend),
      hook,
      logger: log.child({ part: "ohttp-gateway" }),
      replayStore: { file: `${c.store}.ohttp-replay.db` },
    })
  : undefined;
const server = await listen(
  createDemoApp({ hook, backend, logger: log, daInline: !daPort, ...(ohttp ? { ohttp } : {}) }),
  port,
  host,
);
const da = daPort
  ? await startDaServer(hook, {
      port: daPort,
      host,
      logLevel: c.logLevel,
      ...(daProcess ? { process: true, ...(daCpus === undefined ? {} : { cpus: daCpus }) } : {}),
      ...(daBytesPerSec === undefined ? {} : { pace: daBytesPerSec > 0 && { bytesPerSec: daBytesPerSec } }),
      ...(daSignaturesPerSec === undefined
        ? {}
        : { signatures: { rate: daSignaturesPerSec, burst: Math.max(1, 2 * daSignaturesPerSec) } }),
    })
  : undefined;
if (da)
  log.info(
    { url: da.url, ...(da.pid ? { daPid: da.pid, cpus: daCpus ?? "any" } : {}) },
    `DA endpoints served from their ${da.pid ? "process" : "worker thread"}`,
  );
log.info(
  {
    url: publicUrl,
    gateway: hook.gateway,
    backend: backendUrl ?? "local",
    ohttp: ohttp !== undefined,
    heartbeat: heartbeat !== undefined,
    succeeded: hook.succeeded,
  },
  "demo gateway listening",
);

const stop = async () => {
  log.info("shutting down: flushing receipts");
  await heartbeat?.stop();
  await server.close();
  ohttp?.close();
  await da?.close();
  await hook.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
