/**
 * EIP-712 struct hashes and Merkle leaves, byte-for-byte as `contracts/libraries/Hashing.sol`.
 *
 * The gateway calls {@link receiptLeafInto} on its hot path, so everything here is synchronous,
 * encodes into preallocated buffers whose padding is never written (it stays zero), and uses a
 * WebAssembly keccak created once at module load. Functions share module-level scratch buffers;
 * that is safe because none of them yields, and each worker thread gets its own module instance.
 */
import type { Address, Hex } from "viem";
import { createKeccakWasm, SCRATCH_BYTES } from "./wasm/keccak.js";

/** Writes keccak256(`data`) into `out[offset .. offset+32)`. */
export type KeccakInto = (data: Uint8Array, out: Uint8Array, offset: number) => void;

// This thread's keccak module. Input goes to the scratch area (or the heap when longer); the
// digest is written right after the input and copied out.
const wasm = createKeccakWasm();
const SCRATCH_INPUT = SCRATCH_BYTES - 32;

/** Copies `data` into the module's memory; returns where it starts. */
function stage(data: Uint8Array): number {
  if (data.length <= SCRATCH_INPUT) {
    wasm.bytes.set(data, wasm.base);
    return wasm.base;
  }
  wasm.reserveHeap(data.length + 32);
  wasm.bytes.set(data, wasm.heap);
  return wasm.heap;
}

/** Which keccak implementation is in use (proofpath's own WebAssembly module, sdk/wasm/). */
export const keccakBackend = "wasm" as const;

/** Copies the 32-byte digest at `at` in the module's memory to `out` (a loop: no view allocated). */
function digestOut(at: number, out: Uint8Array, offset: number): void {
  const mem = wasm.bytes;
  for (let i = 0; i < 32; i++) out[offset + i] = mem[at + i]!;
}

/** Synchronous keccak256 of `data` written into `out` at `offset` (no allocation). */
export const keccak256Into: KeccakInto = (data, out, offset) => {
  const at = stage(data);
  wasm.keccak256(at, data.length, at + data.length);
  digestOut(at + data.length, out, offset);
};

/** keccak256(keccak256(`data`)) into `out` at `offset`: a Merkle leaf in one call into the module. */
function doubleKeccakInto(data: Uint8Array, out: Uint8Array, offset: number): void {
  const at = stage(data);
  wasm.doubleHash(at, data.length, at + data.length);
  digestOut(at + data.length, out, offset);
}

// ---------------------------------------------------------------- hex <-> bytes

const HEX_CHARS = "0123456789abcdef";
const HEX_HI = new Uint16Array(256); // char code of a byte's high nibble
const HEX_LO = new Uint16Array(256);
for (let b = 0; b < 256; b++) {
  HEX_HI[b] = HEX_CHARS.charCodeAt(b >> 4);
  HEX_LO[b] = HEX_CHARS.charCodeAt(b & 15);
}
// "0x" + 64 chars, filled in place: one fromCharCode is faster than 32 string concatenations.
const HEX_OUT = new Uint16Array(66);
HEX_OUT[0] = 48;
HEX_OUT[1] = 120;
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE[HEX_CHARS.charCodeAt(i)] = i;
  HEX_VALUE[HEX_CHARS.toUpperCase().charCodeAt(i)] = i;
}

/** Lowercase `0x` hex of the 32 bytes at `bytes[offset..]`. */
export function bytesToHex32(bytes: Uint8Array, offset = 0): Hex {
  if (offset < 0 || offset + 32 > bytes.length) throw new RangeError(`bytesToHex32: offset ${offset} out of range`);
  for (let i = 0; i < 32; i++) {
    const b = bytes[offset + i]!;
    HEX_OUT[2 + 2 * i] = HEX_HI[b]!;
    HEX_OUT[3 + 2 * i] = HEX_LO[b]!;
  }
  return String.fromCharCode.apply(null, HEX_OUT as unknown as number[]) as Hex;
}

