// AssemblyScript source of proofpath's keccak256 WebAssembly module (compiled by
// `npm run build:wasm` into sdk/wasm/keccak.wasm.ts; loaded by sdk/wasm/keccak.ts).
//
// Why a module of our own: hash-wasm's keccak costs ~1 µs per 32/64-byte hash, most of it
// crossing from JS into WebAssembly three times (init, update, digest) and copying. Here one
// call does a whole job: a receipt leaf (two hashes) or every inner node of a Merkle tree.
// Lanes are little-endian u64s, so unaligned u64 loads absorb input bytes directly.

const RATE: usize = 136; // keccak256: 1088-bit rate

const RC: StaticArray<u64> = [
  0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000,
  0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
  0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
  0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
  0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
  0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
];

// Scratch state (25 lanes) and one padded block for the final, partial block of long inputs.
const STATE: usize = memory.data(200, 8);
const BLOCK: usize = memory.data(<i32>RATE, 8);

/** First byte callers may use for their own data (everything below is the module's). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/** keccak-f[1600] on the 25 lanes at `s`. Unrolled within a round; state kept in locals. */
function permute(s: usize): void {
  const rc = changetype<usize>(RC);
  let a0 = load<u64>(s, 0);
  let a1 = load<u64>(s, 8);
  let a2 = load<u64>(s, 16);
  let a3 = load<u64>(s, 24);
  let a4 = load<u64>(s, 32);
  let a5 = load<u64>(s, 40);
  let a6 = load<u64>(s, 48);
  let a7 = load<u64>(s, 56);
  let a8 = load<u64>(s, 64);
  let a9 = load<u64>(s, 72);
  let a10 = load<u64>(s, 80);
  let a11 = load<u64>(s, 88);
  let a12 = load<u64>(s, 96);
  let a13 = load<u64>(s, 104);
  let a14 = load<u64>(s, 112);
  let a15 = load<u64>(s, 120);
  let a16 = load<u64>(s, 128);
  let a17 = load<u64>(s, 136);
  let a18 = load<u64>(s, 144);
  let a19 = load<u64>(s, 152);
  let a20 = load<u64>(s, 160);
  let a21 = load<u64>(s, 168);
  let a22 = load<u64>(s, 176);
  let a23 = load<u64>(s, 184);
  let a24 = load<u64>(s, 192);
  for (let round: i32 = 0; round < 24; round++) {
      const c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
      const c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
      const c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
      const c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
      const c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
      const d0 = c4 ^ rotl<u64>(c1, 1);
      const d1 = c0 ^ rotl<u64>(c2, 1);
      const d2 = c1 ^ rotl<u64>(c3, 1);
      const d3 = c2 ^ rotl<u64>(c4, 1);
      const d4 = c3 ^ rotl<u64>(c0, 1);
      const b0 = a0 ^ d0;
      const b1 = rotl<u64>(a6 ^ d1, 44);
      const b2 = rotl<u64>(a12 ^ d2, 43);
      const b3 = rotl<u64>(a18 ^ d3, 21);
      const b4 = rotl<u64>(a24 ^ d4, 14);
      const b5 = rotl<u64>(a3 ^ d3, 28);
      const b6 = rotl<u64>(a9 ^ d4, 20);
      const b7 = rotl<u64>(a10 ^ d0, 3);
      const b8 = rotl<u64>(a16 ^ d1, 45);
      const b9 = rotl<u64>(a22 ^ d2, 61);
      const b10 = rotl<u64>(a1 ^ d1, 1);
      const b11 = rotl<u64>(a7 ^ d2, 6);
      const b12 = rotl<u64>(a13 ^ d3, 25);
      const b13 = rotl<u64>(a19 ^ d4, 8);
      const b14 = rotl<u64>(a20 ^ d0, 18);
      const b15 = rotl<u64>(a4 ^ d4, 27);
      const b16 = rotl<u64>(a5 ^ d0, 36);
      const b17 = rotl<u64>(a11 ^ d1, 10);
      const b18 = rotl<u64>(a17 ^ d2, 15);
      const b19 = rotl<u64>(a23 ^ d3, 56);
      const b20 = rotl<u64>(a2 ^ d2, 62);
      const b21 = rotl<u64>(a8 ^ d3, 55);
      const b22 = rotl<u64>(a14 ^ d4, 39);
      const b23 = rotl<u64>(a15 ^ d0, 41);
      const b24 = rotl<u64>(a21 ^ d1, 2);
      a0 = b0 ^ (~b1 & b2);
      a1 = b1 ^ (~b2 & b3);
      a2 = b2 ^ (~b3 & b4);
      a3 = b3 ^ (~b4 & b0);
      a4 = b4 ^ (~b0 & b1);
      a5 = b5 ^ (~b6 & b7);
      a6 = b6 ^ (~b7 & b8);
      a7 = b7 ^ (~b8 & b9);
      a8 = b8 ^ (~b9 & b5);
      a9 = b9 ^ (~b5 & b6);
      a10 = b10 ^ (~b11 & b12);
      a11 = b11 ^ (~b12 & b13);
      a12 = b12 ^ (~b13 & b14);
      a13 = b13 ^ (~b14 & b10);
      a14 = b14 ^ (~b10 & b11);
      a15 = b15 ^ (~b16 & b17);
      a16 = b16 ^ (~b17 & b18);
      a17 = b17 ^ (~b18 & b19);
      a18 = b18 ^ (~b19 & b15);
      a19 = b19 ^ (~b15 & b16);
      a20 = b20 ^ (~b21 & b22);
      a21 = b21 ^ (~b22 & b23);
      a22 = b22 ^ (~b23 & b24);
      a23 = b23 ^ (~b24 & b20);
      a24 = b24 ^ (~b20 & b21);
      a0 ^= load<u64>(rc + (<usize>round << 3));

  }
  store<u64>(s, a0, 0);
  store<u64>(s, a1, 8);
  store<u64>(s, a2, 16);
  store<u64>(s, a3, 24);
  store<u64>(s, a4, 32);
  store<u64>(s, a5, 40);
  store<u64>(s, a6, 48);
  store<u64>(s, a7, 56);
  store<u64>(s, a8, 64);
  store<u64>(s, a9, 72);
  store<u64>(s, a10, 80);
  store<u64>(s, a11, 88);
  store<u64>(s, a12, 96);
  store<u64>(s, a13, 104);
  store<u64>(s, a14, 112);
  store<u64>(s, a15, 120);
  store<u64>(s, a16, 128);
  store<u64>(s, a17, 136);
  store<u64>(s, a18, 144);
  store<u64>(s, a19, 152);
  store<u64>(s, a20, 160);
  store<u64>(s, a21, 168);
  store<u64>(s, a22, 176);
  store<u64>(s, a23, 184);
  store<u64>(s, a24, 192);
}

