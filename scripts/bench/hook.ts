/**
 * Gateway hook benchmark (`npx tsx scripts/bench/hook.ts`): record() cost beside a no-op baseline
 * measured interleaved in the same run, record() under a paced 10,000 calls/s load with durability
 * on, the maximum durable receipts/s, Merkle build time on the worker for 1,024 and 8,192 leaves,
 * and RSS before/after a 1,000,000-call run. A real anvil + deployment backs the hook (sealing reads
 * the on-chain fee schedule); the submitter is off so the chain does not pace the figures.
 * Writes snapshots/hook.json. Targets: record() p99 ≤ 20 µs at 10k/s, ≥ 50,000 durable/s, Merkle(8,192) ≤ 15 ms.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { keccak256, toHex, type Hex } from "viem";
import pino from "pino";
import { startAnvil, deployWithGateway } from "../../test/gateway/helpers/chain.js";
import { createSettlementHook, type Call } from "../../gateway/index.js";
import { TreeBuilder } from "../../gateway/treeBuilder.js";
import { buildTree } from "../../sdk/merkle.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const MILLION = Number(process.env.BENCH_CALLS ?? 1_000_000);

function pct(xs: Float64Array | number[], p: number): number {
  const a = Float64Array.from(xs).sort();
  return a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))]!;
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const now = () => Number(process.hrtime.bigint()) / 1000; // µs

// A pool of distinct calls (hashes as hex strings, as a gateway holds them).
const POOL = 4096;
const models: Hex[] = ["llama-3-8b", "mistral-7b", "qwen-2-7b"].map((m) => keccak256(toHex(m)));
const calls: Call[] = Array.from({ length: POOL }, (_, i) => ({
  modelId: models[i % 3]!, requestHash: keccak256(toHex(`q${i}`)), responseHash: keccak256(toHex(`r${i}`)), inputTokens: 100 + (i % 400), outputTokens: 50 + (i % 700),
}));
let sink = 0;
/** Arithmetic the JIT cannot drop (its result is used), `n` steps long. */
function spin(n: number): number {
  let x = 0;
  for (let k = 0; k < n; k++) x = (x * 31 + k) | 0;
  return x;
}
function noop(c: Call): { callSeq: bigint; digest: Hex } {
  sink += c.inputTokens; // touch the input like record() does, so the call can't be optimized away
  return { callSeq: 0n, digest: c.modelId as Hex };
}

