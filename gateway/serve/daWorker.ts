/**
 * Worker thread: the gateway's public DA endpoints (`/receipts/:n`, `/batches/:n`,
 * `/predecessors/:account/batches/:n`) on their own HTTP server and event loop, so hostile traffic
 * there costs the fast path no turn of its event loop. It reads the hook's store read-only and holds
 * no key: a receipt's signature comes from the hook's signer port, which signs only what the store
 * holds durably (see `DaChannel` in gateway/hook.ts). Started by ./daServer.ts.
 */
import type { Server } from "node:http";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import pino from "pino";
import type { DaChannel } from "../hook.js";
import { NotDurableError } from "../errors.js";
import { Store } from "../store.js";
import { lowerThreadPriority } from "../workerThread.js";
import { toJson } from "../json.js";
import { BatchAnswers, type BatchAnswer } from "./batchAnswers.js";
import { TreeCache, batchHead, batchReceiptsJson, batchView, durableReceiptView } from "./daReader.js";
import { BATCH_BYTES, createHookApp, listen, type DaSource } from "./http.js";
import { Budget, SendPacer, type PublicLimits, type SendPace } from "./rateLimit.js";

export interface DaWorkerData {
  channel: DaChannel;
  host: string;
  port: number;
  limits?: PublicLimits;
  batchLimits?: PublicLimits;
  batchBytes?: { rate: number; burst: number };
  /** Pace of whole-batch writes; false: unpaced. See `DaServerOptions.pace`. */
  pace: SendPace | false;
  /** Receipt signatures per second not yet cached, for everyone. See `DaServerOptions.signatures`. */
  signatures: { rate: number; burst: number };
  logLevel: string;
  /** Niceness of this thread (Linux), see `DaServerOptions.niceness`. */
  niceness: number;
  /** Int32 [0]: 1 while the main thread holds this loop (see `DaServer.hold`). */
  hold: SharedArrayBuffer;
}

/** Messages from the main thread. */
export type DaWorkerRequest = { hold: true } | { close: true } | { stats: true };
/** What the DA worker did so far (`DaServer.stats`). */
export interface DaWorkerStats {
  /** Whole-batch answers built (a miss, or a head that moved); every other answer was cached bytes. */
  batchAnswersBuilt: number;
  /** Whole-batch bytes handed to sockets at the pace (0 when unpaced). */
  pacedBytes: number;
  /** Receipt answers refused (429) because the signature budget was spent. */
  signaturesRefused: number;
}
/** Messages to the main thread. */
export type DaWorkerEvent = { ready: number } | { held: true } | { closed: true } | { stats: DaWorkerStats };

/** Bytes of whole-batch answers kept (least recently used go first); larger batches are built per request. */
const BATCH_CACHE_BYTES = 64 * 2 ** 20;
const SIG_CACHE = 10_000;

const d = workerData as DaWorkerData;
const log = pino({ name: "proofpath-da", level: d.logLevel });
const niceFailed = lowerThreadPriority(d.niceness);
if (niceFailed) log.warn({ err: niceFailed }, "could not lower the DA thread's priority");

const { gateway } = d.channel;
const store = new Store(d.channel.store, "normal", { readOnly: true });
const predecessors = new Map(
  d.channel.predecessors.map((p) => [p.account, new Store(p.store, "normal", { readOnly: true })] as const),
);
const trees = new TreeCache(store);
const issued = new Float64Array(d.channel.issued);

/** Asks the hook's signer port for durable receipts' signatures. */
class Signer {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void }>();
  constructor(private readonly port: MessagePort) {
    port.on("message", (m: { id: number; signature?: string; error?: string }) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (m.signature) p.resolve(m.signature);
      else p.reject(m.error === "not_durable" ? new NotDurableError(-1) : new Error(`receipt signer: ${m.error}`));
    });
    port.on("close", () => {
      for (const p of this.waiting.values()) p.reject(new Error("receipt signer: port closed"));
      this.waiting.clear();
    });
  }
  sign(callSeq: number): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.port.postMessage({ id, callSeq });
    });
  }
}
const signer = new Signer(d.channel.signer);
const sigCache = new Map<string, string>();
const signatures = new Budget(d.signatures);
const answers = new BatchAnswers(BATCH_CACHE_BYTES);
const CLOSE = Buffer.from("}");

