/**
 * The authenticated log the enclave keeps on the (untrusted) host: one frame per group commit. Each
 * frame carries its sequence number, the previous frame's chain head and the group's writes; the
 * enclave signs the frame's chain head with its own key (secp256k1, recoverable), so one signature
 * covers the frame and, through the chain, every frame before it. At recovery the chain is rebuilt
 * from the bytes the host returns and the last head's signature checked: a host that altered,
 * dropped or reordered anything is refused by name (HostStoreTamperedError). A host that drops the
 * tail (or replays an older log) serves a valid prefix; only the chain's settled callSeqs catch that
 * (StoreBehindChainError at reconcile). A checkpoint frame holds everything recovery needs from the
 * frames before it (the cache from its first batch not confirmed on-chain), so the host may drop
 * those on request (compaction): a log starts at frame 0 or at a checkpoint frame, nowhere else.
 *
 * Signatures are plain secp256k1 over the head (not EIP-191/712): the successor enclave, or anyone
 * with the key's address, verifies them after the key is gone; a MAC key would die with the enclave.
 */
import { createHash } from "node:crypto";
import { hexToBytes, isAddressEqual, recoverAddress, bytesToHex, type Address, type Hex } from "viem";
import { sign } from "viem/accounts";
import { HostStoreTamperedError } from "../errors.js";
import { REC } from "../record/receiptLayout.js";
import type { BatchRow, NewBatch, Write } from "../store.js";

const DOMAIN = Buffer.from("proofpath/host-store/v1");
const VERSION = 1;
/** version(1) | seq(8) | prev(32) | signature(65) | body */
const HEAD_BYTES = 1 + 8 + 32 + 65;
export const GENESIS: Uint8Array = new Uint8Array(32);

const E_RECEIPTS = 1;
const E_RESERVE = 2;
const E_BATCH = 3;
/** A batch's header re-signed or unsigned, its transaction stored or forgotten: JSON. */
const E_HEADER = 4;
const E_TX = 5;
/** A checkpoint: its base (JSON), then whole batch rows (JSON + tree) and receipt groups. */
const E_CHECKPOINT = 6;
const E_ROW = 7;

/** Where the chain stands: frames written so far and the last head (GENESIS before the first). */
export interface ChainState {
  seq: number;
  head: Uint8Array;
}

/** The chain head of frame `seq` over `body`, after `prev`, for the log of `gateway`. */
export function chainHead(gateway: Uint8Array, seq: number, prev: Uint8Array, body: Uint8Array): Uint8Array {
  const bodyHash = createHash("sha256").update(body).digest();
  const s = Buffer.alloc(8);
  s.writeBigUInt64BE(BigInt(seq));
  return new Uint8Array(
    createHash("sha256").update(DOMAIN).update(gateway).update(s).update(prev).update(bodyHash).digest(),
  );
}

/** The writes of one group commit as a frame body (receipt groups, reservation raises, sealed batches). */
export function encodeBody(writes: readonly Write[]): Uint8Array {
  const parts: Buffer[] = [];
  for (const w of writes) {
    if (w.kind === "receipts") {
      const h = Buffer.alloc(1 + 8 + 4 + 8);
      h[0] = E_RECEIPTS;
      h.writeBigUInt64BE(BigInt(w.firstSeq), 1);
      h.writeUInt32BE(w.count, 9);
      h.writeBigUInt64BE(BigInt(w.reserve ?? 0), 13);
      parts.push(h, Buffer.from(w.data.buffer, w.data.byteOffset, w.count * REC));
    } else if (w.kind === "reserve") {
      const h = Buffer.alloc(9);
      h[0] = E_RESERVE;
      h.writeBigUInt64BE(BigInt(w.until), 1);
      parts.push(h);
    } else if (w.kind === "batch" || w.kind === "row") {
      const { tree, ...row } = w.row;
      const json = Buffer.from(JSON.stringify(row));
      const h = Buffer.alloc(1 + 4 + 4);
      h[0] = w.kind === "batch" ? E_BATCH : E_ROW;
      h.writeUInt32BE(json.length, 1);
      h.writeUInt32BE(tree.length, 5);
      parts.push(h, json, Buffer.from(tree.buffer, tree.byteOffset, tree.byteLength));
    } else {
      const { kind, ...rest } = w;
      const json = Buffer.from(JSON.stringify(rest));
      const h = Buffer.alloc(1 + 4);
      h[0] = kind === "header" ? E_HEADER : kind === "tx" ? E_TX : E_CHECKPOINT;
      h.writeUInt32BE(json.length, 1);
      parts.push(h, json);
    }
  }
  return Buffer.concat(parts);
}

