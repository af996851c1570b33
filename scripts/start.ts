/**
 * `npm start`: the whole of proofpath on one machine, on embedded defaults.
 *
 * A local chain (anvil), the contracts deployed, the Ponder indexer on PGlite, the demo TEE gateway
 * with the settlement hook, a validator quorum, and a load generator sending chat calls. Batches are
 * submitted, attested and finalized (short windows); then a summary and a few calls' proof statuses
 * are printed and the dashboard stays up until Ctrl-C (or, with --once, the process exits: 0 only
 * when every call ended finalized).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { formatUnits, parseAbiItem, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deployProofpath, localDeployDefaults } from "../tools/deploy.js";
import { writeDeployment } from "../sdk/deployment.js";
import { gatewayRegistryAbi } from "../sdk/abis.js";
import { settlementDomain } from "../sdk/eip712.js";
import { receiptJson, type SignedCallReceipt } from "../sdk/ohttp/receipts.js";
import { verifyReceipt } from "../sdk/verifyReceipt.js";
import { devClients, devPrivateKey, freePort, startDevChain, type DevChain } from "../tools/devchain.js";
import { createDevNitroCa, devPcrs } from "../tools/devNitroCa.js";
import { startDevNitriding } from "../tools/devNitriding.js";
import { closeAccount, listen, succeedEnclave } from "../gateway/index.js";
import { readNextSeqs } from "../gateway/chain.js";
import { createValidator, type Validator } from "../validator/index.js";
import { measurementOf } from "../validator/attestation/index.js";
import { createAttestedOhttpClient } from "../sdk/ohttp/registry.js";
import { createRelayApp } from "../gateway/ohttp/relay.js";
import { startPonder, type Ponder } from "../indexer/harness/ponder.js";
import { createLoadGenerator, ohttpSender } from "./start/load.js";
import { finalityOf, printSummary, type AccountInput, type CallOutcome } from "./start/summary.js";
import { note, step, progressBar } from "./start/progress.js";
import {
  newEnclaveKeys,
  registerAndApprove,
  startEnclaveProcess,
  type EnclaveKeys,
  type EnclaveProcess,
} from "./start/enclave.js";

/** How often the demo's heartbeat re-attests the live enclave key (seconds, chain time). */
const REATTEST_AFTER_SEC = 8;
const short = (a: Address) => `${a.slice(0, 8)}…`;

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
  --keep-enclave      no handover: the first enclave serves every call (by default it is
                      SIGKILLed midway and a successor key takes over its account)
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
    "keep-enclave": { type: "boolean", default: false },
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
  const { walletClient, publicClient } = devClients(chain, 0);

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

  // A development "Nitro" CA stands in for AWS: each enclave's attestation document is issued by it
  // (through a nitriding stand-in), and the validators trust its root for this run only.
  const { nitriding, measurement, rootFile } = await step("dev Nitro CA and attestation endpoint", async () => {
    const ca = await createDevNitroCa();
    const pcrs = devPcrs("proofpath-demo-enclave");
    const rootFile = path.join(workDir, "dev-nitro-root.pem");
    writeFileSync(rootFile, ca.rootPem);
    const nitriding = await startDevNitriding(ca, pcrs);
    stoppers.push(() => nitriding.close());
    return { nitriding, measurement: measurementOf(pcrs), rootFile };
  });

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
          // Receipts are unreachable while an enclave is replaced: ask again soon, not after 30 s.
          retryMaxMs: 2_000,
          attestationRoot: rootFile,
        },
        { logger: logger.child({ part: `validator-${i}` }) },
      );
      vs.push(v);
      stoppers.push(() => v.stop());
    }
    return vs;
  });
  const validatorUrls = validators.map((v) => v.url);

  const relayerKey = devPrivateKey(cfg.validators + 1);
  const operatorKey = devPrivateKey(cfg.validators + 2);
  const { walletClient: operator } = devClients(chain, cfg.validators + 2);
  const chainId = await publicClient.getChainId();
  const domain = settlementDomain(chainId, deployment.contracts.ProofSettlement);
  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const heartbeatInterval = localDeployDefaults.heartbeatInterval;

  /** Registers a fresh enclave key from its attestation document; validators verify and approve it. */
  const register = (keys: EnclaveKeys) =>
    registerAndApprove(publicClient, {
      deployment,
      owner: walletClient,
      operator,
      keys,
      nitriding,
      measurement,
      validatorUrls,
      quorum,
    });
  /** Starts an enclave process for `keys` on the gateway's one public URL; its store is on the host. */
  const startEnclave = (n: number, keys: EnclaveKeys, predecessors: { account: Address; store: string }[]) =>
    startEnclaveProcess({
      configFile: path.join(workDir, `enclave-${n}.json`),
      logFile,
      timeoutMs: 180_000,
      config: {
        enclaveKey: keys.enclaveKey,
        ohttpPrivateKey: keys.ohttpPrivateKey,
        relayerKey,
        rpcUrl: chain.url,
        deployment: deploymentFile,
        store: path.join(workDir, `enclave-${n}.db`),
        host: "127.0.0.1",
        port: gatewayPort,
        publicUrl: gatewayUrl,
        // Account-qualified: a successor at the same URL serves the dead key's batches too.
        daBaseUrl: `${gatewayUrl}/da/accounts/${keys.address}`,
        batch: { maxCalls: cfg.batchSize, maxAgeMs: cfg.batchAgeMs },
        // A small reservation: a crash voids at most this many callSeqs.
        reserveSize: 64,
        confirmations: 1,
        pollMs: 200,
        logLevel: "info",
        predecessors,
        heartbeat: {
          operatorKey,
          attestationUrl: nitriding.baseUrlOf(keys.address),
          validators: validatorUrls,
          quorum,
          // The registry keeps a key active for heartbeatInterval (a day); re-attesting this close
          // to it renews every ~REATTEST_AFTER_SEC, so the demo shows the heartbeat at work.
          marginSec: heartbeatInterval - REATTEST_AFTER_SEC,
          checkEveryMs: 1_000,
          retryMs: 2_000,
        },
      },
    });

  const keys1 = newEnclaveKeys();
  await step(`enclave 1 ${short(keys1.address)}: attestation → register → validators approve`, () => register(keys1));
  let enclave: EnclaveProcess = await step("enclave 1: demo TEE gateway process with the hook", () =>
    startEnclave(1, keys1, []),
  );
  stoppers.push(() => enclave.stop());

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
  /** The user's client for one enclave key: OHTTP to the key config the registry binds, receipts kept. */
  const clientFor = async (key: Address) =>
    relayUrl
      ? createAttestedOhttpClient({
          client: publicClient,
          registry: deployment.contracts.GatewayRegistry,
          enclave: key,
          keysUrl: `${gatewayUrl}/ohttp-keys`,
          relayUrl,
          receipts: { domain, timeoutMs: 5_000 },
        })
      : undefined;
  const loadFor = async (key: Address, calls: number) => {
    const client = await clientFor(key);
    const load = createLoadGenerator({
      url: `${gatewayUrl}/v1/chat/completions`,
      calls,
      rate: cfg.rate,
      ...(client ? { send: ohttpSender(client) } : {}),
    });
    return { load, receipts: async () => (client?.receipts ? await client.receipts.list() : []) };
  };
  const label = relayUrl ? "chat calls (OHTTP via relay)" : "chat calls (direct)";
  const accounts: (AccountInput & { receipts: SignedCallReceipt[] })[] = [];

  // Phase 1: the first enclave serves until midway; then it is SIGKILLed with calls in flight.
  // The first enclave gets at most three quarters of the calls, so its successor always serves some.
  const killAt = Math.max(1, Math.floor(cfg.calls / 2));
  const phase1Calls = opts["keep-enclave"] ? cfg.calls : Math.max(1, Math.floor(cfg.calls * 0.75));
  const phase1 = await loadFor(keys1.address, phase1Calls);
  const bar1 = progressBar(label, phase1Calls);
  let killed: Promise<void> | undefined;
  // Kill once the first key has a batch on-chain too (so its users hold receipts of settled batches
  // whose daURI names the dead key), or at three quarters of the calls at the latest.
  let onChain = false;
  const watchChain = setInterval(() => {
    void readNextSeqs(publicClient, deployment.contracts.ProofSettlement, keys1.address).then(
      (n) => void (onChain ||= n.nextCallSeq > 0),
      () => {},
    );
  }, 200);
  const served1 = await phase1.load.run((done, failed) => {
    const ok = done - failed;
    bar1.update(done, failed ? `${failed} failed` : "");
    if (!opts["keep-enclave"] && !killed && ok >= killAt && onChain) {
      killed = enclave.kill();
      phase1.load.stop();
    }
  });
  clearInterval(watchChain);
  let answered = served1.ok;
  // No batch on-chain yet when the first enclave's share of calls was done: killed now, idle.
  if (!opts["keep-enclave"] && !killed) killed = enclave.kill();
  if (!killed) {
    bar1.finish(`${served1.ok} answered${served1.failed ? `, ${served1.failed} failed` : ""}`);
    accounts.push({
      address: keys1.address,
      label: "enclave 1",
      answered: served1.ok,
      end: served1.ok,
      receipts: await phase1.receipts(),
    });
  } else {
    await killed;
    const t0 = Date.now();
    process.stdout.write("\n");
    note(
      `✝ midway: SIGKILL enclave 1 ${short(keys1.address)} (pid ${enclave.pid}) after ${served1.ok} answered calls${served1.failed ? ` (${served1.failed} in flight failed)` : ""}: its key is gone, its store stays on the host`,
    );
    const keys2 = newEnclaveKeys();
    await step(`enclave 2 ${short(keys2.address)}: attestation → register → validators approve`, () => register(keys2));
    await step(`GatewayRegistry.succeed(${short(keys1.address)} → ${short(keys2.address)})`, () =>
      succeedEnclave(publicClient, {
        deployment,
        operator,
        predecessor: keys1.address,
        successor: keys2.address,
      }),
    );
    enclave = await step(
      "enclave 2: recover enclave 1's store, settle its receipts in callSeq order, void the rest",
      () => startEnclave(2, keys2, [{ account: keys1.address, store: path.join(workDir, "enclave-1.db") }]),
    );
    const s = enclave.succeeded[0]!;
    note(
      `⇄ handover in ${((Date.now() - t0) / 1000).toFixed(1)} s: enclave 2 settled ${short(keys1.address)}'s callSeqs 0…${s.settledEnd - 1} (${s.voided} voided, ${s.signed} batches signed as successor); now serving under ${short(keys2.address)}`,
    );
    // Settled to its end: the operator closes the account, so a receipt of enclave 1 above the end
    // (one a host hid from enclave 2) would now be proof against enclave 1's bond.
    const closedAt = await step(`GatewayRegistry.closeAccount(${short(keys1.address)})`, () =>
      closeAccount(publicClient, { deployment, sender: operator, account: keys1.address, end: s.settledEnd }),
    );
    note(
      `⊘ ${short(keys1.address)}'s account closed at callSeq ${closedAt}: any receipt it signed at or above that proves against its bond`,
    );
    const receipts1 = await phase1.receipts();
    accounts.push({
      address: keys1.address,
      label: "enclave 1 (killed)",
      answered: served1.ok,
      end: s.settledEnd,
      receipts: receipts1,
    });

    // Phase 2: the successor serves the rest under its own key (the user's client checks the new key).
    const phase2 = await loadFor(keys2.address, cfg.calls - served1.ok);
    const bar2 = progressBar(`${label} →2`, cfg.calls - served1.ok);
    const served2 = await phase2.load.run((done, failed) => bar2.update(done, failed ? `${failed} failed` : ""));
    bar2.finish(`${served2.ok} answered${served2.failed ? `, ${served2.failed} failed` : ""}`);
    answered += served2.ok;
    accounts.push({
      address: keys2.address,
      label: "enclave 2 (successor)",
      answered: served2.ok,
      end: served2.ok,
      receipts: await phase2.receipts(),
    });
  }
  const current = accounts.at(-1)!.address;

  // ---------------------------------------------------------------- proof path
  const outcomes: CallOutcome[] = [];
  const toFinalize = accounts.reduce((n, a) => n + a.end, 0);
  const finalBar = progressBar("calls finalized", toFinalize);
  const deadline = Date.now() + cfg.timeoutSec * 1000;
  let finalized = 0;
  let activeUntil: bigint | undefined;
  let reattests = 0;
  for (;;) {
    const partial = await finalityOf(ponder, accounts).catch(() => undefined);
    finalized = partial?.finalizedCalls ?? finalized;
    finalBar.update(Math.min(finalized, toFinalize));
    // The heartbeat at work: the live key's activeUntil moves on after each re-attestation.
    const e = (await publicClient
      .readContract({
        address: deployment.contracts.GatewayRegistry,
        abi: gatewayRegistryAbi,
        functionName: "enclave",
        args: [current],
      })
      .catch(() => undefined)) as { activeUntil: bigint } | undefined;
    if (e && activeUntil !== undefined && e.activeUntil > activeUntil) {
      reattests++;
      note(
        `↻ heartbeat: ${short(current)} re-attested (fresh dev-CA document, ${quorum} validator approvals); activeUntil +${e.activeUntil - activeUntil} s`,
      );
    }
    if (e) activeUntil = e.activeUntil;
    if ((partial?.allFinalized ?? false) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  finalBar.finish(
    finalized >= toFinalize ? "all finalized" : `${finalized} of ${toFinalize} finalized before the timeout`,
  );

  for (const callSeq of pickCalls(accounts[0]!.answered)) {
    const gateway = accounts[0]!.address;
    const s = await ponder.getJson(`/calls/${gateway}/${callSeq}`).catch((e) => ({ error: String(e) }));
    outcomes.push({ callSeq, status: s as Record<string, unknown> });
  }
  const summary = await printSummary({
    ponder,
    publicClient,
    deployment,
    accounts,
    served: answered,
    outcomes,
    validators,
    formatOpg: (wei: bigint) => formatUnits(wei, 18),
  });

  // A user of the dead key checks a receipt from a batch that key itself put on-chain: the header's
  // daURI names the dead key's account, which its successor now serves.
  const handover = accounts.length > 1 ? await verifyDeadKeysReceipt(accounts[0]!, chainId) : undefined;
  if (handover)
    console.log(
      `\nverify-receipt of a dead key's call (callSeq ${handover.callSeq}): ${handover.verdict} — ${handover.reason}`,
    );
  if (process.env.PROOFPATH_SUMMARY_JSON)
    console.log(
      `HANDOVER ${JSON.stringify({ handover: accounts.length > 1, reattests, heartbeatDocuments: Object.fromEntries(nitriding.served), verify: handover ?? null }, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`,
    );

  console.log(
    `\ndashboard: ${ponder.url}/   GraphQL: ${ponder.url}/graphql   gateway: ${gatewayUrl}${relayUrl ? `   relay: ${relayUrl}` : ""}   logs: ${logFile}`,
  );
  const ok = summary.allFinalized && (handover === undefined || handover.verdict === "final");
  if (opts.once) return ok ? 0 : 1;
  console.log("Press Ctrl-C to stop.");
  await new Promise(() => {});
  return 0;

  /** `verify-receipt` (sdk/verifyReceipt.ts) of a kept receipt the dead key put on-chain itself. */
  async function verifyDeadKeysReceipt(a: AccountInput & { receipts: SignedCallReceipt[] }, id: number) {
    const onChainBefore = await publicClient.getLogs({
      address: deployment.contracts.ProofSettlement,
      event: parseAbiItem(
        "event BatchSubmitted(address indexed gateway, uint64 indexed batchSeq, uint64 indexed firstCallSeq, uint32 count, bytes32 root, uint256 fee, bytes32 headerHash, (bytes32 modelId, uint32 calls, uint64 inputTokens, uint64 outputTokens)[] usage, uint64 firstServedAt, uint64 lastServedAt, string daURI)",
      ),
      args: { gateway: a.address },
      fromBlock: BigInt(deployment.startBlock),
    });
    // Batches whose daURI is the dead key's own (not re-signed by the successor).
    const own = onChainBefore.find((l) => l.args.daURI?.includes(`/accounts/${a.address}/batches/`));
    const first = own?.args.firstCallSeq;
    const count = own?.args.count ?? 0;
    const r =
      first === undefined
        ? undefined
        : (a.receipts as SignedCallReceipt[]).find(
            (x) => x.receipt.callSeq >= first && x.receipt.callSeq < first + BigInt(count),
          );
    if (!r)
      return { callSeq: null, verdict: "skipped", reason: "the dead key put no batch on-chain itself before it died" };
    const { report } = await verifyReceipt(receiptJson(r), {
      client: publicClient,
      deployment: { ...deployment, chainId: id },
    });
    return { callSeq: r.receipt.callSeq, verdict: report.verdict, reason: report.reason, daURI: own!.args.daURI };
  }
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