/** Decodes `0x`-hex of exactly `length` bytes into `out` at `offset`; throws naming `field`. */
export function writeHex(out: Uint8Array, offset: number, hex: string, length: number, field: string): void {
  if (hex.length !== 2 + 2 * length || hex.charCodeAt(0) !== 48 || (hex.charCodeAt(1) | 32) !== 120) {
    throw new TypeError(
      `${field}: expected 0x-prefixed hex of ${length} bytes, got ${JSON.stringify(hex.slice(0, 80))}`,
    );
  }
  for (let i = 0, j = 2; i < length; i++, j += 2) {
    const a = hex.charCodeAt(j);
    const b = hex.charCodeAt(j + 1);
    const hi = a < 128 ? HEX_VALUE[a]! : -1;
    const lo = b < 128 ? HEX_VALUE[b]! : -1;
    if ((hi | lo) < 0) throw new TypeError(`${field}: invalid hex character in ${JSON.stringify(hex.slice(0, 80))}`);
    out[offset + i] = (hi << 4) | lo;
  }
}

/** Converts a bytes32 hex string to a new 32-byte array. */
export function hex32ToBytes(hex: string, field = "value"): Uint8Array {
  const out = new Uint8Array(32);
  writeHex(out, 0, hex, 32, field);
  return out;
}

// ---------------------------------------------------------------- ABI word writers

const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;
const TWO_32 = 0x1_0000_0000;

function writeFixed(out: Uint8Array, offset: number, v: string | Uint8Array, length: number, field: string): void {
  if (typeof v === "string") writeHex(out, offset, v, length, field);
  else {
    if (v.length !== length) throw new TypeError(`${field}: expected ${length} bytes, got ${v.length}`);
    out.set(v, offset);
  }
}

/** Writes an address into the low 20 bytes of the ABI word at `word`. */
function writeAddress(out: Uint8Array, word: number, v: Address | Uint8Array, field: string): void {
  writeFixed(out, word + 12, v, 20, field);
}