/** `/batches/:n` as sent; a moved head is re-made around the receipts bytes already built. */
function batchAnswer(batchSeq: number): BatchAnswer | undefined {
  if (!Number.isSafeInteger(batchSeq) || batchSeq < 0) return undefined;
  const b = store.batchMeta(batchSeq);
  if (!b) return undefined;
  return answers.get(String(batchSeq), b, (stale) => {
    const head = Buffer.from(batchHead(gateway, b));
    const receipts = stale?.headLen
      ? stale.body.subarray(stale.headLen, stale.body.length - 1)
      : batchReceiptsJson(store, b.firstSeq, b.count);
    return { body: Buffer.concat([head, receipts, CLOSE]), headLen: head.length };
  });
}

/** A predecessor's whole batch (`/predecessors/:account/batches/:n`) as sent. */
function predecessorBatchAnswer(account: string, batchSeq: number): Buffer | undefined {
  const key = account.toLowerCase();
  const s = predecessors.get(key);
  if (!s || !Number.isSafeInteger(batchSeq) || batchSeq < 0) return undefined;
  const b = s.batchMeta(batchSeq);
  if (!b) return undefined;
  return answers.get(`${key}:${batchSeq}`, b, () => {
    const view = batchView(s, batchSeq)!;
    return { body: Buffer.from(toJson({ gateway: view.header.gateway, ...view })), headLen: 0 };
  }).body;
}

const source: DaSource = {
  gateway,
  log,
  receipt(callSeq) {
    const v = durableReceiptView(store, gateway, callSeq, trees);
    if (v) return v;
    // Not in the store: recorded and on its way to disk (409), or never handed out (404).
    return Number.isSafeInteger(callSeq) && callSeq >= 0 && callSeq < issued[0]! ? { durable: false } : undefined;
  },
  signatureWait(r) {
    return sigCache.has(`${Number(r.callSeq)}:${r.leaf}`) ? 0 : signatures.take();
  },
  async receiptSignature(r) {
    const seq = Number(r.callSeq);
    const key = `${seq}:${r.leaf}`;
    let sig = sigCache.get(key);
    if (sig) return sig;
    if (r.kind !== "served") throw new NotDurableError(seq);
    try {
      sig = await signer.sign(seq);
    } catch (e) {
      throw e instanceof NotDurableError ? new NotDurableError(seq) : e;
    }
    if (sigCache.size >= SIG_CACHE) sigCache.delete(sigCache.keys().next().value!);
    sigCache.set(key, sig);
    return sig;
  },
  async batchBody(batchSeq) {
    const a = batchAnswer(batchSeq);
    return a && { head: a.body.subarray(0, a.headLen).toString(), receipts: a.body.subarray(a.headLen, -1) };
  },
  batchAnswer: (batchSeq) => batchAnswer(batchSeq)?.body,
  predecessorBatchAnswer,
  predecessorBatch(account, batchSeq) {
    const s = predecessors.get(account.toLowerCase());
    const view = s && batchView(s, batchSeq);
    return view && { gateway: view.header.gateway, ...view };
  },
};

const pacer = d.pace ? new SendPacer(d.pace) : undefined;
// The budget admits no more than the pace sends: otherwise admitted answers would queue without bound.
const budget = d.batchBytes ?? BATCH_BYTES;
const app = createHookApp(
  source,
  d.limits,
  d.batchLimits,
  pacer ? { rate: Math.min(budget.rate, pacer.bytesPerSec), burst: budget.burst } : budget,
  pacer,
);
const server = await listen(app, d.port, d.host);
const holdFlag = new Int32Array(d.hold);

parentPort!.on("message", async (m: DaWorkerRequest) => {
  if ("hold" in m) {
    parentPort!.postMessage({ held: true } satisfies DaWorkerEvent);
    Atomics.wait(holdFlag, 0, 1); // the whole loop stops here until released
    return;
  }
  if ("stats" in m) {
    const stats = {
      batchAnswersBuilt: answers.built,
      pacedBytes: pacer?.sent ?? 0,
      signaturesRefused: signatures.refused,
    };
    parentPort!.postMessage({ stats } satisfies DaWorkerEvent);
    return;
  }
  (server.server as Server).closeAllConnections();
  await server.close();
  store.close();
  for (const s of predecessors.values()) s.close();
  parentPort!.postMessage({ closed: true } satisfies DaWorkerEvent);
});
parentPort!.postMessage({ ready: server.port } satisfies DaWorkerEvent);
