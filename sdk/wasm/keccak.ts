/**
 * proofpath's keccak256 WebAssembly module (source: keccak.as.ts), instantiated once per thread.
 *
 * Callers copy their input into the module's memory, call one export, and read 32 bytes back.
 * Memory layout: [base, base + SCRATCH_BYTES) is a fixed scratch area for short inputs (struct
 * encodings, pairs); {@link KeccakWasm.heap} onwards grows on demand for long inputs and trees.
 * Growing replaces `bytes`, so read it after {@link KeccakWasm.reserveHeap}, never before.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { KECCAK_WASM_BASE64 } from "./keccak.wasm.js";

interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  keccak256(input: number, len: number, out: number): void;
  doubleHash(input: number, len: number, out: number): void;
  hashPair(x: number, y: number, out: number): void;
  hashInner(nodes: number, firstInner: number): void;
}

/** Bytes of fixed scratch at `base` (inputs up to this size never touch the growable heap). */
export const SCRATCH_BYTES = 4096;
const PAGE = 65_536;

export class KeccakWasm {
  /** View of the whole memory; replaced when the memory grows. */
  bytes: Uint8Array;
  /** Start of the fixed scratch area. */
  readonly base: number;
  /** Start of the growable area. */
  readonly heap: number;
  readonly keccak256: Exports["keccak256"];
  readonly doubleHash: Exports["doubleHash"];
  readonly hashPair: Exports["hashPair"];
  readonly hashInner: Exports["hashInner"];
  private readonly memory: WebAssembly.Memory;

  constructor(exports: Exports) {
    this.memory = exports.memory;
    this.base = exports.heapBase();
    this.heap = this.base + SCRATCH_BYTES;
    this.keccak256 = exports.keccak256;
    this.doubleHash = exports.doubleHash;
    this.hashPair = exports.hashPair;
    this.hashInner = exports.hashInner;
    this.bytes = new Uint8Array(this.memory.buffer);
    this.reserveHeap(0);
  }

  /** Makes [heap, heap + n) addressable; refreshes `bytes` if the memory grew. */
  reserveHeap(n: number): void {
    const need = this.heap + n - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / PAGE));
    if (this.bytes.buffer !== this.memory.buffer) this.bytes = new Uint8Array(this.memory.buffer);
  }
}

let compiled: WebAssembly.Module | undefined;

/** A new instance (own memory). Checks known answers first: a wrong build must never hash leaves. */
export function createKeccakWasm(): KeccakWasm {
  // atob, not Buffer: the SDK also runs in browsers (the dashboard's verify page).
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(KECCAK_WASM_BASE64), (c) => c.charCodeAt(0)));
  const instance = new WebAssembly.Instance(compiled, {
    env: {
      abort: () => {
        throw new Error("keccak wasm: abort");
      },
    },
  });
  const k = new KeccakWasm(instance.exports as unknown as Exports);
  selfTest(k);
  return k;
}

function selfTest(k: KeccakWasm): void {
  // Lengths around the 136-byte rate exercise the one-, two- and three-block paths.
  for (const len of [0, 32, 64, 135, 136, 137, 288]) {
    const data = new Uint8Array(len).map((_, i) => (i * 131 + len) & 255);
    k.bytes.set(data, k.base);
    k.keccak256(k.base, len, k.base + 512);
    const want = keccak_256(data);
    for (let i = 0; i < 32; i++)
      if (k.bytes[k.base + 512 + i] !== want[i]) throw new Error(`keccak wasm: self-test failed at length ${len}`);
  }
}
