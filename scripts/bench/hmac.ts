/**
 * Side by side: the OHTTP key schedule's hand-written HMAC-SHA256 (sdk/ohttp/hmacSha256.ts) against
 * node:crypto's createHmac and @noble/hashes' hmac, on the shapes the key schedule hashes (a 32-byte
 * key over a few labelled parts, 1-3 blocks). Rounds interleave the three so a busy shared machine
 * slows them alike; the median of the rounds is reported, with the ratio to node:crypto.
 *   npx tsx scripts/bench/hmac.ts [rounds=15] [callsPerRound=20000]
 */
import { createHmac } from "node:crypto";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hmacSha256 } from "../../sdk/ohttp/hmacSha256.js";

const rounds = Number(process.argv[2] ?? 15);
const calls = Number(process.argv[3] ?? 20_000);
const enc = new TextEncoder();
const key = new Uint8Array(32).fill(7);
// HPKE LabeledExtract/Expand inputs: "HPKE-v1" ‖ suite id ‖ label ‖ value (‖ counter).
const shapes: Record<string, Uint8Array[]> = {
  "1 block": [enc.encode("HPKE-v1"), enc.encode("KEM\x00\x20"), enc.encode("shared_secret"), new Uint8Array(32)],
  "3 blocks": [
    enc.encode("HPKE-v1"),
    new Uint8Array(10),
    enc.encode("info_hash"),
    new Uint8Array(150),
    Uint8Array.of(1),
  ],
};
const concat = (parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

const impls: Record<string, (parts: Uint8Array[]) => Uint8Array> = {
  "hand-written": (parts) => hmacSha256(key, ...parts),
  "node:crypto": (parts) => {
    const h = createHmac("sha256", key);
    for (const p of parts) h.update(p);
    return h.digest();
  },
  "@noble/hashes": (parts) => {
    const h = hmac.create(sha256, key);
    for (const p of parts) h.update(p);
    return h.digest();
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [shape, parts] of Object.entries(shapes)) {
  const want = Buffer.from(createHmac("sha256", key).update(concat(parts)).digest()).toString("hex");
  for (const [name, f] of Object.entries(impls))
    if (Buffer.from(f(parts)).toString("hex") !== want) throw new Error(`${name} disagrees on ${shape}`);
  const ns: Record<string, number[]> = Object.fromEntries(Object.keys(impls).map((n) => [n, []]));
  for (let r = 0; r < rounds + 2; r++)
    for (const [name, f] of Object.entries(impls)) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) f(parts);
      const per = Number(process.hrtime.bigint() - t0) / calls;
      if (r >= 2) ns[name]!.push(per); // two warm-up rounds
    }
  const base = median(ns["node:crypto"]!);
  for (const name of Object.keys(impls)) {
    const m = median(ns[name]!);
    console.log(
      `${shape.padEnd(9)} ${name.padEnd(14)} ${m.toFixed(0).padStart(6)} ns/call  x${(base / m).toFixed(2)} vs node:crypto`,
    );
  }
}