@inline function zeroState(): void {
  memory.fill(STATE, 0, 200);
}

@inline function absorbBlock(p: usize): void {
  for (let i: usize = 0; i < RATE; i += 8) store<u64>(STATE + i, load<u64>(STATE + i) ^ load<u64>(p + i));
}

@inline function squeeze(out: usize): void {
  store<u64>(out, load<u64>(STATE), 0);
  store<u64>(out, load<u64>(STATE, 8), 8);
  store<u64>(out, load<u64>(STATE, 16), 16);
  store<u64>(out, load<u64>(STATE, 24), 24);
}

/** keccak256 of `len` bytes at `input`, 32 bytes written to `out` (may overlap `input`). */
export function keccak256(input: usize, len: usize, out: usize): void {
  zeroState();
  while (len >= RATE) {
    absorbBlock(input);
    permute(STATE);
    input += RATE;
    len -= RATE;
  }
  memory.fill(BLOCK, 0, RATE);
  memory.copy(BLOCK, input, len);
  store<u8>(BLOCK + len, load<u8>(BLOCK + len) ^ 0x01);
  store<u8>(BLOCK + RATE - 1, load<u8>(BLOCK + RATE - 1) ^ 0x80);
  absorbBlock(BLOCK);
  permute(STATE);
  squeeze(out);
}

/** keccak256 of the 32 bytes at `a` followed by the 32 bytes at `b` (one block, padded in place). */
@inline function hashTwo(a: usize, b: usize, out: usize): void {
  zeroState();
  store<u64>(STATE, load<u64>(a), 0);
  store<u64>(STATE, load<u64>(a, 8), 8);
  store<u64>(STATE, load<u64>(a, 16), 16);
  store<u64>(STATE, load<u64>(a, 24), 24);
  store<u64>(STATE, load<u64>(b), 32);
  store<u64>(STATE, load<u64>(b, 8), 40);
  store<u64>(STATE, load<u64>(b, 16), 48);
  store<u64>(STATE, load<u64>(b, 24), 56);
  store<u64>(STATE, 0x01, 64); // padding: first byte after the 64-byte message ...
  store<u64>(STATE, 0x8000000000000000, 128); // ... and the last byte of the rate
  permute(STATE);
  squeeze(out);
}

/** Merkle leaf of a receipt: keccak256(keccak256(its `len`-byte abi.encode at `input`)). */
export function doubleHash(input: usize, len: usize, out: usize): void {
  keccak256(input, len, out);
  zeroState();
  store<u64>(STATE, load<u64>(out), 0);
  store<u64>(STATE, load<u64>(out, 8), 8);
  store<u64>(STATE, load<u64>(out, 16), 16);
  store<u64>(STATE, load<u64>(out, 24), 24);
  store<u64>(STATE, 0x01, 32);
  store<u64>(STATE, 0x8000000000000000, 128);
  permute(STATE);
  squeeze(out);
}

/** a < b for the 32-byte big-endian integers at `a` and `b`. */
@inline function less(a: usize, b: usize): bool {
  for (let i: usize = 0; i < 32; i += 8) {
    const x = bswap<u64>(load<u64>(a + i));
    const y = bswap<u64>(load<u64>(b + i));
    if (x != y) return x < y;
  }
  return false;
}

/** Sorted-pair hash (OpenZeppelin `Hashes.commutativeKeccak256`) of the nodes at `x` and `y`. */
export function hashPair(x: usize, y: usize, out: usize): void {
  if (less(y, x)) hashTwo(y, x, out);
  else hashTwo(x, y, out);
}

/**
 * Fills the inner nodes of an OpenZeppelin-layout tree: `nodes` holds 32-byte nodes, node i's
 * children are 2i+1 and 2i+2, and nodes `firstInner`..0 are hashed from the leaves upwards.
 */
export function hashInner(nodes: usize, firstInner: i32): void {
  for (let i = firstInner; i >= 0; i--) {
    const l = nodes + ((<usize>(2 * i + 1)) << 5);
    hashPair(l, l + 32, nodes + (<usize>i << 5));
  }
}
