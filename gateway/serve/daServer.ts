/**
 * `startDaServer(hook)`: the hook's public DA endpoints served from a worker thread
 * (./daWorker.ts) with its own HTTP server, port and event loop. Hostile traffic at the DA
 * endpoints then competes with the fast path for CPU only, never for its event loop: the fast path
 * answers even while the DA worker is stuck. Point `daBaseUrl` at this server.
 *
 * A server of its own rather than the main server handing sockets over: a worker thread cannot
 * receive a socket (only a child process can), and routing by path needs the request parsed on the
 * main loop first — the very work hostile traffic must not cost it.
 */
import type { Worker } from "node:worker_threads";
import type { SettlementHook } from "../hook.js";
import { startWorker } from "../workerThread.js";
import type { PublicLimits, SendPace } from "./rateLimit.js";
import type { DaWorkerData, DaWorkerEvent, DaWorkerRequest, DaWorkerStats } from "./daWorker.js";

/**
 * Whole batches at 16 MiB/s in 64 KiB writes: a validator still gets a 65,535-receipt batch
 * (~420 bytes a receipt: ~28 MB) in under 2 s, and a flood of them costs the DA thread a bounded
 * share of a core, in slices short enough that the fast path's thread is scheduled in between.
 */
export const DEFAULT_DA_PACE: SendPace = { bytesPerSec: 16 * 2 ** 20, burstBytes: 256 * 1024, chunkBytes: 64 * 1024 };

/** 50 new receipt signatures a second (burst 100): a few percent of a core at most. */
export const DEFAULT_DA_SIGNATURES = { rate: 50, burst: 100 };

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
   * Receipt signatures per second the DA worker asks for, for everyone together (a signature it
   * holds already is free): each is ~1 ms of secp256k1 on its signer thread, and strangers choose
   * the callSeqs. Beyond it, 429 with Retry-After. Default {@link DEFAULT_DA_SIGNATURES}.
   */
  signatures?: { rate: number; burst: number };
  /** Default "warn". */
  logLevel?: string;
  /**
   * Niceness of the DA thread and of its receipt signer's (a seal worker of its own) on Linux (0-19;
   * 0 keeps the process's): under CPU contention the scheduler serves the fast path's thread first.
   * Default 10.
   */
  niceness?: number;
}

export interface DaServer {
  port: number;
  /** `http://host:port`: the header's daURI is `${url}/batches/<n>`. */
  url: string;
  /**
   * Stops the DA worker's event loop (it waits on a lock) until the returned function is called:
   * for tests and drills of what a stuck DA worker does to the rest of the gateway.
   */
  hold(): Promise<() => void>;
  /** What the worker did so far (answers built, bytes paced): for tests and drills. */
  stats(): Promise<DaWorkerStats>;
  close(): Promise<void>;
}

export async function startDaServer(
  hook: Pick<SettlementHook, "daChannel">,
  o: DaServerOptions = {},
): Promise<DaServer> {
  const channel = hook.daChannel({ niceness: o.niceness ?? 10 });
  const hold = new SharedArrayBuffer(4);
  const host = o.host ?? "127.0.0.1";
  const data: DaWorkerData = {
    channel,
    host,
    port: o.port ?? 0,
    logLevel: o.logLevel ?? "warn",
    niceness: o.niceness ?? 10,
    pace: o.pace ?? DEFAULT_DA_PACE,
    signatures: o.signatures ?? DEFAULT_DA_SIGNATURES,
    hold,
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.batchLimits ? { batchLimits: o.batchLimits } : {}),
    ...(o.batchBytes ? { batchBytes: o.batchBytes } : {}),
  };
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
    url: `http://${host.includes(":") ? `[${host}]` : host}:${ready.ready}`,
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
