/**
 * Host store benchmark (`npm run bench:hoststore`): the hook with its durable store on the host
 * (`proofpath host-store` in its own process, over a Unix socket) beside the local SQLite store, in
 * one run, alternating (local, host, local, host) so both see the same machine load. Per store:
 * record() p99 under a paced 10,000 calls/s load, and durable receipts/s for a burst (from the first
 * call until the last one's `durable` resolved). Reports the host store's ratios to the local store:
 * the machine is shared, so absolute figures are noise. Targets (host store): record() p99 ≤ 20 µs at
 * 10k/s, ≥ 50,000 durable receipts/s. Smoke size: BENCH_HOST_CALLS=20000 BENCH_PACED_S=1 BENCH_OUT=test-results/bench/hoststore.json.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { keccak256, toHex, type Hex } from "viem";
import pino from "pino";
import { deployDevNet } from "../../tools/devnet.js";
import { devPrivateKey, startDevChain } from "../../tools/devchain.js";
import { waitFor } from "../../tools/waitFor.js";
import { createSettlementHook, type Call } from "../../gateway/index.js";
import { pct } from "./quantile.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CALLS = Number(process.env.BENCH_HOST_CALLS ?? 200_000);
const PACED_S = Number(process.env.BENCH_PACED_S ?? 5);
const RATE = 10_000;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const now = () => Number(process.hrtime.bigint()) / 1000; // µs

const POOL = 4096;
const models: Hex[] = ["llama-3-8b", "mistral-7b", "qwen-2-7b"].map((m) => keccak256(toHex(m)));
const calls: Call[] = Array.from({ length: POOL }, (_, i) => ({
  modelId: models[i % 3]!,
  requestHash: keccak256(toHex(`q${i}`)),
  responseHash: keccak256(toHex(`r${i}`)),
  inputTokens: 100 + (i % 400),
  outputTokens: 50 + (i % 700),
}));

/** `proofpath host-store` in its own process, as on the parent instance. */
async function startHost(dir: string): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const socket = path.join(dir, "host.sock");
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/cli.ts", "host-store", "--socket", socket, "--dir", path.join(dir, "logs")],
    { cwd: root, env: { ...process.env, NODE_NO_WARNINGS: "1" }, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const exit = new Promise<void>((r) => proc.once("close", () => r()));
  await waitFor("the host store to listen", () => out.includes("listening"), 60_000, 50);
  return {
    endpoint: `unix:${socket}`,
    stop: async () => {
      proc.kill("SIGTERM");
      await exit;
    },
  };
}

const chain = await startDevChain();
const dir = mkdtempSync(path.join(tmpdir(), "pp-bench-host-"));
const results: Record<"local" | "host", { p99: number[]; p50: number[]; durablePerSec: number[] }> = {
  local: { p99: [], p50: [], durablePerSec: [] },
  host: { p99: [], p50: [], durablePerSec: [] },
};
try {
  const { deployment } = await deployDevNet(chain, { validatorKeys: [devPrivateKey(1)], quorum: 1, register: false });
  let k = 0;
  for (const mode of ["local", "host", "local", "host"] as const) {
    const runDir = path.join(dir, `${mode}-${k++}`);
    mkdirSync(runDir, { recursive: true });
    const host = mode === "host" ? await startHost(runDir) : undefined;
    const hook = await createSettlementHook({
      store: path.join(runDir, "gw.db"),
      // A fresh key each run: every run starts an account (and a host log) from callSeq 0.
      enclaveKey: devPrivateKey(5 + k),
      rpcUrl: chain.url,
      settlement: deployment.contracts.ProofSettlement,
      chainId: 31337,
      daBaseUrl: "http://127.0.0.1:9/da",
      batch: { maxCalls: 1024, maxAgeMs: 5_000 },
      submit: false,
      synchronous: "full",
      logger: pino({ level: "warn" }),
      ...(host ? { hostStore: { endpoint: host.endpoint } } : {}),
    });
    // Warm-up: the JIT and both workers.
    for (let i = 0; i < 20_000; i++) hook.record(calls[i % POOL]!);
    await hook.flush();

    // Paced 10,000 calls/s with durability on.
    const lat: number[] = [];
    const start = performance.now();
    for (let issued = 0; issued < RATE * PACED_S; ) {
      const due = Math.min(RATE * PACED_S, Math.floor(((performance.now() - start) / 1000) * RATE));
      for (; issued < due; issued++) {
        const c = calls[issued % POOL]!;
        const t0 = now();
        hook.record(c);
        lat.push(now() - t0);
      }
      await new Promise((r) => setImmediate(r));
    }
    await hook.flush();

    // Burst: durable receipts/s, 4,000 calls an event-loop turn, until the last one is durable.
    const t0 = performance.now();
    let last: Promise<void> = Promise.resolve();
    for (let i = 0; i < CALLS; ) {
      const due = Math.min(CALLS, i + 4_000);
      for (; i < due; i++) last = hook.record(calls[i % POOL]!).durable;
      await new Promise((r) => setImmediate(r));
    }
    await last;
    const durablePerSec = Math.round(CALLS / ((performance.now() - t0) / 1000));
    await hook.close();
    await host?.stop();
    const r = results[mode];
    r.p50.push(pct(lat, 50));
    r.p99.push(pct(lat, 99));
    r.durablePerSec.push(durablePerSec);
    console.log(
      `${mode}: record() at 10k/s p50 ${round(pct(lat, 50))} µs p99 ${round(pct(lat, 99))} µs; ${durablePerSec} durable/s (${CALLS} calls)`,
    );
  }
  const best = (xs: number[], f: (...v: number[]) => number) => f(...xs);
  const fig = {
    calls: CALLS,
    pacedSeconds: PACED_S,
    local: {
      recordP99Us: round(best(results.local.p99, Math.min)),
      durablePerSec: best(results.local.durablePerSec, Math.max),
    },
    host: {
      recordP99Us: round(best(results.host.p99, Math.min)),
      durablePerSec: best(results.host.durablePerSec, Math.max),
    },
    ratio: {} as Record<string, number>,
    targets: { recordP99Us: 20, durablePerSec: 50_000 },
  };
  fig.ratio = {
    recordP99HostOverLocal: round(fig.host.recordP99Us / fig.local.recordP99Us),
    durableHostOverLocal: round(fig.host.durablePerSec / fig.local.durablePerSec),
  };
  console.log("host store vs local store (best of 2 each):", fig);
  // BENCH_OUT redirects a light CI run away from the checked-in snapshot.
  const out = path.resolve(root, process.env.BENCH_OUT ?? "snapshots/hoststore.json");
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(fig, null, 2)}\n`);
} finally {
  await chain.stop();
  rmSync(dir, { recursive: true, force: true });
}
