/**
 * `npm start`: the whole of proofpath on one machine, on embedded defaults.
 *
 * A local chain (anvil), the contracts deployed, the Ponder indexer on PGlite, the demo TEE gateway
 * with the settlement hook, a validator quorum, and a load generator sending chat calls. Batches are
 * submitted, attested and finalized (short windows); then a summary and a few calls' proof statuses
 * are printed and the dashboard stays up until Ctrl-C (or, with --once, the process exits: 0 only
 * when every call ended finalized).
 */
import { mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { formatUnits, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deployProofpath, localDeployDefaults } from "../tools/deploy.js";
import { writeDeployment } from "../sdk/deployment.js";
import { devClients, devPrivateKey, freePort, startDevChain, type DevChain } from "../tools/devchain.js";
import { createSettlementHook, listen, registerEnclave, type SettlementHook } from "../gateway/index.js";
import { LocalModel } from "../gateway/demo/backend.js";
import { createDemoApp } from "../gateway/demo/server.js";
import { createValidator, type Validator } from "../validator/index.js";
import { generateKeyPair } from "../sdk/ohttp/index.js";
import { createAttestedOhttpClient } from "../sdk/ohttp/registry.js";
import { createOhttpGateway } from "../gateway/ohttp/enclave.js";
import { chatBackend } from "../gateway/demo/ohttpBackend.js";
import { createRelayApp } from "../gateway/ohttp/relay.js";
import { startPonder, type Ponder } from "../indexer/harness/ponder.js";
import { createLoadGenerator, ohttpSender } from "./start/load.js";
import { finality, printSummary, type CallOutcome } from "./start/summary.js";
import { step, progressBar } from "./start/progress.js";

const HELP = `Usage: npm start -- [options]

Runs proofpath end to end on a local chain: contracts, indexer (PGlite), demo TEE gateway with the
settlement hook, validators, and a load generator. Prints a summary and keeps the dashboard up.

Options:
  --calls <n>         chat calls to send                      (default 200)
  --rate <n>          calls per second                        (default 40)
  --batch-size <n>    receipts per batch (seal by size)       (default 50)
  --batch-age <ms>    seal a partial batch after this long    (default 1000)
  --validators <n>    validators (quorum = majority)          (default 3)
  --window <s>        challenge window in seconds             (default 10)
  --direct            send the load straight to the gateway (no OHTTP relay, no encryption)
  --once              exit after the summary: 0 only when every call ended finalized
  --timeout <s>       give up waiting for finality after this (default 180)
  -h, --help          this help
`;

const { values: opts } = parseArgs({
  options: {
    calls: { type: "string", default: "200" },
    rate: { type: "string", default: "40" },
    "batch-size": { type: "string", default: "50" },
    "batch-age": { type: "string", default: "1000" },
    validators: { type: "string", default: "3" },
    window: { type: "string", default: "10" },
    timeout: { type: "string", default: "180" },
    once: { type: "boolean", default: false },
    direct: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (opts.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function positiveInt(name: string, value: string, max = 1_000_000): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`npm start: --${name} must be an integer from 1 to ${max} (got "${value}"); see --help`);
    process.exit(2);
  }
  return n;
}
const cfg = {
  calls: positiveInt("calls", opts.calls!),
  rate: positiveInt("rate", opts.rate!, 10_000),
  batchSize: positiveInt("batch-size", opts["batch-size"]!, 8192),
  batchAgeMs: positiveInt("batch-age", opts["batch-age"]!, 600_000),
  validators: positiveInt("validators", opts.validators!, 15),
  window: positiveInt("window", opts.window!, 86_400),
  timeoutSec: positiveInt("timeout", opts.timeout!, 86_400),
};
const quorum = Math.floor(cfg.validators / 2) + 1;

// Everything the demo starts, stopped in reverse order on exit or Ctrl-C.
const stoppers: (() => Promise<unknown>)[] = [];
// State of this run (chain-specific stores, indexer database, logs) lives in data/start/, cleared at
// each start so a new chain never meets old receipts; the logs stay there after exit.
const workDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "data", "start");
rmSync(workDir, { recursive: true, force: true });
mkdirSync(workDir, { recursive: true });
let shuttingDown = false;
async function shutdown(code: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
  }
  process.exit(code);
}
process.once("SIGINT", () => {
  process.stdout.write("\nshutting down…\n");
  void shutdown(130);
});
process.once("SIGTERM", () => void shutdown(143));

