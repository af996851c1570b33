/**
 * The DA answers as the store holds them: a durable receipt with its batch, header and inclusion
 * proof; a batch's head and receipts JSON; a whole stored batch. The hook reads them on its own
 * connection, the DA worker (./daWorker.ts) on a read-only one: both answer alike.
 */
import type { Address } from "viem";
import { treeFromNodes, type MerkleTree } from "../../sdk/merkle.js";
import type { BatchView, ReceiptStatus, ReceiptView } from "../hook.js";
import type { BatchHeader } from "../../sdk/types.js";
import { toJson } from "../json.js";
import { decodeRecord, type StoredReceipt } from "../record/receiptLayout.js";
import { parseHeader } from "../seal/sealer.js";
import type { BatchRow, Store } from "../store.js";

export function statusOf(b: Pick<BatchRow, "status">): ReceiptStatus {
  if (b.status === "confirmed") return "confirmed";
  if (b.status === "submitted" || b.status === "included") return "submitted";
  return "sealed";
}

/** A stored batch with its receipts (the hook's own, or a predecessor's). */
export function batchView(store: Store, batchSeq: number): BatchView | undefined {
  if (!Number.isSafeInteger(batchSeq) || batchSeq < 0) return undefined;
  const b = store.batch(batchSeq);
  if (!b) return undefined;
  const recs = store.records(b.firstSeq, b.count);
  const receipts: StoredReceipt[] = new Array(b.count);
  for (let i = 0; i < b.count; i++) receipts[i] = decodeRecord(recs, i, b.firstSeq);
  return {
    header: parseHeader(b.header),
    signature: b.signature,
    status: statusOf(b),
    receipts,
    ...(b.txHash ? { tx: { hash: b.txHash, blockNumber: b.blockNumber, blockHash: b.blockHash } } : {}),
  };
}

/** UTF-8 JSON array of receipts [firstSeq, firstSeq+count) as `/batches/:n` lists them. */
export function batchReceiptsJson(store: Store, firstSeq: number, count: number): Uint8Array {
  const recs = store.records(firstSeq, count);
  const parts = new Array<string>(count);
  for (let i = 0; i < count; i++) parts[i] = toJson(decodeRecord(recs, i, firstSeq));
  return new TextEncoder().encode(`[${parts.join(",")}]`);
}

/** `/batches/:n` up to its receipts: header, signature, status, tx (made per request: status moves). */
export function batchHead(gateway: Address, b: Omit<BatchRow, "tree">): string {
  const tx = b.txHash ? `,"tx":${toJson({ hash: b.txHash, blockNumber: b.blockNumber, blockHash: b.blockHash })}` : "";
  return `{"gateway":"${gateway}","header":${toJson(parseHeader(b.header))},"signature":${toJson(b.signature)},"status":"${statusOf(b)}"${tx},"receipts":`;
}

/**
 * Parsed trees and headers of recently asked batches: a receipt lookup reads the tree blob and
 * validates the header JSON only on a miss.
 */
export class TreeCache {
  private readonly trees = new Map<number, MerkleTree>();
  private readonly headers = new Map<number, { raw: string; parsed: BatchHeader }>();
  constructor(
    private readonly store: Store,
    private readonly size = 16,
  ) {}

  of(batchSeq: number): MerkleTree {
    let t = this.trees.get(batchSeq);
    if (!t) {
      const nodes = this.store.batchTree(batchSeq);
      if (!nodes) throw new Error(`batch ${batchSeq} has no tree in the store`);
      t = treeFromNodes(nodes);
      if (this.trees.size >= this.size) this.trees.delete(this.trees.keys().next().value!);
      this.trees.set(batchSeq, t);
    }
    return t;
  }

  /** `b.header` parsed, reused while the stored header is the same string (re-signing changes it). */
  header(b: Pick<BatchRow, "batchSeq" | "header">): BatchHeader {
    const hit = this.headers.get(b.batchSeq);
    if (hit?.raw === b.header) return hit.parsed;
    const parsed = parseHeader(b.header);
    if (!hit && this.headers.size >= this.size) this.headers.delete(this.headers.keys().next().value!);
    this.headers.set(b.batchSeq, { raw: b.header, parsed });
    return parsed;
  }
}

/** The durable receipt `callSeq` with its batch and proof once sealed; undefined when not in the store. */
export function durableReceiptView(
  store: Store,
  gateway: Address,
  callSeq: number,
  trees: TreeCache,
): ReceiptView | undefined {
  if (!Number.isSafeInteger(callSeq) || callSeq < 0) return undefined;
  const rec = store.record(callSeq);
  if (!rec) return undefined;
  const view: ReceiptView = {
    receipt: { gateway, ...decodeRecord(rec, 0, callSeq) },
    status: "pending",
    durable: true,
  };
  const b = store.batchOf(callSeq);
  if (b) {
    const index = callSeq - b.firstSeq;
    view.status = statusOf(b);
    view.batchSeq = b.batchSeq;
    view.index = index;
    view.header = trees.header(b);
    if (b.signature) view.headerSignature = b.signature;
    view.proof = trees.of(b.batchSeq).proof(index);
    if (b.txHash) view.tx = { hash: b.txHash, blockNumber: b.blockNumber, blockHash: b.blockHash };
  }
  return view;
}
