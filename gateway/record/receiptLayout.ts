/**
 * Fixed-size binary layout of one receipt as the hook keeps it in memory and in SQLite segments:
 * fixed offsets make a group commit one blob write and a lookup one substring read.
 */
import { bytesToHex32, receiptLeafInto, type ReceiptFields } from "../../sdk/hashing.js";
import type { Address, Hex } from "viem";

export const REC = 145;
export const OFF_MODEL = 0;
export const OFF_REQUEST = 32;
export const OFF_RESPONSE = 64;
export const OFF_INPUT = 96; // uint32 BE
export const OFF_OUTPUT = 100; // uint32 BE
export const OFF_SERVED_HI = 104; // servedAt as two uint32 BE words (unix ms)
export const OFF_SERVED_LO = 108;
export const OFF_LEAF = 112;
export const OFF_KIND = 144; // 0 served, 1 void

export const KIND_SERVED = 0;
export const KIND_VOID = 1;

/** A decoded receipt row, as the HTTP API and the sealer see it. */
export interface StoredReceipt {
  callSeq: bigint;
  kind: "served" | "void";
  modelId: Hex;
  requestHash: Hex;
  responseHash: Hex;
  inputTokens: number;
  outputTokens: number;
  servedAt: bigint;
  leaf: Hex;
}

/** servedAt (unix ms) of the record at byte offset `at`. */
export function servedAtOf(view: DataView, at: number): number {
  return view.getUint32(at + OFF_SERVED_HI) * 0x1_0000_0000 + view.getUint32(at + OFF_SERVED_LO);
}

/** Decodes record `i` of `buf` (whose first record is callSeq `firstSeq`). */
export function decodeRecord(buf: Uint8Array, i: number, firstSeq: number): StoredReceipt {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = i * REC;
  return {
    callSeq: BigInt(firstSeq + i),
    kind: buf[at + OFF_KIND] === KIND_VOID ? "void" : "served",
    modelId: bytesToHex32(buf, at + OFF_MODEL),
    requestHash: bytesToHex32(buf, at + OFF_REQUEST),
    responseHash: bytesToHex32(buf, at + OFF_RESPONSE),
    inputTokens: view.getUint32(at + OFF_INPUT),
    outputTokens: view.getUint32(at + OFF_OUTPUT),
    servedAt: BigInt(servedAtOf(view, at)),
    leaf: bytesToHex32(buf, at + OFF_LEAF),
  };
}

/** The receipt struct the contract and the EIP-712 signature take. */
export function receiptStruct(gateway: Address, r: StoredReceipt) {
  return {
    gateway,
    callSeq: r.callSeq,
    modelId: r.modelId,
    requestHash: r.requestHash,
    responseHash: r.responseHash,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    servedAt: r.servedAt,
  };
}

/**
 * Computes the Merkle leaf (`receiptLeaf`) of every served record in `data` (callSeqs from
 * `firstSeq`) into its leaf slot; void records already carry theirs. record() leaves the slot empty:
 * the commit worker fills it before the group is written, so the gateway's event loop never hashes.
 */
export function fillLeaves(data: Uint8Array, firstSeq: number, count: number, gateway: Uint8Array): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const f: ReceiptFields = {
    gateway,
    callSeq: 0,
    modelId: data,
    requestHash: data,
    responseHash: data,
    inputTokens: 0,
    outputTokens: 0,
    servedAt: 0,
  };
  for (let i = 0; i < count; i++) {
    const at = i * REC;
    if (data[at + OFF_KIND] === KIND_VOID) continue;
    f.callSeq = firstSeq + i;
    f.modelId = data.subarray(at + OFF_MODEL, at + OFF_MODEL + 32);
    f.requestHash = data.subarray(at + OFF_REQUEST, at + OFF_REQUEST + 32);
    f.responseHash = data.subarray(at + OFF_RESPONSE, at + OFF_RESPONSE + 32);
    f.inputTokens = view.getUint32(at + OFF_INPUT);
    f.outputTokens = view.getUint32(at + OFF_OUTPUT);
    f.servedAt = servedAtOf(view, at);
    receiptLeafInto(f, data, at + OFF_LEAF);
  }
}

/** The leaf slots of `count` records, packed (32 bytes each): what the commit worker sends back. */
export function leavesOf(data: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * 32);
  for (let i = 0; i < count; i++) out.set(data.subarray(i * REC + OFF_LEAF, i * REC + OFF_LEAF + 32), i * 32);
  return out;
}

/** Writes packed `leaves` (from {@link leavesOf}) into the leaf slots of `data`'s records. */
export function setLeaves(data: Uint8Array, leaves: Uint8Array): void {
  for (let i = 0, n = leaves.length >>> 5; i < n; i++) {
    const to = i * REC + OFF_LEAF;
    const from = i * 32;
    for (let b = 0; b < 32; b++) data[to + b] = leaves[from + b]!;
  }
}
