/**
 * Worker thread: the DA service (./daService.ts) beside the hook in the gateway's process, on its
 * own event loop. The signer is a MessagePort to the hook's receipt signer and the hook's next
 * callSeq a shared Float64, both read without the main thread's help. Started by ./daServer.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import pino from "pino";
import type { DaChannel } from "../hook.js";
import { lowerThreadPriority } from "../workerThread.js";
import { startDaService, type DaServiceConfig, type DaWorkerStats, type SignerAnswer } from "./daService.js";

export type { DaWorkerStats } from "./daService.js";

export interface DaWorkerData extends Omit<DaServiceConfig, "gateway" | "store" | "predecessors"> {
  channel: DaChannel;
  /** Niceness of this thread (Linux), see `DaServerOptions.niceness`. */
  niceness: number;
  /** Int32 [0]: 1 while the main thread holds this loop (see `DaServer.hold`). */
  hold: SharedArrayBuffer;
}

/** Messages from the main thread (or the gateway process). */
export type DaWorkerRequest = { hold: true } | { close: true } | { stats: true };
/** Messages to the main thread (or the gateway process). */
export type DaWorkerEvent = { ready: number } | { held: true } | { closed: true } | { stats: DaWorkerStats };

const { channel, hold, niceness, ...config } = workerData as DaWorkerData;
const niceFailed = lowerThreadPriority(niceness);
if (niceFailed)
  pino({ name: "proofpath-da", level: config.logLevel }).warn(
    { err: niceFailed },
    "could not lower the DA thread's priority",
  );

const issued = new Float64Array(channel.issued);
const service = await startDaService(
  { ...config, gateway: channel.gateway, store: channel.store, predecessors: channel.predecessors },
  {
    sign: (m) => channel.signer.postMessage(m),
    issued: (callSeq) => callSeq < issued[0]!,
  },
);
channel.signer.on("message", (m: SignerAnswer) => service.signed(m));
channel.signer.on("close", () => service.signerClosed());
const holdFlag = new Int32Array(hold);

parentPort!.on("message", async (m: DaWorkerRequest) => {
  if ("hold" in m) {
    parentPort!.postMessage({ held: true } satisfies DaWorkerEvent);
    Atomics.wait(holdFlag, 0, 1); // the whole loop stops here until released
    return;
  }
  if ("stats" in m) {
    parentPort!.postMessage({ stats: service.stats() } satisfies DaWorkerEvent);
    return;
  }
  await service.close();
  parentPort!.postMessage({ closed: true } satisfies DaWorkerEvent);
});
parentPort!.postMessage({ ready: service.port } satisfies DaWorkerEvent);