function writeUint64(view: DataView, word: number, v: bigint | number, field: string): void {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${field}: ${v} is not a uint64 safe integer`);
    view.setUint32(word + 24, Math.floor(v / TWO_32));
    view.setUint32(word + 28, v >>> 0); // ToUint32 is exact mod 2^32 for safe integers
  } else {
    if (v < 0n || v > MAX_UINT64) throw new RangeError(`${field}: ${v} is out of range for uint64`);
    view.setBigUint64(word + 24, v);
  }
}

function writeUint32(view: DataView, word: number, v: number, field: string): void {
  if (v >>> 0 !== v) throw new RangeError(`${field}: ${v} is not a uint32`);
  view.setUint32(word + 28, v);
}

function writeUint256(view: DataView, word: number, v: bigint | number, field: string): void {
  const n = BigInt(v);
  if (n < 0n || n > MAX_UINT256) throw new RangeError(`${field}: ${n} is out of range for uint256`);
  const m = 0xffff_ffff_ffff_ffffn;
  view.setBigUint64(word, n >> 192n);
  view.setBigUint64(word + 8, (n >> 128n) & m);
  view.setBigUint64(word + 16, (n >> 64n) & m);
  view.setBigUint64(word + 24, n & m);
}

// ---------------------------------------------------------------- typehashes

const utf8 = new TextEncoder();

function keccakBytes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  keccak256Into(data, out, 0);
  return out;
}

/** `ModelUsage` EIP-712 type string. */
export const modelUsageTypeString = "ModelUsage(bytes32 modelId,uint32 calls,uint64 inputTokens,uint64 outputTokens)";
/** `BatchHeader` EIP-712 type string (referenced `ModelUsage` appended, per EIP-712 encodeType). */
export const batchHeaderTypeString =
  "BatchHeader(address gateway,uint64 batchSeq,uint64 firstCallSeq,uint32 count,bytes32 root,ModelUsage[] usage,uint256 fee,uint64 firstServedAt,uint64 lastServedAt,string daURI)" +
  modelUsageTypeString;
/** `Receipt` EIP-712 type string. */
export const receiptTypeString =
  "Receipt(address gateway,uint64 callSeq,bytes32 modelId,bytes32 requestHash,bytes32 responseHash,uint32 inputTokens,uint32 outputTokens,uint64 servedAt)";
/** `VoidReceipt` EIP-712 type string. */
export const voidReceiptTypeString = "VoidReceipt(address gateway,uint64 callSeq)";

const MODEL_USAGE_TYPEHASH = keccakBytes(utf8.encode(modelUsageTypeString));
const BATCH_HEADER_TYPEHASH = keccakBytes(utf8.encode(batchHeaderTypeString));
const RECEIPT_TYPEHASH = keccakBytes(utf8.encode(receiptTypeString));
const VOID_RECEIPT_TYPEHASH = keccakBytes(utf8.encode(voidReceiptTypeString));

/** `Hashing.MODEL_USAGE_TYPEHASH`. */
export const modelUsageTypeHash: Hex = bytesToHex32(MODEL_USAGE_TYPEHASH);
/** `Hashing.BATCH_HEADER_TYPEHASH`. */
export const batchHeaderTypeHash: Hex = bytesToHex32(BATCH_HEADER_TYPEHASH);
/** `Hashing.RECEIPT_TYPEHASH`. */
export const receiptTypeHash: Hex = bytesToHex32(RECEIPT_TYPEHASH);
/** `Hashing.VOID_RECEIPT_TYPEHASH`. */
export const voidReceiptTypeHash: Hex = bytesToHex32(VOID_RECEIPT_TYPEHASH);

// ---------------------------------------------------------------- scratch buffers

// One buffer per struct, typehash pre-written in word 0: abi.encode of static fields is fixed-size.
function scratch(typehash: Uint8Array, words: number): [Uint8Array, DataView] {
  const buf = new Uint8Array(32 * words);
  buf.set(typehash, 0);
  return [buf, new DataView(buf.buffer)];
}
const [RECEIPT_BUF, RECEIPT_VIEW] = scratch(RECEIPT_TYPEHASH, 9);
const [VOID_BUF, VOID_VIEW] = scratch(VOID_RECEIPT_TYPEHASH, 3);
const [USAGE_BUF, USAGE_VIEW] = scratch(MODEL_USAGE_TYPEHASH, 5);
const [HEADER_BUF, HEADER_VIEW] = scratch(BATCH_HEADER_TYPEHASH, 11);
const HASH_IN = new Uint8Array(32); // leaf(): keccak of a 32-byte struct hash
const HASH_OUT = new Uint8Array(32); // result of the hex-returning wrappers

// ---------------------------------------------------------------- struct hashes

/**
 * Fields of a receipt as the fast path takes them: byte fields may be hex or raw bytes
 * (the gateway usually holds request/response hashes as bytes), uint64 fields bigint or
 * safe-integer numbers (e.g. `Date.now()`). A parsed {@link import("./types.js").Receipt} fits.
 */
export interface ReceiptFields {
  gateway: Address | Uint8Array;
  callSeq: bigint | number;
  modelId: Hex | Uint8Array;
  requestHash: Hex | Uint8Array;
  responseHash: Hex | Uint8Array;
  inputTokens: number;
  outputTokens: number;
  servedAt: bigint | number;
}

/** Header fields as {@link hashHeader} takes them; a parsed `BatchHeader` fits. */
export interface BatchHeaderFields {
  gateway: Address | Uint8Array;
  batchSeq: bigint | number;
  firstCallSeq: bigint | number;
  count: number;
  root: Hex | Uint8Array;
  usage: readonly ModelUsageFields[];
  fee: bigint | number;
  firstServedAt: bigint | number;
  lastServedAt: bigint | number;
  daURI: string;
}

/** Usage entry fields as {@link hashModelUsage} takes them; a parsed `ModelUsage` fits. */
export interface ModelUsageFields {
  modelId: Hex | Uint8Array;
  calls: number;
  inputTokens: bigint | number;
  outputTokens: bigint | number;
}

/** Writes `Hashing.hashReceipt(r)` (32 bytes) into `out` at `offset`; returns `out`. */
export function hashReceiptInto(r: ReceiptFields, out: Uint8Array, offset = 0): Uint8Array {
  encodeReceipt(r);
  keccak256Into(RECEIPT_BUF, out, offset);
  return out;
}

/** abi.encode(RECEIPT_TYPEHASH, r...) into RECEIPT_BUF. */
function encodeReceipt(r: ReceiptFields): void {
  writeAddress(RECEIPT_BUF, 32, r.gateway, "gateway");
  writeUint64(RECEIPT_VIEW, 64, r.callSeq, "callSeq");
  writeFixed(RECEIPT_BUF, 96, r.modelId, 32, "modelId");
  writeFixed(RECEIPT_BUF, 128, r.requestHash, 32, "requestHash");
  writeFixed(RECEIPT_BUF, 160, r.responseHash, 32, "responseHash");
  writeUint32(RECEIPT_VIEW, 192, r.inputTokens, "inputTokens");
  writeUint32(RECEIPT_VIEW, 224, r.outputTokens, "outputTokens");
  writeUint64(RECEIPT_VIEW, 256, r.servedAt, "servedAt");
}

/** Writes `Hashing.hashVoid(gateway, callSeq)` into `out` at `offset`; returns `out`. */
export function hashVoidInto(
  gateway: Address | Uint8Array,
  callSeq: bigint | number,
  out: Uint8Array,
  offset = 0,
): Uint8Array {
  encodeVoid(gateway, callSeq);
  keccak256Into(VOID_BUF, out, offset);
  return out;
}

/** abi.encode(VOID_RECEIPT_TYPEHASH, gateway, callSeq) into VOID_BUF. */
function encodeVoid(gateway: Address | Uint8Array, callSeq: bigint | number): void {
  writeAddress(VOID_BUF, 32, gateway, "gateway");
  writeUint64(VOID_VIEW, 64, callSeq, "callSeq");
}

/** Writes the struct hash of one `ModelUsage` into `out` at `offset`; returns `out`. */
export function hashModelUsageInto(u: ModelUsageFields, out: Uint8Array, offset = 0): Uint8Array {
  writeFixed(USAGE_BUF, 32, u.modelId, 32, "modelId");
  writeUint32(USAGE_VIEW, 64, u.calls, "calls");
  writeUint64(USAGE_VIEW, 96, u.inputTokens, "inputTokens");
  writeUint64(USAGE_VIEW, 128, u.outputTokens, "outputTokens");
  keccak256Into(USAGE_BUF, out, offset);
  return out;
}

/** Writes `Hashing.hashUsage(usage)` (keccak of the concatenated entry hashes) into `out`. */
export function hashUsageInto(usage: readonly ModelUsageFields[], out: Uint8Array, offset = 0): Uint8Array {
  const hashes = new Uint8Array(32 * usage.length);
  for (let i = 0; i < usage.length; i++) hashModelUsageInto(usage[i]!, hashes, 32 * i);
  keccak256Into(hashes, out, offset);
  return out;
}

/** Writes `Hashing.hashHeader(h)` into `out` at `offset`; returns `out`. */
export function hashHeaderInto(h: BatchHeaderFields, out: Uint8Array, offset = 0): Uint8Array {
  writeAddress(HEADER_BUF, 32, h.gateway, "gateway");
  writeUint64(HEADER_VIEW, 64, h.batchSeq, "batchSeq");
  writeUint64(HEADER_VIEW, 96, h.firstCallSeq, "firstCallSeq");
  writeUint32(HEADER_VIEW, 128, h.count, "count");
  writeFixed(HEADER_BUF, 160, h.root, 32, "root");
  hashUsageInto(h.usage, HEADER_BUF, 192);
  writeUint256(HEADER_VIEW, 224, h.fee, "fee");
  writeUint64(HEADER_VIEW, 256, h.firstServedAt, "firstServedAt");
  writeUint64(HEADER_VIEW, 288, h.lastServedAt, "lastServedAt");
  keccak256Into(utf8.encode(h.daURI), HEADER_BUF, 320);
  keccak256Into(HEADER_BUF, out, offset);
  return out;
}

/**
 * Writes `Hashing.leaf(structHash)` = keccak256 of the 32 bytes at `src[srcOffset..]` into
 * `out[outOffset..]`. `src` and `out` may be the same array (the input is copied first).
 */
export function leafInto(src: Uint8Array, srcOffset: number, out: Uint8Array, outOffset = 0): Uint8Array {
  keccak256Into(src.subarray(srcOffset, srcOffset + 32), out, outOffset); // staged in wasm memory first
  return out;
}

/** Hot path: writes the Merkle leaf of receipt `r` (32 bytes) into `out` at `offset`; returns `out`. */
export function receiptLeafInto(r: ReceiptFields, out: Uint8Array, offset = 0): Uint8Array {
  encodeReceipt(r);
  doubleKeccakInto(RECEIPT_BUF, out, offset);
  return out;
}

/** Writes the Merkle leaf of a void callSeq into `out` at `offset`; returns `out`. */
export function voidLeafInto(
  gateway: Address | Uint8Array,
  callSeq: bigint | number,
  out: Uint8Array,
  offset = 0,
): Uint8Array {
  encodeVoid(gateway, callSeq);
  doubleKeccakInto(VOID_BUF, out, offset);
  return out;
}

// ---------------------------------------------------------------- hex-returning wrappers

/**
 * keccak256 of `data` as `0x` hex, through the WebAssembly module: what the gateway hashes per call
 * (request and response bytes). viem's `keccak256` is plain JS, ~0.1 ms per KB.
 */
export function keccak256Hex(data: Uint8Array): Hex {
  keccak256Into(data, HASH_OUT, 0);
  return bytesToHex32(HASH_OUT);
}

/** EIP-712 struct hash of a receipt (`Hashing.hashReceipt`). */
export function hashReceipt(r: ReceiptFields): Hex {
  return bytesToHex32(hashReceiptInto(r, HASH_OUT, 0));
}

/** EIP-712 struct hash of a void receipt (`Hashing.hashVoid`). */
export function hashVoid(gateway: Address | Uint8Array, callSeq: bigint | number): Hex {
  return bytesToHex32(hashVoidInto(gateway, callSeq, HASH_OUT, 0));
}

/** EIP-712 struct hash of one `ModelUsage`. */
export function hashModelUsage(u: ModelUsageFields): Hex {
  return bytesToHex32(hashModelUsageInto(u, HASH_OUT, 0));
}

/** EIP-712 hash of a `ModelUsage[]` (`Hashing.hashUsage`). */
export function hashUsage(usage: readonly ModelUsageFields[]): Hex {
  return bytesToHex32(hashUsageInto(usage, HASH_OUT, 0));
}

/** EIP-712 struct hash of a batch header (`Hashing.hashHeader`). */
export function hashHeader(h: BatchHeaderFields): Hex {
  return bytesToHex32(hashHeaderInto(h, HASH_OUT, 0));
}

/** Merkle leaf of a struct hash (`Hashing.leaf`): keccak256 of its 32 bytes. */
export function leafOf(structHash: Hex | Uint8Array): Hex {
  writeFixed(HASH_IN, 0, structHash, 32, "structHash");
  keccak256Into(HASH_IN, HASH_OUT, 0);
  return bytesToHex32(HASH_OUT);
}

/** Merkle leaf of a receipt: `leaf(hashReceipt(r))`. */
export function receiptLeaf(r: ReceiptFields): Hex {
  return bytesToHex32(receiptLeafInto(r, HASH_OUT, 0));
}

/** Merkle leaf of a void callSeq: `leaf(hashVoid(gateway, callSeq))`. */
export function voidLeaf(gateway: Address | Uint8Array, callSeq: bigint | number): Hex {
  return bytesToHex32(voidLeafInto(gateway, callSeq, HASH_OUT, 0));
}
