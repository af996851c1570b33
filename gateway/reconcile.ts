/**
 * Startup recovery. Local side: callSeqs reserved but never made durable become void leaves (they
 * may have been handed out before the crash, so they are never reused and never skipped). Chain
 * side: `nextSeqs(gateway)` wins — local batches the chain does not have go back to "signed". A
 * store behind the chain (lost, or restored from a backup) fails closed with StoreBehindChainError:
 * the enclave may have signed receipts for callSeqs it does not know, so it must not hand any out.
 */
import type { Address } from "viem";
import type { Logger } from "pino";
import { voidLeafInto } from "../sdk/hashing.js";
import { REC, OFF_KIND, OFF_LEAF, KIND_VOID } from "./record/receiptLayout.js";
import type { Store } from "./store.js";
import { ReconcileError, StoreBehindChainError } from "./errors.js";
import { crashPoint } from "./crash.js";

export interface RecoveredState {
  /** First callSeq the recorder hands out. */
  nextSeq: number;
  reservedUntil: number;
  /** First callSeq not yet in a sealed batch. */
  sealedUntil: number;
  nextBatchSeq: number;
  voided: number;
}

const VOID_CHUNK = 65_536;

export function recover(
  store: Store,
  gateway: Address,
  chain: { nextCallSeq: number; nextBatchSeq: number },
  reserveSize: number,
  log: Logger,
  storeName = "the store",
): RecoveredState {
  const last = store.lastBatch();
  const sealedUntil = last ? last.firstSeq + last.count : Number(store.getMeta("baseCallSeq") ?? "0");
  const nextBatchSeq = last ? last.batchSeq + 1 : Number(store.getMeta("baseBatchSeq") ?? "0");

  if (chain.nextBatchSeq < nextBatchSeq) {
    // Batches the chain does not have: whatever their local status, they are unsettled.
    const b = store.batch(chain.nextBatchSeq);
    if (!b) throw new ReconcileError(`store has no batch ${chain.nextBatchSeq} but later ones`);
    if (b.firstSeq !== chain.nextCallSeq) {
      throw new ReconcileError(
        `chain expects callSeq ${chain.nextCallSeq} for batch ${chain.nextBatchSeq}, store has ${b.firstSeq}: wrong store for this gateway?`,
      );
    }
    for (const x of [b, ...store.confirmedFrom(chain.nextBatchSeq + 1)]) {
      if (x.status === "submitted" || x.status === "included" || x.status === "confirmed") {
        void store.resetToSigned(x.batchSeq); // at startup the store has no sink: written at once
        crashPoint("mid-reconcile");
      }
    }
    for (const x of store.unconfirmed())
      if (x.batchSeq > chain.nextBatchSeq && x.status !== "sealed" && x.status !== "signed")
        void store.resetToSigned(x.batchSeq);
  } else if (chain.nextBatchSeq > nextBatchSeq) {
    // The chain settled batches this store never sealed: the store was lost, replaced or restored
    // from a backup (a batch is stored before it is broadcast, so an intact store is never behind).
    // The enclave may have signed receipts past anything this store knows; handing their callSeqs
    // out again would be equivocation. Fail closed (the way out is key succession).
    const knownEnd = Math.max(sealedUntil, store.durableEnd(), Number(store.getMeta("reservedUntil") ?? "0"));
    log.error(
      { chain, local: { nextBatchSeq, sealedUntil, knownEnd } },
      "store is behind the chain: refusing to start",
    );
    throw new StoreBehindChainError(storeName, gateway, { nextBatchSeq, nextCallSeq: knownEnd }, chain);
  } else if (chain.nextCallSeq !== sealedUntil) {
    // Same number of batches, other callSeqs: these are not this store's batches.
    throw new ReconcileError(
      `chain has callSeqs below ${chain.nextCallSeq} in ${chain.nextBatchSeq} batches, the store's ${nextBatchSeq} batches end at ${sealedUntil}: wrong store for this gateway?`,
    );
  }

  // Void leaves for every callSeq reserved but not durable, then a fresh reservation.
  const durableEnd = Math.max(store.durableEnd(), sealedUntil);
  const reserved = Math.max(Number(store.getMeta("reservedUntil") ?? "0"), durableEnd);
  let voided = 0;
  for (let from = durableEnd; from < reserved; from += VOID_CHUNK) {
    const n = Math.min(VOID_CHUNK, reserved - from);
    const data = new Uint8Array(n * REC);
    for (let i = 0; i < n; i++) {
      voidLeafInto(gateway, from + i, data, i * REC + OFF_LEAF);
      data[i * REC + OFF_KIND] = KIND_VOID;
    }
    store.apply([{ kind: "receipts", firstSeq: from, count: n, data }]);
    voided += n;
  }
  if (voided)
    log.warn(
      { from: durableEnd, to: reserved, voided },
      "callSeqs reserved before a crash but never durable: settled as void leaves",
    );
  const nextSeq = reserved;
  const reservedUntil = nextSeq + reserveSize;
  store.raiseReservation(reservedUntil);
  crashPoint("mid-reconcile");
  return { nextSeq, reservedUntil, sealedUntil, nextBatchSeq, voided };
}
