/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) over a message given in parts, for the HPKE / OHTTP key
 * schedules: ~20 short HMACs per OHTTP round trip, each over `label ‖ value ‖ …`.
 *
 * Why not node:crypto's createHmac: each call made an Hmac object, a digest Buffer with its own
 * backing store, and the caller a concatenated message — ~60 short-lived native-backed objects per
 * round trip, which young-generation GC must track and sweep. This runs in fixed scratch memory;
 * the only allocation is the 32-byte result (small enough to live on V8's heap). Same speed class
 * as createHmac for messages this short (a few 64-byte blocks). Pinned to node:crypto by a
 * fast-check property and RFC 4231's vectors in test/sdk/hmacSha256.test.ts.
 */

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const BLOCK = 64;
const state = new Int32Array(8);
const w = new Int32Array(64);
const block = new Uint8Array(BLOCK);
const pad = new Uint8Array(BLOCK); // the key XOR ipad / opad
const inner = new Uint8Array(32);
let fill = 0; // bytes waiting in `block`
let total = 0; // message bytes hashed so far, this hash

function compress(): void {
  for (let i = 0; i < 16; i++)
    w[i] = (block[4 * i]! << 24) | (block[4 * i + 1]! << 16) | (block[4 * i + 2]! << 8) | block[4 * i + 3]!;
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!,
    b = state[1]!,
    c = state[2]!,
    d = state[3]!,
    e = state[4]!,
    f = state[5]!,
    g = state[6]!,
    h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

function begin(): void {
  state.set(IV);
  fill = 0;
  total = 0;
}

function update(data: Uint8Array): void {
  total += data.length;
  let off = 0;
  while (off < data.length) {
    const n = Math.min(BLOCK - fill, data.length - off);
    // A byte loop, not block.set(data.subarray(…)): a subarray is a new view object per block.
    for (let i = 0; i < n; i++) block[fill + i] = data[off + i]!;
    fill += n;
    off += n;
    if (fill === BLOCK) {
      compress();
      fill = 0;
    }
  }
}

/** Pads, compresses the last block(s) and writes the 32-byte digest into `out`. */
function finish(out: Uint8Array): void {
  const bits = total * 8;
  block[fill++] = 0x80;
  if (fill > BLOCK - 8) {
    block.fill(0, fill);
    compress();
    fill = 0;
  }
  block.fill(0, fill, BLOCK - 8);
  // Message length in bits, big-endian 64-bit (messages here are far below 2^32 bytes).
  const hi = Math.floor(bits / 0x100000000);
  block[56] = hi >>> 24;
  block[57] = hi >>> 16;
  block[58] = hi >>> 8;
  block[59] = hi;
  block[60] = bits >>> 24;
  block[61] = bits >>> 16;
  block[62] = bits >>> 8;
  block[63] = bits;
  compress();
  for (let i = 0; i < 8; i++) {
    const v = state[i]!;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = v >>> 16;
    out[4 * i + 2] = v >>> 8;
    out[4 * i + 3] = v;
  }
}

/** Loads `key` XOR `byte` into the pad and hashes it as the first block. */
function beginKeyed(key: Uint8Array, byte: number): void {
  begin();
  for (let i = 0; i < BLOCK; i++) pad[i] = (i < key.length ? key[i]! : 0) ^ byte;
  update(pad);
}

/**
 * HMAC-SHA256(key, parts[0] ‖ parts[1] ‖ …). Keys longer than a block are rejected: every key here
 * is a salt or PRK of at most 64 bytes (RFC 2104 would hash a longer key first).
 */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  if (key.length > BLOCK) throw new RangeError(`hmacSha256: keys up to ${BLOCK} bytes, got ${key.length}`);
  beginKeyed(key, 0x36);
  for (const p of parts) update(p);
  finish(inner);
  beginKeyed(key, 0x5c);
  update(inner);
  const out = new Uint8Array(32);
  finish(out);
  return out;
}