// Components log to a file; the terminal shows progress and the summary.
const logFile = path.join(workDir, "proofpath.log");
const logger = pino({ level: "info" }, pino.destination({ dest: logFile, sync: false }));

async function main(): Promise<number> {
  console.log(
    `proofpath demo: ${cfg.calls} calls at ${cfg.rate}/s, batches of ≤${cfg.batchSize}, ${cfg.validators} validators (quorum ${quorum}), ${cfg.window}s challenge window\n`,
  );

  const chain: DevChain = await step("local chain (anvil)", () => startDevChain());
  stoppers.push(() => chain.stop());
  const { walletClient, publicClient, account: owner } = devClients(chain, 0);

  const validatorKeys = Array.from({ length: cfg.validators }, (_, i) => devPrivateKey(i + 1));
  const validatorAccounts = validatorKeys.map((k) => privateKeyToAccount(k));
  const deployment = await step("deploy contracts", () =>
    deployProofpath(walletClient, publicClient, {
      ...localDeployDefaults,
      validators: validatorAccounts.map((a) => a.address),
      quorum,
      challengeWindow: cfg.window,
    }),
  );
  const deploymentFile = path.join(workDir, "deployment.json");
  writeDeployment(deploymentFile, deployment);

  const enclaveKey = devPrivateKey(cfg.validators + 1);
  const relayerKey = devPrivateKey(cfg.validators + 2);
  const enclave = privateKeyToAccount(enclaveKey);
  // The enclave's OHTTP key: its config hash goes into the registry entry the validators approve.
  const ohttpKeys = generateKeyPair({ keyId: 1 });
  await step("register the enclave, quorum-approve it, fund its fees", () =>
    registerEnclave(publicClient, {
      deployment,
      owner: walletClient,
      enclave,
      validators: validatorAccounts,
      keyConfigHash: ohttpKeys.hash,
    }),
  );

  const ponder: Ponder = await step("indexer (Ponder on PGlite)", async () => {
    const p = await startPonder({
      deploymentFile,
      rpcUrl: chain.url,
      pgliteDir: path.join(workDir, "pglite"),
      port: await freePort(),
      logName: "start",
      // The dashboard names the demo's models instead of showing their hashes; the verify page looks
      // calls up by request hash, from the receipts of the demo gateway's DA (on loopback).
      env: {
        PROOFPATH_INDEXER_MODEL_NAMES: "proofpath-local-small,proofpath-local-large",
        PROOFPATH_INDEXER_INDEX_RECEIPTS: "true",
        PROOFPATH_INDEXER_DA_ALLOW_PRIVATE: "true",
      },
    });
    stoppers.push(() => p.stop());
    await p.waitForBlock(await publicClient.getBlockNumber(), 180_000);
    return p;
  });

  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const hook: SettlementHook = await step("demo TEE gateway with the settlement hook", async () => {
    const h = await createSettlementHook({
      store: path.join(workDir, "gateway.db"),
      enclaveKey,
      relayerKey,
      rpcUrl: chain.url,
      deployment: deploymentFile,
      daBaseUrl: `${gatewayUrl}/da`,
      batch: { maxCalls: cfg.batchSize, maxAgeMs: cfg.batchAgeMs },
      confirmations: 1,
      pollMs: 200,
      logger: logger.child({ part: "gateway" }),
    });
    const backend = new LocalModel();
    const ohttp = await createOhttpGateway({
      keys: ohttpKeys,
      backend: chatBackend(backend),
      hook: h,
      logger: logger.child({ part: "ohttp-gateway" }),
      replayStore: { file: path.join(workDir, "ohttp-replay.db") },
    });
    const server = await listen(
      createDemoApp({ hook: h, backend, logger: logger.child({ part: "demo-gateway" }), ohttp }),
      gatewayPort,
      "127.0.0.1",
    );
    stoppers.push(async () => {
      await server.close();
      ohttp.close();
      await h.close({ drain: false, timeoutMs: 5_000 });
    });
    return h;
  });

  const validators: Validator[] = await step(`${cfg.validators} validators`, async () => {
    const ports = await Promise.all(validatorKeys.map(() => freePort()));
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const vs: Validator[] = [];
    for (let i = 0; i < validatorKeys.length; i++) {
      const v = await createValidator(
        {
          privateKey: validatorKeys[i]!,
          daAllowPrivate: true, // the demo gateway serves its receipts on 127.0.0.1
          rpcUrl: chain.url,
          deployment: deploymentFile,
          dataDir: path.join(workDir, `validator-${i}`),
          peers: urls.filter((_, j) => j !== i),
          port: ports[i]!,
          pollIntervalMs: 250,
          confirmations: 0,
          submitStaggerMs: 500,
          claimIntervalMs: 2_000,
        },
        { logger: logger.child({ part: `validator-${i}` }) },
      );
      vs.push(v);
      stoppers.push(() => v.stop());
    }
    return vs;
  });

  // ---------------------------------------------------------------- load
  // Through the privacy boundary: encrypted on the "device" to the key config the registry binds,
  // forwarded by the OHTTP relay (which strips who asked), opened only inside the gateway.
  let relayUrl: string | undefined;
  if (!opts.direct) {
    relayUrl = await step("OHTTP relay", async () => {
      const relay = await listen(
        createRelayApp({ gatewayUrl, logger: logger.child({ part: "ohttp-relay" }) }),
        await freePort(),
        "127.0.0.1",
      );
      stoppers.push(() => relay.close());
      return `http://127.0.0.1:${relay.port}/`;
    });
  }
  const send = relayUrl
    ? ohttpSender(
        await createAttestedOhttpClient({
          client: publicClient,
          registry: deployment.contracts.GatewayRegistry,
          enclave: enclave.address,
          keysUrl: `${gatewayUrl}/ohttp-keys`,
          relayUrl,
        }),
      )
    : undefined;
  const load = createLoadGenerator({
    url: `${gatewayUrl}/v1/chat/completions`,
    calls: cfg.calls,
    rate: cfg.rate,
    ...(send ? { send } : {}),
  });
  const bar = progressBar(relayUrl ? "chat calls (OHTTP via relay)" : "chat calls (direct)", cfg.calls);
  const served = await load.run((done, failed) => bar.update(done, failed ? `${failed} failed` : ""));
  bar.finish(`${served.ok} answered${served.failed ? `, ${served.failed} failed` : ""}`);
  await hook.flush();

  // ---------------------------------------------------------------- proof path
  const gateway = hook.gateway as Address;
  const outcomes: CallOutcome[] = [];
  const finalBar = progressBar("calls finalized", served.ok);
  const deadline = Date.now() + cfg.timeoutSec * 1000;
  let finalized = 0;
  for (;;) {
    const partial = await finality(ponder, gateway, served.ok).catch(() => undefined);
    finalized = partial?.finalizedCalls ?? finalized;
    finalBar.update(Math.min(finalized, served.ok));
    if ((partial?.allFinalized ?? false) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  finalBar.finish(
    finalized >= served.ok ? "all finalized" : `${finalized} of ${served.ok} finalized before the timeout`,
  );

  for (const callSeq of pickCalls(served.ok)) {
    const s = await ponder.getJson(`/calls/${gateway}/${callSeq}`).catch((e) => ({ error: String(e) }));
    outcomes.push({ callSeq, status: s as Record<string, unknown> });
  }
  const summary = await printSummary({
    ponder,
    publicClient,
    deployment,
    gateway,
    served: served.ok,
    outcomes,
    validators,
    formatOpg: (wei: bigint) => formatUnits(wei, 18),
  });

  console.log(
    `\ndashboard: ${ponder.url}/   GraphQL: ${ponder.url}/graphql   gateway: ${gatewayUrl}${relayUrl ? `   relay: ${relayUrl}` : ""}   logs: ${logFile}`,
  );
  if (opts.once) return summary.allFinalized ? 0 : 1;
  console.log("Press Ctrl-C to stop.");
  await new Promise(() => {});
  return 0;
}

/** A few callSeqs to show: the first, one from the middle, the last. */
function pickCalls(n: number): bigint[] {
  if (n === 0) return [];
  return [...new Set([0, Math.floor(n / 2), n - 1])].map(BigInt);
}

main().then(
  (code) => shutdown(code),
  (e) => {
    console.error(`\nnpm start failed: ${e instanceof Error ? e.message : String(e)}\nlogs: ${logFile}`);
    void shutdown(1);
  },
);
