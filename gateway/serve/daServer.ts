/**
 * `startDaServer(hook)`: the hook's public DA endpoints served from a worker thread
 * (./daWorker.ts) with its own HTTP server, port and event loop — or, with `process: true`, from a
 * child process (./daProcess.ts) a deployment can pin to a core of its own. Both run the same
 * service (./daService.ts). Hostile traffic at the DA endpoints then competes with the fast path
 * for CPU only (thread), or not even for that (a process on its own core), never for its event
 * loop: the fast path answers even while the DA server is stuck. Point `daBaseUrl` at this server.
 *
 * A server of its own rather than the main server handing sockets over: routing by path needs the
 * request parsed on the main loop first — the very work hostile traffic must not cost it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Worker } from "node:worker_threads";
import type { SettlementHook } from "../hook.js";
import { childProcessArgs, startWorker } from "../workerThread.js";
import type { PublicLimits, SendPace } from "./rateLimit.js";
import type { DaServiceConfig, DaWorkerStats, SignerAnswer } from "./daService.js";
import type { DaWorkerData, DaWorkerEvent, DaWorkerRequest } from "./daWorker.js";
import type { DaProcessEvent, DaProcessRequest } from "./daProcess.js";

/**
 * Whole batches at 16 MiB/s in 64 KiB writes: a validator still gets a 65,535-receipt batch
 * (~420 bytes a receipt: ~28 MB) in under 2 s, and a flood of them costs the DA thread a bounded
 * share of a core, in slices short enough that the fast path's thread is scheduled in between.
 */
export const DEFAULT_DA_PACE: SendPace = { bytesPerSec: 16 * 2 ** 20, burstBytes: 256 * 1024, chunkBytes: 64 * 1024 };

/**
 * 20 new receipt signatures a second (burst 40), a quarter of it per address: a few percent of a
 * core at most, and one address cannot take it all. A user asks for their own few receipts; a
 * validator fetches whole batches, which need none.
 */
export const DEFAULT_DA_SIGNATURES = { rate: 20, burst: 40, perClient: { rate: 5, burst: 10 } };

export interface DaServerOptions {
  /** Port (0: any free port). Default 0. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Bounds of every DA route (per address, global, in flight, URL length); defaults as `createHookApp`. */
  limits?: PublicLimits;
  /** Bounds of whole batches on top; defaults as `createHookApp` (`BATCH_LIMITS`). */
  batchLimits?: PublicLimits;
  /** Batch bytes per second for everyone; defaults as `createHookApp` (`BATCH_BYTES`). */
  batchBytes?: { rate: number; burst: number };
  /**
   * Pace of whole-batch writes, for all clients together: answers go out in `chunkBytes` writes at
   * `bytesPerSec` (the byte budget is lowered to it), so a flood of whole batches costs the DA
   * thread a bounded CPU share and never one long write. false: unpaced. Default
   * {@link DEFAULT_DA_PACE}.
   */
  pace?: SendPace | false;
  /**
   * Receipt signatures per second the DA worker asks for, for everyone together and per address
   * (`perClient`, default a quarter of the whole; a signature it holds already is free): each is
   * ~1 ms of secp256k1 on its signer thread, and strangers choose the callSeqs. Beyond it, 429
   * with Retry-After. Default {@link DEFAULT_DA_SIGNATURES}.
   */
  signatures?: { rate: number; burst: number; perClient?: { rate: number; burst: number } };
  /** Default "warn". */
  logLevel?: string;
  /**
   * Niceness of the DA thread (or process) and of its receipt signer's (a seal worker of its own)
   * on Linux (0-19; 0 keeps the process's): under CPU contention the scheduler serves the fast
   * path's thread first. Default 10.
   */
  niceness?: number;
  /**
   * Serve from a child process (the project's node, the same service) rather than a worker
   * thread: its CPU, GC and heap are its own, and `cpus` can pin it. It holds no key (signatures
   * are asked of this process over IPC) and exits when this process does. Default false.
   */
  process?: boolean;
  /** With `process`: the CPUs it may run on, as `taskset -c` takes them (e.g. "1" or "2-3"; Linux). */
  cpus?: string;
}

export interface DaServer {
  port: number;
  /** `http://host:port`: the header's daURI is `${url}/batches/<n>`. */
  url: string;
  /**
   * Stops the DA worker's event loop (it waits on a lock; a DA process is sent SIGSTOP) until the
   * returned function is called: for tests and drills of what a stuck DA server does to the rest
   * of the gateway.
   */
  hold(): Promise<() => void>;
  /** What the worker did so far (answers built, bytes paced): for tests and drills. */
  stats(): Promise<DaWorkerStats>;
  close(): Promise<void>;
  /** The DA process's pid (`process: true` only). */
  pid?: number;
}

