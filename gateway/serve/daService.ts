/**
 * The DA service itself: the gateway's public DA endpoints (`/receipts/:n`, `/batches/:n`,
 * `/predecessors/:account/batches/:n`) on an HTTP server and event loop of their own, reading the
 * hook's store read-only and holding no key. What it does not own comes through a {@link DaLink}:
 * signatures of durable receipts (the hook's signer signs only what its store holds durably) and
 * the hook's next callSeq. Run on a worker thread (./daWorker.ts) or in a child process
 * (./daProcess.ts), which only differ in how the link travels; started by ./daServer.ts.
 */
import type { Server } from "node:http";
import pino from "pino";
import type { Address } from "viem";
import { NotDurableError } from "../errors.js";
import { Store } from "../store.js";
import { toJson } from "../json.js";
import { BatchAnswers, type BatchAnswer } from "./batchAnswers.js";
import { TreeCache, batchHead, batchReceiptsJson, batchView, durableReceiptView } from "./daReader.js";
import { BATCH_BYTES, createHookApp, listen, type DaSource } from "./http.js";
import { SendPacer, SignatureBudget, type PublicLimits, type SendPace } from "./rateLimit.js";

/** Everything a DA service is started with: plain data, so it crosses a thread or a process. */
export interface DaServiceConfig {
  gateway: Address;
  /** The hook's store file (opened read-only) and its predecessors' (key succession). */
  store: string;
  predecessors: { account: string; store: string }[];
  host: string;
  port: number;
  limits?: PublicLimits;
  batchLimits?: PublicLimits;
  batchBytes?: { rate: number; burst: number };
  /** Pace of whole-batch writes; false: unpaced. See `DaServerOptions.pace`. */
  pace: SendPace | false;
  /** Receipt signatures per second not yet cached, for everyone and per address. See `DaServerOptions.signatures`. */
  signatures: { rate: number; burst: number; perClient?: { rate: number; burst: number } };
  logLevel: string;
}

/** What the service asks of the hook, wherever the hook runs. */
export interface DaLink {
  /** Sends `{ id, callSeq }` to the hook's receipt signer (see `DaChannel.signer`). */
  sign(m: { id: number; callSeq: number }): void;
  /** Whether the hook handed `callSeq` out already (recorded, maybe not durable yet). */
  issued(callSeq: number): boolean | Promise<boolean>;
}
/** A signer's answer, as `DaChannel.signer` sends it. */
export type SignerAnswer = { id: number; signature?: string; error?: string };

/** What the DA service did so far (`DaServer.stats`). */
export interface DaWorkerStats {
  /** Whole-batch answers built (a miss, or a head that moved); every other answer was cached bytes. */
  batchAnswersBuilt: number;
  /** Whole-batch bytes handed to sockets at the pace (0 when unpaced). */
  pacedBytes: number;
  /** Receipt answers refused (429) because the signature budget was spent. */
  signaturesRefused: number;
}

export interface DaService {
  port: number;
  /** Feed the signer's answers here. */
  signed(m: SignerAnswer): void;
  /** The signer is gone: every signature still asked for fails. */
  signerClosed(): void;
  stats(): DaWorkerStats;
  close(): Promise<void>;
}

/** Bytes of whole-batch answers kept (least recently used go first); larger batches are built per request. */
const BATCH_CACHE_BYTES = 64 * 2 ** 20;
const SIG_CACHE = 10_000;
const CLOSE = Buffer.from("}");

export async function startDaService(d: DaServiceConfig, link: DaLink): Promise<DaService> {
  const log = pino({ name: "proofpath-da", level: d.logLevel });
  const { gateway } = d;
  const store = new Store(d.store, "normal", { readOnly: true });
  const predecessors = new Map(
    d.predecessors.map((p) => [p.account, new Store(p.store, "normal", { readOnly: true })] as const),
  );
  const trees = new TreeCache(store);

  let nextId = 0;
  const waiting = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void }>();
  const sign = (callSeq: number) =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      link.sign({ id, callSeq });
    });
  const sigCache = new Map<string, string>();
  const signatures = new SignatureBudget(d.signatures);
  const answers = new BatchAnswers(BATCH_CACHE_BYTES);

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
      if (!Number.isSafeInteger(callSeq) || callSeq < 0) return undefined;
      const issued = link.issued(callSeq);
      const answer = (yes: boolean) => (yes ? { durable: false as const } : undefined);
      return typeof issued === "boolean" ? answer(issued) : issued.then(answer);
    },
    signatureWait(r, client) {
      return sigCache.has(`${Number(r.callSeq)}:${r.leaf}`) ? 0 : signatures.take(client);
    },
    async receiptSignature(r) {
      const seq = Number(r.callSeq);
      const key = `${seq}:${r.leaf}`;
      let sig = sigCache.get(key);
      if (sig) return sig;
      if (r.kind !== "served") throw new NotDurableError(seq);
      try {
        sig = await sign(seq);
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

  return {
    port: server.port,
    signed(m) {
      const p = waiting.get(m.id);
      if (!p) return;
      waiting.delete(m.id);
      if (m.signature) p.resolve(m.signature);
      else p.reject(m.error === "not_durable" ? new NotDurableError(-1) : new Error(`receipt signer: ${m.error}`));
    },
    signerClosed() {
      for (const p of waiting.values()) p.reject(new Error("receipt signer: closed"));
      waiting.clear();
    },
    stats: () => ({
      batchAnswersBuilt: answers.built,
      pacedBytes: pacer?.sent ?? 0,
      signaturesRefused: signatures.refused,
    }),
    async close() {
      (server.server as Server).closeAllConnections();
      await server.close();
      store.close();
      for (const s of predecessors.values()) s.close();
    },
  };
}
