/**
 * Gateway hook benchmark (`npx tsx scripts/bench/hook.ts`): record() cost beside a no-op baseline
 * measured interleaved in the same run, record() under a paced 10,000 calls/s load with durability
 * on, RSS before/after a 1,000,000-call run at a sustained 50,000 calls/s, the maximum durable
 * (and sealed) receipts/s, Merkle build time on the worker for 1,024 and 8,192 leaves. A real anvil + deployment backs the hook (sealing reads
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
import { deployDevNet } from "../../tools/devnet.js";
import { devPrivateKey, startDevChain } from "../../tools/devchain.js";
import { createSettlementHook, type Call } from "../../gateway/index.js";
import { TreeBuilder } from "../../gateway/seal/treeBuilder.js";
import { buildTree } from "../../sdk/merkle.js";
import { pct } from "./quantile.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const MILLION = Number(process.env.BENCH_CALLS ?? 1_000_000);
// The hook's default is 5; BENCH_COMMIT_INTERVAL_MS=0 measures back-to-back group commits.
const COMMIT_INTERVAL_MS = Number(process.env.BENCH_COMMIT_INTERVAL_MS ?? 5);

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const now = () => Number(process.hrtime.bigint()) / 1000; // µs

// A pool of distinct calls (hashes as hex strings, as a gateway holds them).
const POOL = 4096;
const models: Hex[] = ["llama-3-8b", "mistral-7b", "qwen-2-7b"].map((m) => keccak256(toHex(m)));
const calls: Call[] = Array.from({ length: POOL }, (_, i) => ({
  modelId: models[i % 3]!,
  requestHash: keccak256(toHex(`q${i}`)),
  responseHash: keccak256(toHex(`r${i}`)),
  inputTokens: 100 + (i % 400),
  outputTokens: 50 + (i % 700),
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

// A deployed settlement (the hook reads its fee schedule when sealing); batches are not submitted.
const chain = await startDevChain();
const dir = mkdtempSync(path.join(tmpdir(), "pp-bench-hook-"));
try {
  // Deployed only: the bench's hook seals batches but does not submit them.
  const { deployment } = await deployDevNet(chain, { validatorKeys: [devPrivateKey(1)], quorum: 1, register: false });
  const hook = await createSettlementHook({
    store: path.join(dir, "gw.db"),
    enclaveKey: devPrivateKey(5),
    rpcUrl: chain.url,
    settlement: deployment.contracts.ProofSettlement,
    chainId: 31337,
    daBaseUrl: "http://127.0.0.1:9/da",
    batch: { maxCalls: 1024, maxAgeMs: 5_000 },
    submit: false,
    synchronous: "full",
    commitIntervalMs: COMMIT_INTERVAL_MS,
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
  const unpaced = {
    recordP50Us: pct(rec, 50),
    recordP99Us: pct(rec, 99),
    baselineP50Us: pct(base, 50),
    baselineP99Us: pct(base, 99),
  };
  await hook.flush(); // that burst outruns the commit worker: start the paced phase without its backlog
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
    recordP50Us: pct(paced, 50),
    recordP90Us: pct(paced, 90),
    recordP95Us: pct(paced, 95),
    recordP99Us: pct(paced, 99),
    baselineP50Us: pct(pacedBase, 50),
    baselineP99Us: pct(pacedBase, 99),
    durableLagP99Ms: pct(lag, 99) / 1000,
    matchedP50Us: pct(pacedSpin, 50),
    matchedP99Us: pct(pacedSpin, 99),
  };
  console.log("record() at 10k/s:", pacedFig);

  // ---- 2b. What the hook takes from the gateway's event loop at 10,000 calls/s: a ~1 ms timer issues
  // the calls due and the loop is idle in between, as in a server; event-loop utilization with
  // record() minus the same loop with the no-op is the hook's share (commits, acks, sealing included).
  // Main-thread CPU time (process.threadCpuUsage) over the same phase is the other measure: ELU
  // also counts time the thread was runnable but not on a core.
  const elu = async (f: (c: Call) => unknown) => {
    const secs = Number(process.env.BENCH_PACED_S ?? 5) / 2;
    const e0 = performance.eventLoopUtilization();
    const c0 = process.threadCpuUsage();
    const w0 = performance.now();
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
    const c = process.threadCpuUsage(c0);
    return {
      elu: performance.eventLoopUtilization(e0).utilization,
      cpu: (c.user + c.system) / 1000 / (performance.now() - w0),
    };
  };
  const { elu: eluNoop, cpu: cpuNoop } = await elu(noop);
  const { elu: eluHook, cpu: cpuHook } = await elu((c) => hook.record(c));
  console.log(
    `event-loop utilization at ${RATE}/s: no-op ${round(eluNoop * 100, 1)} %, record() ${round(eluHook * 100, 1)} %; main-thread CPU no-op ${round(cpuNoop * 100, 1)} %, record() ${round(cpuHook * 100, 1)} %`,
  );

  // ---- 3a. Memory over a 1,000,000-call run at a sustained 50,000 calls/s (the durable target),
  // each receipt committed, sealed, signed and stored: RSS and V8 heap before/after, RSS peak.
  const memory = async (n: number, rate: number | undefined) => {
    gc();
    const before = process.memoryUsage();
    let peak = before.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const t0 = performance.now();
    let last: Promise<void> = Promise.resolve();
    for (let i = 0; i < n; ) {
      // Paced: the calls due by now, then a 1 ms timer. Unpaced: 4,000 calls an event-loop turn.
      const due = rate ? Math.min(n, Math.floor(((performance.now() - t0) / 1000) * rate)) : Math.min(n, i + 4_000);
      for (; i < due; i++) last = hook.record(calls[i % POOL]!).durable;
      await new Promise((r) => (rate ? setTimeout(r, 1) : setImmediate(r)));
    }
    await last;
    const durableSecs = (performance.now() - t0) / 1000;
    await hook.flush(); // commits and seals whatever is left
    while ((hook.health().queued as number) > 0) await new Promise((r) => setTimeout(r, 5));
    const sealedSecs = (performance.now() - t0) / 1000;
    gc();
    await new Promise((r) => setTimeout(r, 200));
    gc();
    clearInterval(sampler);
    const after = process.memoryUsage();
    const mib = (x: number) => round(x / 2 ** 20, 1);
    return {
      durablePerSec: Math.round(n / durableSecs),
      sealedPerSec: Math.round(n / sealedSecs),
      rssBeforeMiB: mib(before.rss),
      rssAfterMiB: mib(after.rss),
      rssPeakMiB: mib(peak),
      rssGrowthMiB: mib(after.rss - before.rss),
      heapGrowthMiB: mib(after.heapUsed + after.external - before.heapUsed - before.external),
    };
  };
  const MEMORY_RATE = 50_000;
  const sustained = await memory(MILLION, MEMORY_RATE);
  console.log(`memory: ${MILLION} calls at ${MEMORY_RATE}/s:`, sustained);

  // ---- 3b. Max durable receipts/s: the same number of calls as fast as the loop can issue them,
  // and until every one is sealed too. Such a burst outruns the commit worker (record() takes ~2 µs,
  // a leaf ~2.5 µs on the worker), so its backlog is held in memory meanwhile; glibc keeps much of
  // that peak in RSS after it is freed (the V8 heap returns to where it was).
  const burst = await memory(MILLION, undefined);
  console.log(`burst: ${MILLION} calls unpaced:`, burst);
  const durableReceiptsPerSec = burst.durablePerSec;
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
    // Memory over MILLION calls at a sustained 50,000/s, all sealed (3a).
    rssGrowthMiB: sustained.rssGrowthMiB,
    rssBeforeMiB: sustained.rssBeforeMiB,
    rssAfterMiB: sustained.rssAfterMiB,
    rssPeakMiB: sustained.rssPeakMiB,
    heapGrowthMiB: sustained.heapGrowthMiB,
    callsInMemoryRun: MILLION,
    memoryRunRatePerSec: MEMORY_RATE,
    // The unpaced burst (3b): its durable and sealed rates, and what its backlog leaves in RSS.
    sealedReceiptsPerSec: burst.sealedPerSec,
    burstRssGrowthMiB: burst.rssGrowthMiB,
    burstRssPeakMiB: burst.rssPeakMiB,
    burstHeapGrowthMiB: burst.heapGrowthMiB,
    pacedRatePerSec: RATE,
    durableLagP99Ms: round(pacedFig.durableLagP99Ms),
    // Share of the gateway's event loop the hook takes at 10k calls/s (idle-loop pacing; see 2b).
    eventLoopSharePct: round((eluHook - eluNoop) * 100, 1),
    eventLoopNoopPct: round(eluNoop * 100, 1),
    // The same phase by main-thread CPU time (process.threadCpuUsage): hook minus no-op, and the no-op.
    mainThreadCpuSharePct: round((cpuHook - cpuNoop) * 100, 1),
    mainThreadCpuNoopPct: round(cpuNoop * 100, 1),
    unpacedRecordP50Us: round(unpaced.recordP50Us),
    unpacedRecordP99Us: round(unpaced.recordP99Us),
    unpacedBaselineP99Us: round(unpaced.baselineP99Us),
    merkle1024MainThreadMs: round(m1024.mainMs),
    merkle8192MainThreadMs: round(m8192.mainMs),
    sqliteSynchronous: "full",
    commitIntervalMs: COMMIT_INTERVAL_MS,
    targets: { recordP99Us: 20, durableReceiptsPerSec: 50_000, merkle8192Ms: 15 },
    machine: {
      cpus: cpus().length,
      node: process.version,
      loadavg1m: round((await import("node:os")).loadavg()[0]!, 1),
    },
    measuredAt: new Date().toISOString(),
  };
  // BENCH_OUT redirects a light CI run away from the checked-in snapshot.
  const out = process.env.BENCH_OUT ?? "snapshots/hook.json";
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(snapshot, null, 2)}\n`);
  console.log(snapshot, sink > 0 ? "" : "!");
} finally {
  await chain.stop();
  rmSync(dir, { recursive: true, force: true });
}