/** The writes of a frame body (inverse of {@link encodeBody}); throws on malformed bytes. */
export function decodeBody(body: Uint8Array): Write[] {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out: Write[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > b.length) throw new Error(`body ends at ${b.length}, needs ${at + n}`);
  };
  while (at < b.length) {
    const kind = b[at];
    if (kind === E_RECEIPTS) {
      need(21);
      const firstSeq = Number(b.readBigUInt64BE(at + 1));
      const count = b.readUInt32BE(at + 9);
      const reserve = Number(b.readBigUInt64BE(at + 13));
      at += 21;
      need(count * REC);
      const data = new Uint8Array(b.subarray(at, at + count * REC)); // a copy: the store keeps it
      at += count * REC;
      out.push({ kind: "receipts", firstSeq, count, data, ...(reserve ? { reserve } : {}) });
    } else if (kind === E_RESERVE) {
      need(9);
      out.push({ kind: "reserve", until: Number(b.readBigUInt64BE(at + 1)) });
      at += 9;
    } else if (kind === E_BATCH || kind === E_ROW) {
      need(9);
      const jl = b.readUInt32BE(at + 1);
      const tl = b.readUInt32BE(at + 5);
      at += 9;
      need(jl + tl);
      const row = JSON.parse(b.subarray(at, at + jl).toString()) as Omit<NewBatch, "tree">;
      at += jl;
      const tree = new Uint8Array(b.subarray(at, at + tl));
      at += tl;
      out.push(
        kind === E_BATCH
          ? { kind: "batch", row: { ...row, tree } }
          : { kind: "row", row: { ...(row as BatchRow), tree } },
      );
    } else if (kind === E_HEADER || kind === E_TX || kind === E_CHECKPOINT) {
      need(5);
      const jl = b.readUInt32BE(at + 1);
      at += 5;
      need(jl);
      const rest = JSON.parse(b.subarray(at, at + jl).toString()) as object;
      at += jl;
      out.push({ kind: kind === E_HEADER ? "header" : kind === E_TX ? "tx" : "checkpoint", ...rest } as Write);
    } else throw new Error(`unknown entry kind ${kind} at byte ${at}`);
  }
  return out;
}

/**
 * Seals `body` as the next frame after `state`, signed by `privateKey`; returns the frame bytes and
 * the new chain state (to adopt once the host acknowledged the frame).
 */
export async function sealFrame(
  state: ChainState,
  gateway: Uint8Array,
  privateKey: Hex,
  body: Uint8Array,
): Promise<{ frame: Uint8Array; next: ChainState }> {
  const head = chainHead(gateway, state.seq, state.head, body);
  const sig = await sign({ hash: bytesToHex(head), privateKey });
  const frame = Buffer.alloc(HEAD_BYTES + body.length);
  frame[0] = VERSION;
  frame.writeBigUInt64BE(BigInt(state.seq), 1);
  frame.set(state.head, 9);
  frame.set(hexToBytes(sig.r), 41);
  frame.set(hexToBytes(sig.s), 73);
  frame[105] = Number(sig.yParity ?? 0);
  frame.set(body, HEAD_BYTES);
  return { frame, next: { seq: state.seq + 1, head } };
}

/** A frame's parts, unverified. */
export function parseFrame(frame: Uint8Array): { seq: number; prev: Uint8Array; sig: Hex; body: Uint8Array } {
  if (frame.length < HEAD_BYTES || frame[0] !== VERSION) throw new Error("not a version-1 frame");
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    seq: Number(b.readBigUInt64BE(1)),
    prev: frame.subarray(9, 41),
    sig: bytesToHex(frame.subarray(41, 106)),
    body: frame.subarray(HEAD_BYTES),
  };
}

/**
 * Verifies a log as the host returned it: frames numbered 0, 1, 2, … (or from a checkpoint frame on,
 * once the host compacted the log) each chained to the one before,
 * the last head signed by one of `signers` (the log's own key, or a key the registry made its successor). Returns the
 * writes of every frame in order and the chain state to continue from. Throws HostStoreTamperedError
 * naming what the host did.
 */
export async function verifyLog(
  log: string,
  frames: readonly Uint8Array[],
  gateway: Address,
  signers: readonly Address[],
): Promise<{ writes: Write[][]; state: ChainState }> {
  const gw = hexToBytes(gateway);
  const parsed = frames.map((f, i) => {
    try {
      return parseFrame(f);
    } catch (e) {
      throw new HostStoreTamperedError(log, "malformed", i, (e as Error).message);
    }
  });
  const seqs = parsed.map((p) => p.seq);
  // A compacted log starts at a checkpoint frame (it holds everything its frame's predecessors
  // held that recovery needs); any other log starts at frame 0.
  const first = parsed[0];
  const base = first && first.seq > 0 && first.body[0] === E_CHECKPOINT ? first.seq : 0;
  let state: ChainState = { seq: base, head: base ? first!.prev : GENESIS };
  const writes: Write[][] = [];
  for (let i = 0; i < parsed.length; i++) {
    const p = parsed[i]!;
    const n = base + i;
    if (p.seq !== n) {
      // Frame n is not where it should be: elsewhere in the log (reordered, replayed) or gone.
      const problem = seqs.includes(n) || p.seq < n ? "reordered" : "dropped";
      throw new HostStoreTamperedError(log, problem, n, `position ${i} holds frame ${p.seq}`);
    }
    if (!Buffer.from(p.prev).equals(Buffer.from(state.head))) {
      throw new HostStoreTamperedError(log, "altered", n - 1, `frame ${n} does not chain to frame ${n - 1} as stored`);
    }
    const head = chainHead(gw, p.seq, p.prev, p.body);
    if (i === parsed.length - 1) {
      // One signature authenticates the whole chain: the enclave signed this head over all the others.
      let by: Address | undefined;
      try {
        by = await recoverAddress({ hash: bytesToHex(head), signature: p.sig });
      } catch {
        by = undefined;
      }
      if (!by || !signers.some((s) => isAddressEqual(s, by!)))
        throw new HostStoreTamperedError(
          log,
          "altered",
          n,
          `the last frame's head is not signed by ${signers.join(" or ")}${by ? ` (signer ${by})` : ""}`,
        );
    }
    try {
      writes.push(decodeBody(p.body));
    } catch (e) {
      throw new HostStoreTamperedError(log, "malformed", n, (e as Error).message);
    }
    state = { seq: n + 1, head };
  }
  return { writes, state };
}
