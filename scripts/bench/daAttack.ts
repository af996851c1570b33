/**
 * Hostile traffic at the gateway's DA endpoints (`npx tsx scripts/bench/daAttack.ts`): the demo
 * gateway (hook + local model, one process, the gateway's V8 flags) serves paced fast-path calls
 * (`POST /v1/chat/completions`) the whole run, while an attacker process — ATTACK_CLIENTS clients in
 * closed loops, keep-alive, loopback only — hammers `/batches/:n` (whole batches of BATCH_CALLS
 * receipts) and `/receipts/:n` (random callSeqs) in every other window. The DA endpoints are served
 * by the DA worker (`startDaServer`: its own thread, port and event loop, default limits); DA_INLINE=1
 * mounts them under /da on the fast path's own app instead, as before, for comparison. Idle and
 * attacked windows alternate (WINDOWS × WINDOW_SEC, the first pair is warm-up), so drift in the
 * machine's load hits both alike; the fast path's latency is reported per condition, measured in
 * this one run, with the CPU each side used (attacker process, gateway process, and the threads
 * startDaServer started: the DA thread and its receipt signer) and the gateway's main-thread GC and
 * event-loop use per condition, each CPU's busy share (every process on the machine: on a shared
 * box, what the attack crowds off its core lands on the gateway's); the attacker's answers by route
 * and status. Target: p99 under attack at most 10 % above idle.
 *
 * Env: RATE (fast-path calls/s, default 200), ATTACK_CLIENTS (default 64), WINDOWS (default 10),
 * WINDOW_SEC (default 5), BATCH_CALLS (receipts per batch, default 8192), BATCHES (default 6),
 * ATTACKER_NICE (the attacker process's niceness, default 0: set 19 to take its own CPU out of the
 * picture, as when it runs on another host), DA_NICE (the DA thread's niceness, default the
 * gateway's), DA_PACE (the DA worker's pace of whole-batch writes in bytes/s, 0: unpaced; default
 * `DEFAULT_DA_PACE`), ATTACKER_CPUS / GATEWAY_CPUS (taskset CPU lists, e.g. 1 and 0: the attacker on its own
 * core as on its own host, the gateway — fast path, DA thread, workers, the paced client, anvil — on
 * the other, so the DA answers' cost lands on the gateway's core and nothing else does), DA_PROCESS=1
 * (the DA server as its own process, `startDaServer(hook, { process: true })`) with DA_CPUS (its
 * taskset CPU list: DA_PROCESS=1 DA_CPUS=1 ATTACKER_CPUS=1 GATEWAY_CPUS=0 is the deployment shape
 * "DA server on its own core", the attacker beside it as the rest of the world), BENCH_OUT
 * (default snapshots/daAttack.json).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir, cpus, loadavg, setPriority } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { keccak256, toHex } from "viem";
import pino from "pino";
import { deployDevNet } from "../../tools/devnet.js";
import { devPrivateKey, startDevChain } from "../../tools/devchain.js";
import { createSettlementHook, startDaServer } from "../../gateway/index.js";
import { listen } from "../../gateway/serve/http.js";
import { LocalModel } from "../../gateway/demo/backend.js";
import { createDemoApp } from "../../gateway/demo/server.js";
import { GATEWAY_NODE_FLAGS, relaunchWithGatewayFlags } from "../../gateway/nodeFlags.js";
import { pct } from "./quantile.js";

const env = process.env;
const RATE = Number(env.RATE ?? 200);
const CLIENTS = Number(env.ATTACK_CLIENTS ?? 64);
const WINDOWS = Number(env.WINDOWS ?? 10);
const WINDOW_MS = Number(env.WINDOW_SEC ?? 5) * 1000;
const BATCH_CALLS = Number(env.BATCH_CALLS ?? 8192);
const BATCHES = Number(env.BATCHES ?? 6);
const DA_INLINE = env.DA_INLINE === "1";
/** Niceness of the attacker process (0-19): on a shared 2-core box its CPU is the bench's, not the gateway's. */
const ATTACKER_NICE = Number(env.ATTACKER_NICE ?? 0);
/** Niceness of the gateway's DA thread (`DaServerOptions.niceness`); default the gateway's. */
const DA_NICE = env.DA_NICE === undefined ? undefined : Number(env.DA_NICE);
/** The DA worker's pace of whole-batch writes (bytes/s, 0: unpaced); default the server's. */
const DA_PACE = env.DA_PACE === undefined ? undefined : Number(env.DA_PACE);
/** taskset CPU lists (Linux): where the attacker and the gateway may run; unset = anywhere. */
const ATTACKER_CPUS = env.ATTACKER_CPUS;
const GATEWAY_CPUS = env.GATEWAY_CPUS;
/** The DA server as a child process (`DaServerOptions.process`), pinned to DA_CPUS when set. */
const DA_PROCESS = env.DA_PROCESS === "1";
const DA_CPUS = env.DA_CPUS;
const SETTLE_MS = 300; // samples this close after a window switch are not counted (the attack ramps up/down)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = env.BENCH_OUT ? path.resolve(env.BENCH_OUT) : path.join(root, "snapshots/daAttack.json");
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** This process's threads (Linux), by task id. */
function threads(): string[] {
  try {
    return readdirSync("/proc/self/task");
  } catch {
    return [];
  }
}
/** CPU seconds a thread of this process (or a whole process: `pid`) used so far (utime + stime; 0 once it is gone). */
function threadCpuSec(tid: string, pid: number | "self" = "self"): number {
  try {
    const stat = readFileSync(pid === "self" ? `/proc/self/task/${tid}/stat` : `/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Busy seconds of each CPU so far (Linux /proc/stat: every field but idle and iowait): with the
 * gateway's own CPU time beside it, how much of its cores other processes took per condition — on
 * a shared machine, work the attack crowds off the attacker's core lands on the gateway's.
 */
function cpuBusySec(): number[] {
  try {
    return readFileSync("/proc/stat", "utf8")
      .split("\n")
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => {
        const f = l.split(/\s+/).slice(1, 9).map(Number);
        return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
      });
  } catch {
    return [];
  }
}

function get(agent: Agent, port: number, p: string, method = "GET", body?: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: p,
        method,
        agent,
        headers: body ? { "content-type": "application/json", "content-length": body.length } : {},
      },
      (res) => {
        res.on("data", () => {});
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The attacker process: closed-loop clients during the odd windows, counting answers by status. */
async function attacker(port: number, prefix: string, start: number, maxSeq: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const byStatus: Record<string, number> = {};
  let errors = 0;
  const end = start + WINDOWS * WINDOW_MS;
  const attacking = () => Math.floor((Date.now() - start) / WINDOW_MS) % 2 === 1;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, k) => {
      while (Date.now() < end) {
        if (!attacking()) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const p =
          k % 2 === 0
            ? `${prefix}/batches/${Math.floor(Math.random() * BATCHES)}`
            : `${prefix}/receipts/${Math.floor(Math.random() * maxSeq)}`;
        try {
          const s = `${k % 2 === 0 ? "batch" : "receipt"} ${await get(agent, port, p)}`;
          byStatus[s] = (byStatus[s] ?? 0) + 1;
        } catch {
          errors++;
        }
      }
    }),
  );
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ byStatus, errors, cpuSec: r3((cpu.user + cpu.system) / 1e6) })}\n`);
}

async function main(): Promise<void> {
  // Before anything starts: threads and processes created later inherit the affinity.
  if (GATEWAY_CPUS) execFileSync("taskset", ["-a", "-p", "-c", GATEWAY_CPUS, String(process.pid)], { stdio: "ignore" });
  const chain = await startDevChain();
  const dir = mkdtempSync(path.join(tmpdir(), "pp-bench-da-"));
  const stops: (() => Promise<void>)[] = [
    async () => chain.stop(),
    async () => rmSync(dir, { recursive: true, force: true }),
  ];
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
      batch: { maxCalls: BATCH_CALLS, maxAgeMs: 60_000 },
      submit: false,
      synchronous: "full",
      logger: pino({ level: "warn" }),
    });
    stops.unshift(() => hook.close());
    // Sealed batches for the attacker to ask for.
    for (let i = 0; i < BATCHES * BATCH_CALLS; i++) {
      hook.record({
        modelId: keccak256(toHex(`m${i % 3}`)),
        requestHash: keccak256(toHex(`q${i}`)),
        responseHash: keccak256(toHex(`a${i}`)),
        inputTokens: i % 500,
        outputTokens: i % 900,
      });
      if (i % 4096 === 4095) await new Promise((r) => setImmediate(r));
    }
    await hook.flush();
    const maxSeq = BATCHES * BATCH_CALLS;

    const backend = new LocalModel();
    const server = await listen(createDemoApp({ backend, hook, logger: pino({ level: "warn" }), daInline: DA_INLINE }));
    stops.unshift(() => server.close());
    // The threads startDaServer starts (the DA thread; its receipt signer where it has one of its
    // own): their CPU per condition is what the attack costs the gateway's DA side.
    const before = new Set(threads());
    const da = DA_INLINE
      ? undefined
      : await startDaServer(hook, {
          ...(DA_NICE === undefined ? {} : { niceness: DA_NICE }),
          ...(DA_PACE === undefined ? {} : { pace: DA_PACE > 0 ? { bytesPerSec: DA_PACE } : false }),
          ...(DA_PROCESS ? { process: true, ...(DA_CPUS ? { cpus: DA_CPUS } : {}) } : {}),
        });
    if (da) stops.unshift(() => da.close());
    const daTids = threads().filter(
      (t) => !before.has(t) && readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim() === "node",
    );
    const daPort = da?.port ?? server.port;
    const daPrefix = da ? "" : "/da";

    const start = Date.now() + 1_500; // the attacker process is up by then
    const attackerArgs = [
      ...process.execArgv.filter((a) => !GATEWAY_NODE_FLAGS.includes(a)),
      fileURLToPath(import.meta.url),
      "attacker",
      String(daPort),
      daPrefix,
      String(start),
      String(maxSeq),
    ];
    // taskset execs node in place: the child's pid is the attacker's (for setPriority and its CPU time).
    const child = spawn(
      ATTACKER_CPUS ? "taskset" : process.execPath,
      ATTACKER_CPUS ? ["-c", ATTACKER_CPUS, process.execPath, ...attackerArgs] : attackerArgs,
      { stdio: ["ignore", "pipe", "inherit"], env: { ...env, GATEWAY_NODE_FLAGS: "off" } },
    );
    if (ATTACKER_NICE > 0) setPriority(child.pid!, ATTACKER_NICE);
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const exited = new Promise((r) => child.once("exit", r));

    // The fast path, paced (open loop: latency from each call's due time), for the whole run.
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const body = new TextEncoder().encode(
      JSON.stringify({
        model: "local-small",
        messages: [{ role: "user", content: "What is the proof path of a private call?" }],
      }),
    );
    const lat: { idle: number[]; attack: number[] } = { idle: [], attack: [] };
    // Where the fast path's time goes, per condition: the main thread's GC pauses and event-loop use,
    // and the gateway process's CPU (every thread: main, DA worker, seal and commit workers).
    const condOf = (t: number): "idle" | "attack" | undefined => {
      const w = Math.floor((t - t0) / WINDOW_MS);
      return w >= 2 && w < WINDOWS ? (w % 2 === 1 ? "attack" : "idle") : undefined;
    };
    const gc = { idle: { n: 0, ms: 0 }, attack: { n: 0, ms: 0 } };
    const gcObs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const c = condOf(e.startTime);
        if (c) {
          gc[c].n++;
          gc[c].ms += e.duration;
        }
      }
    });
    gcObs.observe({ entryTypes: ["gc"] });
    const use = {
      idle: { elu: [] as number[], cpuSec: 0, daSec: 0, busySec: [] as number[] },
      attack: { elu: [] as number[], cpuSec: 0, daSec: 0, busySec: [] as number[] },
    };
    // With a DA process: its receipt signer here, and the whole DA process.
    const daCpu = () => daTids.reduce((a, t) => a + threadCpuSec(t), 0) + (da?.pid ? threadCpuSec("", da.pid) : 0);
    let lastDa = daCpu();
    let lastElu = performance.eventLoopUtilization();
    let lastCpu = process.cpuUsage();
    let lastBusy = cpuBusySec();
    const sampler = setInterval(() => {
      const c = condOf(performance.now() - 50);
      const elu = performance.eventLoopUtilization();
      const cpu = process.cpuUsage();
      const da1 = daCpu();
      const busy = cpuBusySec();
      if (c) {
        for (const [k, b] of busy.entries()) use[c].busySec[k] = (use[c].busySec[k] ?? 0) + b - (lastBusy[k] ?? b);
        use[c].elu.push(performance.eventLoopUtilization(elu, lastElu).utilization);
        use[c].cpuSec += (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1e6;
        use[c].daSec += da1 - lastDa;
      }
      lastElu = elu;
      lastCpu = cpu;
      lastDa = da1;
      lastBusy = busy;
    }, 100);
    let errors = 0;
    let non200 = 0;
    const t0 = performance.now() + (start - Date.now());
    const total = Math.floor((WINDOWS * WINDOW_MS * RATE) / 1000);
    const inflight = new Set<Promise<void>>();
    for (let i = 0; i < total; ) {
      const now = performance.now();
      for (; i < total && t0 + (i * 1000) / RATE <= now; i++) {
        const due = t0 + (i * 1000) / RATE;
        const inWindow = (due - t0) % WINDOW_MS;
        const w = Math.floor((due - t0) / WINDOW_MS);
        const counted = w >= 2 && inWindow >= SETTLE_MS;
        const req = get(agent, server.port, "/v1/chat/completions", "POST", body).then(
          (s) => {
            if (s !== 200) non200++;
            else if (counted) lat[w % 2 === 1 ? "attack" : "idle"].push(performance.now() - due);
          },
          () => void errors++,
        );
        inflight.add(req);
        void req.finally(() => inflight.delete(req));
      }
      if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, t0 + (i * 1000) / RATE - performance.now())));
    }
    await Promise.all(inflight);
    await exited;
    clearInterval(sampler);
    gcObs.disconnect();
    const attack = JSON.parse(out.trim().split("\n").pop() ?? "{}") as {
      byStatus: Record<string, number>;
      errors: number;
      cpuSec: number;
    };

    const stats = (xs: number[]) => ({
      n: xs.length,
      p50: r3(pct(xs, 50)),
      p90: r3(pct(xs, 90)),
      p99: r3(pct(xs, 99)),
      max: r3(Math.max(...xs)),
    });
    const idle = stats(lat.idle);
    const underAttack = stats(lat.attack);
    const ratio = (k: "p50" | "p90" | "p99") => r3(underAttack[k] / idle[k]);
    const attackSec = ((WINDOWS - 2) / 2) * (WINDOW_MS / 1000) + WINDOW_MS / 1000;
    const condSec = ((WINDOWS - 2) / 2) * (WINDOW_MS / 1000);
    const mean = (xs: number[]) => (xs.length ? r3(xs.reduce((a, b) => a + b, 0) / xs.length) : 0);
    const gateway = Object.fromEntries(
      (["idle", "attack"] as const).map((c) => [
        c,
        {
          cpuCores: r3(use[c].cpuSec / condSec),
          daThreadsCores: r3(use[c].daSec / condSec),
          mainLoopUtilization: mean(use[c].elu),
          gcPauses: gc[c].n,
          gcMsPerSec: r3(gc[c].ms / condSec),
          /** Each CPU's busy share (every process on the machine). */
          cpuBusy: use[c].busySec.map((b) => r3(b / condSec)),
        },
      ]),
    );
    const answered = Object.values(attack.byStatus).reduce((a, b) => a + b, 0);
    const snapshot = {
      at: new Date().toISOString(),
      cores: cpus().length,
      loadavg: loadavg().map(r3),
      da: DA_INLINE
        ? "inline (the fast path's event loop)"
        : `${DA_PROCESS ? `process on CPUs ${DA_CPUS ?? "any"}` : "worker thread"} (startDaServer), niceness ${DA_NICE ?? "default"}, pace ${DA_PACE ?? "default"} B/s`,
      fastPath: {
        rate: RATE,
        idle,
        underAttack,
        ratio: { p50: ratio("p50"), p90: ratio("p90"), p99: ratio("p99") },
        p99Ratio: ratio("p99"),
        errors,
        non200,
      },
      gateway,
      attack: {
        clients: CLIENTS,
        niceness: ATTACKER_NICE,
        cpus: ATTACKER_CPUS ?? "any",
        gatewayCpus: GATEWAY_CPUS ?? "any",
        windows: WINDOWS / 2,
        windowSec: WINDOW_MS / 1000,
        batchCalls: BATCH_CALLS,
        batches: BATCHES,
        answered,
        perSec: Math.round(answered / attackSec),
        byStatus: attack.byStatus,
        errors: attack.errors,
        attackerCpuCores: r3(attack.cpuSec / attackSec),
      },
      daThreads: daTids.length,
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      target: { p99RatioMax: 1.1, met: underAttack.p99 <= idle.p99 * 1.1 },
    };
    mkdirSync(path.dirname(OUT), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(snapshot, null, 2)}\n`);
    console.log(JSON.stringify(snapshot, null, 2));
    const row = (k: "p50" | "p90" | "p99") =>
      `  ${k}   ${String(idle[k]).padStart(9)}  ${String(underAttack[k]).padStart(9)}  ×${ratio(k)}`;
    console.log(
      [
        "",
        `fast path (${RATE}/s), DA ${snapshot.da}, load average ${snapshot.loadavg.join(" ")} on ${snapshot.cores} cores`,
        "         idle ms  attack ms  ratio",
        row("p50"),
        row("p90"),
        row("p99"),
        `target p99 ≤ ×1.1: ${snapshot.target.met ? "met" : "NOT met"}`,
        `attacker: ${answered} answers (${snapshot.attack.perSec}/s) by status ${JSON.stringify(attack.byStatus)}, ${attack.errors} errors, ${snapshot.attack.attackerCpuCores} cores`,
        `gateway: ${JSON.stringify(gateway)}`,
      ].join("\n"),
    );
  } finally {
    for (const s of stops) await s().catch(() => {});
  }
}

if (process.argv[2] === "attacker") {
  await attacker(Number(process.argv[3]), process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]));
  process.exit(0);
} else {
  relaunchWithGatewayFlags();
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
