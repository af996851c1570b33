/**
 * The validator's data-availability store (`da.db`): the leaves of every batch this validator
 * verified and attests, written durably (WAL, synchronous=FULL) BEFORE its attest verdict is
 * signed. The validators that attested a batch thus hold what it settles, and serve it
 * (`GET /da/...`, http.ts) so a user can prove equivocation after the gateway is gone.
 *
 * One row per batch: its header, the receipts as the gateway's `/batches` JSON array (served
 * verbatim, never re-serialized per request) and the Merkle tree's nodes (a proof is a lookup, not
 * a rebuild). Bounded: a batch is kept until it concludes on chain (finalized, rejected, dropped)
 * plus `retentionSec`, then pruned. Separate from `state.db` (which may be deleted to resync) and
 * from `signing.db` (kept forever).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import { batchHeaderSchema, type BatchHeader } from "../sdk/types.js";
import { treeFromNodes, type MerkleTree } from "../sdk/merkle.js";
import type { DaBatch, DaLeaf } from "./da.js";

const ZERO32 = `0x${"00".repeat(32)}`;
const toJson = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

/** A leaf in the gateway's `/batches` wire shape (gateway implicit, bigints as decimal strings). */
function wireLeaf(l: DaLeaf): unknown {
  return l.kind === "served"
    ? {
        kind: "served",
        callSeq: l.receipt.callSeq,
        modelId: l.receipt.modelId,
        requestHash: l.receipt.requestHash,
        responseHash: l.receipt.responseHash,
        inputTokens: l.receipt.inputTokens,
        outputTokens: l.receipt.outputTokens,
        servedAt: l.receipt.servedAt,
      }
    : {
        kind: "void",
        callSeq: l.callSeq,
        modelId: ZERO32,
        requestHash: ZERO32,
        responseHash: ZERO32,
        inputTokens: 0,
        outputTokens: 0,
        servedAt: 0n,
      };
}

/** The receipts array of a batch as the gateway publishes it (`receipts` of `/batches/:n`). */
export function encodeReceipts(leaves: readonly DaLeaf[]): string {
  return toJson(leaves.map(wireLeaf));
}

export interface HeldBatch {
  headerHash: Hex;
  header: BatchHeader;
  /** JSON array, `/batches` wire shape. */
  receiptsJson: string;
  tree: MerkleTree;
}

export interface ReceiptStore {
  /** Writes the batch's leaves durably (idempotent); returns once committed with synchronous=FULL. */
  put(b: { headerHash: Hex; header: BatchHeader; da: DaBatch; tree: MerkleTree }): void;
  has(headerHash: Hex): boolean;
  get(headerHash: Hex): HeldBatch | undefined;
  /** Header hash of the held batch of `gateway` at `batchSeq` (the newest stored, should a reorg have replaced one). */
  byBatchSeq(gateway: Address, batchSeq: bigint): Hex | undefined;
  /** Header hash of the held batch of `gateway` whose range holds `callSeq`. */
  byCallSeq(gateway: Address, callSeq: bigint): Hex | undefined;
  /** The batch concluded on chain at `atSec` (finalized, rejected, dropped): pruned `retentionSec` later. */
  concluded(headerHash: Hex, atSec: number): void;
  /** Deletes batches concluded before `beforeSec`; returns how many. */
  prune(beforeSec: number): number;
  count(): number;
  close(): void;
}

export function openReceiptStore(file: string): ReceiptStore {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  // FULL: the row must survive a power cut once put() returns, because a signature follows.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
  db.exec(`CREATE TABLE IF NOT EXISTS da_batches (
      header_hash TEXT PRIMARY KEY, gateway TEXT NOT NULL, batch_seq INTEGER NOT NULL,
      first_call_seq INTEGER NOT NULL, count INTEGER NOT NULL, header TEXT NOT NULL,
      receipts TEXT NOT NULL, nodes BLOB NOT NULL, stored_at INTEGER NOT NULL, concluded_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS da_batches_seq ON da_batches(gateway, batch_seq);
    CREATE INDEX IF NOT EXISTS da_batches_call ON da_batches(gateway, first_call_seq);
    CREATE INDEX IF NOT EXISTS da_batches_concluded ON da_batches(concluded_at);`);
  const insert =
    db.prepare(`INSERT INTO da_batches(header_hash, gateway, batch_seq, first_call_seq, count, header, receipts, nodes, stored_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(header_hash) DO UPDATE SET concluded_at = NULL`);
  const exists = db.prepare("SELECT 1 FROM da_batches WHERE header_hash = ?");
  const one = db.prepare("SELECT header_hash, header, receipts, nodes FROM da_batches WHERE header_hash = ?");
  const bySeq = db.prepare(
    "SELECT header_hash FROM da_batches WHERE gateway = ? AND batch_seq = ? ORDER BY stored_at DESC LIMIT 1",
  );
  const byCall =
    db.prepare(`SELECT header_hash FROM da_batches WHERE gateway = ? AND first_call_seq <= ? AND first_call_seq + count > ?
    ORDER BY first_call_seq DESC, stored_at DESC LIMIT 1`);
  const conclude = db.prepare("UPDATE da_batches SET concluded_at = ? WHERE header_hash = ? AND concluded_at IS NULL");
  const prune = db.prepare("DELETE FROM da_batches WHERE concluded_at IS NOT NULL AND concluded_at < ?");
  const total = db.prepare("SELECT count(*) AS n FROM da_batches");
  const gw = (a: string) => a.toLowerCase();
  return {
    put({ headerHash, header, da, tree }) {
      insert.run(
        headerHash.toLowerCase(),
        gw(header.gateway),
        Number(header.batchSeq),
        Number(header.firstCallSeq),
        header.count,
        toJson(header),
        encodeReceipts(da.leaves),
        tree.nodes,
        Math.floor(Date.now() / 1000),
      );
    },
    has: (h) => exists.get(h.toLowerCase()) !== undefined,
    get(h) {
      const r = one.get(h.toLowerCase()) as
        | { header_hash: Hex; header: string; receipts: string; nodes: Uint8Array }
        | undefined;
      if (!r) return undefined;
      return {
        headerHash: r.header_hash,
        header: batchHeaderSchema.parse(JSON.parse(r.header)),
        receiptsJson: r.receipts,
        tree: treeFromNodes(new Uint8Array(r.nodes)),
      };
    },
    byBatchSeq: (g, s) => (bySeq.get(gw(g), Number(s)) as { header_hash: Hex } | undefined)?.header_hash,
    byCallSeq: (g, s) => (byCall.get(gw(g), Number(s), Number(s)) as { header_hash: Hex } | undefined)?.header_hash,
    concluded: (h, at) => void conclude.run(at, h.toLowerCase()),
    prune: (before) => Number(prune.run(before).changes),
    count: () => Number((total.get() as { n: number }).n),
    close: () => db.close(),
  };
}