export async function startDaServer(
  hook: Pick<SettlementHook, "daChannel">,
  o: DaServerOptions = {},
): Promise<DaServer> {
  const channel = hook.daChannel({ niceness: o.niceness ?? 10 });
  const host = o.host ?? "127.0.0.1";
  const config: Omit<DaServiceConfig, "gateway" | "store" | "predecessors"> = {
    host,
    port: o.port ?? 0,
    logLevel: o.logLevel ?? "warn",
    pace: o.pace ?? DEFAULT_DA_PACE,
    signatures: o.signatures ?? DEFAULT_DA_SIGNATURES,
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.batchLimits ? { batchLimits: o.batchLimits } : {}),
    ...(o.batchBytes ? { batchBytes: o.batchBytes } : {}),
  };
  const urlOf = (port: number) => `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (o.process) return startDaProcess(channel, config, o, urlOf);
  if (o.cpus !== undefined) throw new RangeError("DaServerOptions.cpus: pins a DA process only (process: true)");
  const hold = new SharedArrayBuffer(4);
  const data: DaWorkerData = { ...config, channel, niceness: o.niceness ?? 10, hold };
  const worker: Worker = startWorker("serve/daWorker", { workerData: data, transferList: [channel.signer] });
  const next = (what: "ready" | "held" | "closed" | "stats") =>
    new Promise<DaWorkerEvent>((resolve, reject) => {
      const onMessage = (m: DaWorkerEvent) => {
        if (!(what in m)) return;
        off();
        resolve(m);
      };
      const onExit = (code: number) => {
        off();
        if (what === "closed") resolve({ closed: true });
        else reject(new Error(`DA worker exited (code ${code}) before it was ${what}`));
      };
      const onError = (e: Error) => {
        off();
        reject(e);
      };
      const off = () => {
        worker.off("message", onMessage);
        worker.off("exit", onExit);
        worker.off("error", onError);
      };
      worker.on("message", onMessage);
      worker.once("exit", onExit);
      worker.once("error", onError);
    });
  const ready = (await next("ready")) as { ready: number };
  const flag = new Int32Array(hold);
  const release = () => {
    Atomics.store(flag, 0, 0);
    Atomics.notify(flag, 0);
  };
  return {
    port: ready.ready,
    url: urlOf(ready.ready),
    async hold() {
      Atomics.store(flag, 0, 1);
      const held = next("held");
      worker.postMessage({ hold: true } satisfies DaWorkerRequest);
      await held;
      return release;
    },
    async stats() {
      const answer = next("stats");
      worker.postMessage({ stats: true } satisfies DaWorkerRequest);
      return ((await answer) as { stats: DaWorkerStats }).stats;
    },
    async close() {
      release();
      const closed = next("closed");
      worker.postMessage({ close: true } satisfies DaWorkerRequest);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
      await worker.terminate();
    },
  };
}

/**
 * The DA service in a child process. This side relays the signer's port and answers what the
 * hook's next callSeq is; the child reads the store itself. The child's command is the project's
 * node, under `taskset -c cpus` and `nice -n niceness` when asked, so every thread it starts (GC,
 * libuv) inherits both.
 */
async function startDaProcess(
  channel: ReturnType<SettlementHook["daChannel"]>,
  config: Omit<DaServiceConfig, "gateway" | "store" | "predecessors">,
  o: DaServerOptions,
  urlOf: (port: number) => string,
): Promise<DaServer> {
  const niceness = Math.min(19, Math.max(0, o.niceness ?? 10));
  const command = [
    ...(o.cpus !== undefined ? ["taskset", "-c", o.cpus] : []),
    ...(niceness > 0 && process.platform === "linux" ? ["nice", "-n", String(niceness)] : []),
    process.execPath,
    ...childProcessArgs("serve/daProcess"),
  ];
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  const send = (m: DaProcessRequest) => {
    if (child.connected) child.send(m);
  };
  const issued = new Float64Array(channel.issued);
  const { signer } = channel;
  signer.on("message", (m: SignerAnswer) => send({ signed: m }));
  signer.unref();
  // Gone for whatever reason: its signer (a seal worker of its own) goes too.
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve())).then(() => signer.close());
  const waiters = new Set<(m: DaProcessEvent) => void>();
  child.on("message", (m: DaProcessEvent) => {
    if ("sign" in m) signer.postMessage(m.sign);
    else if ("issued" in m) send({ issued: issued[0]! });
    else for (const w of waiters) w(m);
  });
  const next = (what: "ready" | "closed" | "stats") =>
    new Promise<DaProcessEvent>((resolve, reject) => {
      const w = (m: DaProcessEvent) => {
        if (!(what in m)) return;
        waiters.delete(w);
        resolve(m);
      };
      waiters.add(w);
      void exited.then(() => {
        waiters.delete(w);
        if (what === "closed") resolve({ closed: true });
        else reject(new Error(`DA process exited (code ${child.exitCode}) before it was ${what}`));
      });
    });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  await spawned;
  const ready = next("ready");
  send({
    init: { ...config, gateway: channel.gateway, store: channel.store, predecessors: channel.predecessors },
  });
  const port = ((await ready) as { ready: number }).ready;
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  let held = false;
  const release = () => {
    if (held && child.exitCode === null && child.signalCode === null) child.kill("SIGCONT");
    held = false;
  };
  return {
    port,
    url: urlOf(port),
    pid: child.pid!,
    async hold() {
      held = true;
      child.kill("SIGSTOP");
      return release;
    },
    async stats() {
      const answer = next("stats");
      send({ stats: true });
      return ((await answer) as { stats: DaWorkerStats }).stats;
    },
    async close() {
      release();
      send({ close: true }); // it closes its server and store, then leaves
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000).unref())]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}