const anvil = await startAnvil();
const dir = mkdtempSync(path.join(tmpdir(), "pp-bench-hook-"));
try {
  const pp = await deployWithGateway(anvil);
  const hook = await createSettlementHook({
    store: path.join(dir, "gw.db"), enclaveKey: pp.enclaveKey, rpcUrl: anvil.url, settlement: pp.settlement, chainId: 31337,
    daBaseUrl: "http://127.0.0.1:9/da", batch: { maxCalls: 1024, maxAgeMs: 5_000 }, submit: false, synchronous: "full",
    logger: pino({ level: "warn" }),
  });

  // ---- 1. record() vs no-op, interleaved, unpaced (one event-loop turn per 1,000 calls).
  const N1 = 100_000;
  const rec = new Float64Array(N1);
  const base = new Float64Array(N1);
  for (let warm = 0; warm < 20_000; warm++) hook.record(calls[warm % POOL]!), noop(calls[warm % POOL]!);
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < N1; i++) {
    const c = calls[i % POOL]!;
    const t0 = now();
    noop(c);
    const t1 = now();
    hook.record(c);
    const t2 = now();
    base[i] = t1 - t0;
    rec[i] = t2 - t1;
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r)); // let group commits run, as in a server
  }
  const unpaced = { recordP50Us: pct(rec, 50), recordP99Us: pct(rec, 99), baselineP50Us: pct(base, 50), baselineP99Us: pct(base, 99) };
  console.log("record() unpaced:", unpaced);

  // A duration-matched baseline: plain JS arithmetic calibrated to take record()'s unpaced p50,
  // timed beside record() under the same paced load. Its tail is what the machine does to any
  // computation that long while the hook runs: interrupts, VM exits and the hook's own background
  // work (fsyncs, worker threads). Without the hook running it stays within ~2 µs of its p50.
  let spinIters = 64;
  for (;;) {
    const xs: number[] = [];
    for (let k = 0; k < 2000; k++) {
      const t0 = now();
      sink += spin(spinIters);
      xs.push(now() - t0);
    }
    if (pct(xs, 50) >= unpaced.recordP50Us || spinIters > 1e7) break;
    spinIters = Math.ceil(spinIters * 1.25);
  }

  // ---- 2. paced 10,000 calls/s for 5 s with durability on: record() latency and durable lag.
  const RATE = 10_000;
  const SECS = Number(process.env.BENCH_PACED_S ?? 5);
  const paced: number[] = [];
  const pacedBase: number[] = [];
  const pacedSpin: number[] = [];
  const lag: number[] = [];
  {
    const start = performance.now();
    let issued = 0;
    while (issued < RATE * SECS) {
      const due = Math.min(RATE * SECS, Math.floor(((performance.now() - start) / 1000) * RATE));
      for (; issued < due; issued++) {
        const c = calls[issued % POOL]!;
        const t0 = now();
        noop(c);
        const t1 = now();
        const r = hook.record(c);
        const t2 = now();
        sink += spin(spinIters);
        const t3 = now();
        pacedBase.push(t1 - t0);
        paced.push(t2 - t1);
        pacedSpin.push(t3 - t2);
        if (issued % 100 === 0) r.durable.then(() => lag.push(now() - t2));
      }
      await new Promise((r) => setImmediate(r));
    }
    const secs = (performance.now() - start) / 1000;
    console.log(`paced: ${issued} calls in ${round(secs)} s = ${Math.round(issued / secs)}/s`);
  }
  await hook.flush();
  const pacedFig = {
    recordP50Us: pct(paced, 50), recordP90Us: pct(paced, 90), recordP95Us: pct(paced, 95), recordP99Us: pct(paced, 99),
    baselineP50Us: pct(pacedBase, 50), baselineP99Us: pct(pacedBase, 99), durableLagP99Ms: pct(lag, 99) / 1000,
    matchedP50Us: pct(pacedSpin, 50), matchedP99Us: pct(pacedSpin, 99),
  };
  console.log("record() at 10k/s:", pacedFig);

  // ---- 2b. What the hook takes from the gateway's event loop at 10,000 calls/s: a ~1 ms timer issues
  // the calls due and the loop is idle in between, as in a server; event-loop utilization with
  // record() minus the same loop with the no-op is the hook's share (commits, acks, sealing included).
  const elu = async (f: (c: Call) => unknown) => {
    const secs = Number(process.env.BENCH_PACED_S ?? 5) / 2;
    const e0 = performance.eventLoopUtilization();
    let i = 0;
    await new Promise<void>((done) => {
      const start = performance.now();
      const tick = () => {
        const due = Math.floor(((performance.now() - start) / 1000) * RATE);
        for (; i < due; i++) f(calls[i % POOL]!);
        if (performance.now() < start + secs * 1000) setTimeout(tick, 1);
        else done();
      };
      tick();
    });
    await hook.flush();
    return performance.eventLoopUtilization(e0).utilization;
  };
  const eluNoop = await elu(noop);
  const eluHook = await elu((c) => hook.record(c));
  console.log(`event-loop utilization at ${RATE}/s: no-op ${round(eluNoop * 100, 1)} %, record() ${round(eluHook * 100, 1)} %`);

  // ---- 3. max durable receipts/s and memory over a 1,000,000-call run.
  gc();
  const rssBefore = rssMiB();
  const t0 = performance.now();
  let last: Promise<void> = Promise.resolve();
  for (let i = 0; i < MILLION; ) {
    for (const end = Math.min(MILLION, i + 4_000); i < end; i++) last = hook.record(calls[i % POOL]!).durable;
    await new Promise((r) => setImmediate(r));
  }
  await last;
  const durableSecs = (performance.now() - t0) / 1000;
  const durableReceiptsPerSec = Math.round(MILLION / durableSecs);
  await hook.flush();
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const rssAfter = rssMiB();
  console.log(`durable: ${MILLION} receipts in ${round(durableSecs)} s = ${durableReceiptsPerSec}/s; RSS ${round(rssBefore, 1)} -> ${round(rssAfter, 1)} MiB`);
  await hook.close();

  // ---- 4. Merkle build on the worker (what sealing uses) and on the main thread for reference.
  const trees = new TreeBuilder();
  const merkle = async (n: number) => {
    const worker: number[] = [];
    const main: number[] = [];
    for (let k = 0; k < 40; k++) {
      const leaves = new Uint8Array(n * 32).map((_, j) => (j * 31 + k * 7) & 255);
      const t = performance.now();
      buildTree(leaves);
      main.push(performance.now() - t);
      worker.push((await trees.build(leaves)).ms);
    }
    return { workerMs: pct(worker.slice(10), 50), mainMs: pct(main.slice(10), 50) };
  };
  const m1024 = await merkle(1024);
  const m8192 = await merkle(8192);
  await trees.close();
  console.log("merkle:", { m1024, m8192 });

  const snapshot = {
    recordP50Us: round(pacedFig.recordP50Us),
    recordP99Us: round(pacedFig.recordP99Us),
    baselineP99Us: round(pacedFig.baselineP99Us),
    durableReceiptsPerSec,
    recordP90Us: round(pacedFig.recordP90Us),
    recordP95Us: round(pacedFig.recordP95Us),
    baselineP50Us: round(pacedFig.baselineP50Us),
    // Plain JS work as long as record()'s p50, timed beside it in the paced run: the machine's own tail.
    matchedBaselineP50Us: round(pacedFig.matchedP50Us),
    matchedBaselineP99Us: round(pacedFig.matchedP99Us),
    merkle1024Ms: round(m1024.workerMs),
    merkle8192Ms: round(m8192.workerMs),
    rssGrowthMiB: round(rssAfter - rssBefore, 1),
    rssBeforeMiB: round(rssBefore, 1),
    rssAfterMiB: round(rssAfter, 1),
    callsInMemoryRun: MILLION,
    pacedRatePerSec: RATE,
    durableLagP99Ms: round(pacedFig.durableLagP99Ms),
    // Share of the gateway's event loop the hook takes at 10k calls/s (idle-loop pacing; see 2b).
    eventLoopSharePct: round((eluHook - eluNoop) * 100, 1),
    eventLoopNoopPct: round(eluNoop * 100, 1),
    unpacedRecordP50Us: round(unpaced.recordP50Us),
    unpacedRecordP99Us: round(unpaced.recordP99Us),
    unpacedBaselineP99Us: round(unpaced.baselineP99Us),
    merkle1024MainThreadMs: round(m1024.mainMs),
    merkle8192MainThreadMs: round(m8192.mainMs),
    sqliteSynchronous: "full",
    commitIntervalMs: 5, // the hook's default
    targets: { recordP99Us: 20, durableReceiptsPerSec: 50_000, merkle8192Ms: 15 },
    machine: { cpus: cpus().length, node: process.version, loadavg1m: round((await import("node:os")).loadavg()[0]!, 1) },
    measuredAt: new Date().toISOString(),
  };
  // BENCH_OUT redirects a light CI run away from the checked-in snapshot.
  const out = process.env.BENCH_OUT ?? "snapshots/hook.json";
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(snapshot, null, 2) + "\n");
  console.log(snapshot, sink > 0 ? "" : "!");
} finally {
  await anvil.stop();
  rmSync(dir, { recursive: true, force: true });
}
