/**
 * SQLite persistence (node:sqlite, WAL): receipt segments (one blob per group commit), the durable
 * callSeq reservation, and sealed batches with their signed header and submission state. Everything
 * a restart needs is here; the chain decides what of it is settled.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { REC } from "./record/receiptLayout.js";
import { crashPoint } from "./crash.js";

/** A sealed batch as stored; with its header signature it is "signed" (ready to broadcast) at once. */
export interface NewBatch {
  batchSeq: number;
  firstSeq: number;
  count: number;
  header: string;
  signature?: string;
  tree: Uint8Array;
  sealedAt: number;
}

/** A group of consecutive receipts (fixed-size records), maybe with a reservation end to raise. */
export interface ReceiptsWrite {
  kind: "receipts";
  firstSeq: number;
  count: number;
  data: Uint8Array;
  reserve?: number;
}

/** A reservation raise on its own (host store: a burst outran the reservation). */
export interface ReserveWrite {
  kind: "reserve";
  until: number;
  /** Int32 flag the commit worker sets to 1 (durable) or 2 (failed): record() waits on it. */
  signal?: SharedArrayBuffer;
}

/** A batch's header and signature replaced (re-signed, or back to unsigned when `signature` is null). */
export interface HeaderWrite {
  kind: "header";
  batchSeq: number;
  header: string;
  signature: string | null;
}

/** The stored transaction of a batch (`tx`), or none and back to "signed" (`tx` null). */
export interface TxWrite {
  kind: "tx";
  batchSeq: number;
  tx: { hash: string; nonce: number; raw: string; maxFee: string; prioFee: string; sentAt: number } | null;
}

/**
 * A checkpoint (host store compaction): the store's whole state at or above `base` follows it in the
 * same frame (`row` writes and receipt groups); nothing below `base` is needed to recover.
 */
export interface CheckpointWrite {
  kind: "checkpoint";
  baseCallSeq: number;
  baseBatchSeq: number;
  reservedUntil: number;
}

/**
 * A write the commit worker applies: a group of receipts, a reservation raise, a sealed batch, a
 * batch's new header or transaction; `row` (a whole batch row) and `checkpoint` only in checkpoints.
 */
export type Write =
  | ReceiptsWrite
  | ReserveWrite
  | { kind: "batch"; row: NewBatch }
  | HeaderWrite
  | TxWrite
  | { kind: "row"; row: BatchRow }
  | CheckpointWrite;

/** Local lifecycle of a batch. "included" = in a block, not yet `confirmations` deep. */
export type BatchStatus = "sealed" | "signed" | "submitted" | "included" | "confirmed";

export interface BatchRow {
  batchSeq: number;
  firstSeq: number;
  count: number;
  header: string; // JSON, bigints as decimal strings
  signature: string | null;
  tree: Uint8Array;
  status: BatchStatus;
  txHash: string | null;
  txNonce: number | null;
  txRaw: string | null;
  maxFee: string | null;
  prioFee: string | null;
  sentAt: number | null;
  blockNumber: number | null;
  blockHash: string | null;
  sealedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS segments (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, data BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS batches (
  batch_seq INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, count INTEGER NOT NULL,
  header TEXT NOT NULL, signature TEXT, tree BLOB NOT NULL, status TEXT NOT NULL,
  tx_hash TEXT, tx_nonce INTEGER, tx_raw TEXT, max_fee TEXT, prio_fee TEXT, sent_at INTEGER,
  block_number INTEGER, block_hash TEXT, sealed_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS batches_status ON batches(status);
`;

const BATCH_COLS = `batch_seq AS batchSeq, first_seq AS firstSeq, count, header, signature, tree, status, tx_hash AS txHash,
  tx_nonce AS txNonce, tx_raw AS txRaw, max_fee AS maxFee, prio_fee AS prioFee, sent_at AS sentAt,
  block_number AS blockNumber, block_hash AS blockHash, sealed_at AS sealedAt`;

export class Store {
  readonly db: DatabaseSync;
  /**
   * When set, every durable write made on this connection (apply, raiseReservation) is also pushed
   * here: with a host store, startup recovery's writes are collected and sent to the host.
   */
  journal: Write[] | undefined;
  /**
   * With a host store: where a batch's new header or transaction goes (the commit worker appends it
   * to the host's log and applies it to this cache once the host acknowledged it). Unset, it is
   * written here at once.
   */
  sink: ((w: HeaderWrite | TxWrite) => Promise<void>) | undefined;
  private readonly s: Record<string, StatementSync>;

  /**
   * `readOnly`: a reader beside the hook's own connection (the DA worker): it opens an existing
   * store and can never write to it (node:sqlite refuses), so it changes neither schema nor WAL mode.
   */
  constructor(file: string, synchronous: "full" | "normal", opts: { readOnly?: boolean } = {}) {
    if (opts.readOnly) {
      this.db = new DatabaseSync(file, { readOnly: true });
      this.db.exec("PRAGMA busy_timeout=5000;");
    } else {
      if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.db = new DatabaseSync(file);
      this.db.exec(
        `PRAGMA journal_mode=WAL; PRAGMA synchronous=${synchronous === "full" ? "FULL" : "NORMAL"}; PRAGMA busy_timeout=5000;`,
      );
      this.db.exec(SCHEMA);
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      getMeta: p("SELECT value FROM meta WHERE key = ?"),
      setMeta: p("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
      raiseReservation:
        p(`INSERT INTO meta(key, value) VALUES ('reservedUntil', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value
                           WHERE CAST(meta.value AS INTEGER) < ?2`),
      insertSegment: p("INSERT INTO segments(first_seq, count, data) VALUES (?, ?, ?)"),
      durableEnd: p("SELECT first_seq + count AS e FROM segments ORDER BY first_seq DESC LIMIT 1"),
      segmentsFrom: p(
        "SELECT first_seq AS firstSeq, count, data FROM segments WHERE first_seq + count > ? ORDER BY first_seq",
      ),
      segmentsIn: p(
        "SELECT first_seq AS firstSeq, count, data FROM segments WHERE first_seq < ? AND first_seq + count > ? ORDER BY first_seq",
      ),
      record: p(`SELECT first_seq AS firstSeq, substr(data, (? - first_seq) * ${REC} + 1, ${REC}) AS rec FROM segments
                 WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1`),
      insertBatch: p(
        `INSERT INTO batches(batch_seq, first_seq, count, header, signature, tree, status, sealed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertRow: p(
        `INSERT INTO batches(batch_seq, first_seq, count, header, signature, tree, status, tx_hash, tx_nonce, tx_raw,
           max_fee, prio_fee, sent_at, block_number, block_hash, sealed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      dropSegmentsFrom: p("DELETE FROM segments WHERE first_seq + count > ?"),
      batch: p(`SELECT ${BATCH_COLS} FROM batches WHERE batch_seq = ?`),
      batchMeta: p(`SELECT ${BATCH_COLS.replace("tree, ", "")} FROM batches WHERE batch_seq = ?`),
      batchOf: p(
        `SELECT ${BATCH_COLS.replace("tree, ", "")} FROM batches WHERE first_seq <= ? ORDER BY batch_seq DESC LIMIT 1`,
      ),
      batchTree: p(`SELECT tree FROM batches WHERE batch_seq = ?`),
      lastBatch: p(`SELECT ${BATCH_COLS} FROM batches ORDER BY batch_seq DESC LIMIT 1`),
      unconfirmed: p(`SELECT ${BATCH_COLS} FROM batches WHERE status != 'confirmed' ORDER BY batch_seq`),
      batchesFrom: p(`SELECT ${BATCH_COLS} FROM batches WHERE batch_seq >= ? ORDER BY batch_seq`),
      firstKept: p(
        "SELECT batch_seq AS batchSeq, first_seq AS firstSeq FROM batches WHERE status != 'confirmed' OR sealed_at >= ? ORDER BY batch_seq LIMIT 1",
      ),
      lastBatchMeta: p(
        "SELECT batch_seq AS batchSeq, first_seq AS firstSeq, count FROM batches ORDER BY batch_seq DESC LIMIT 1",
      ),
      confirmedFrom: p(
        `SELECT ${BATCH_COLS} FROM batches WHERE status = 'confirmed' AND batch_seq >= ? ORDER BY batch_seq`,
      ),
      setSigned: p("UPDATE batches SET header = ?, signature = ?, status = 'signed' WHERE batch_seq = ?"),
      setUnsigned: p(
        "UPDATE batches SET header = ?, signature = NULL, status = 'sealed' WHERE batch_seq = ? AND status IN ('sealed', 'signed')",
      ),
      setTx: p(
        "UPDATE batches SET status = 'submitted', tx_hash = ?, tx_nonce = ?, tx_raw = ?, max_fee = ?, prio_fee = ?, sent_at = ? WHERE batch_seq = ?",
      ),
      setIncluded: p(
        "UPDATE batches SET status = ?, tx_hash = ?, block_number = ?, block_hash = ? WHERE batch_seq = ?",
      ),
      resetToSigned: p(
        "UPDATE batches SET status = 'signed', tx_hash = NULL, tx_nonce = NULL, tx_raw = NULL, max_fee = NULL, prio_fee = NULL, sent_at = NULL, block_number = NULL, block_hash = NULL WHERE batch_seq = ?",
      ),
      deleteBatchesFrom: p("DELETE FROM batches WHERE batch_seq >= ?"),
      countStatus: p("SELECT status, count(*) AS n FROM batches GROUP BY status"),
    };
  }

  getMeta(key: string): string | undefined {
    return (this.s.getMeta!.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.s.setMeta!.run(key, value);
  }

  /**
   * One transaction (one fsync) for a run of writes from the commit worker: receipt groups (with,
   * maybe, a higher reservation end; it only ever rises, whichever connection writes it) and sealed
   * batches.
   */
  apply(writes: readonly Write[]): void {
    this.journal?.push(...writes);
    this.db.exec("BEGIN IMMEDIATE");
    try {
      let reserve: number | undefined;
      for (const w of writes) {
        if (w.kind === "batch") this.insertBatch(w.row);
        else if (w.kind === "reserve") reserve = Math.max(reserve ?? 0, w.until);
        else if (w.kind === "receipts") {
          this.s.insertSegment!.run(w.firstSeq, w.count, w.data);
          if (w.reserve !== undefined) reserve = Math.max(reserve ?? 0, w.reserve);
        } else if (w.kind === "header" || w.kind === "tx") this.update(w);
        else if (w.kind === "row") this.insertRow(w.row);
        else {
          // What follows in the checkpoint replaces everything at or above its base.
          this.s.dropSegmentsFrom!.run(w.baseCallSeq);
          this.s.deleteBatchesFrom!.run(w.baseBatchSeq);
          this.setMeta("baseCallSeq", String(w.baseCallSeq));
          this.setMeta("baseBatchSeq", String(w.baseBatchSeq));
          reserve = Math.max(reserve ?? 0, w.reservedUntil);
        }
      }
      if (reserve !== undefined) this.s.raiseReservation!.run(String(reserve), reserve);
      crashPoint("mid-commit");
      this.db.exec("COMMIT");
    } catch (e) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Durably raises the callSeq reservation end to `until` (never lowers it). */
  raiseReservation(until: number): void {
    this.journal?.push({ kind: "reserve", until });
    this.s.raiseReservation!.run(String(until), until);
  }

  /** End (exclusive) of the durable receipts: every callSeq below it is in a segment. */
  durableEnd(): number {
    return (this.s.durableEnd!.get() as { e: number } | undefined)?.e ?? 0;
  }

  segmentsFrom(seq: number): { firstSeq: number; count: number; data: Uint8Array }[] {
    // node:sqlite rows are untyped records; the statement selects exactly these columns.
    return this.s.segmentsFrom!.all(seq) as unknown as { firstSeq: number; count: number; data: Uint8Array }[];
  }

  /** The records of [first, first+count) concatenated (every one must be durable). */
  records(first: number, count: number): Uint8Array {
    const out = new Uint8Array(count * REC);
    for (const seg of this.s.segmentsIn!.all(first + count, first) as {
      firstSeq: number;
      count: number;
      data: Uint8Array;
    }[]) {
      const from = Math.max(first, seg.firstSeq);
      const to = Math.min(first + count, seg.firstSeq + seg.count);
      out.set(seg.data.subarray((from - seg.firstSeq) * REC, (to - seg.firstSeq) * REC), (from - first) * REC);
    }
    return out;
  }

  /** The record of callSeq `seq`, when durable. */
  record(seq: number): Uint8Array | undefined {
    const row = this.s.record!.get(seq, seq) as { firstSeq: number; rec: Uint8Array } | undefined;
    return row && row.rec.length === REC ? row.rec : undefined;
  }

  /** Stores a sealed batch; with its header signature it is "signed" (ready to broadcast) at once. */
  insertBatch(b: NewBatch): void {
    this.s.insertBatch!.run(
      b.batchSeq,
      b.firstSeq,
      b.count,
      b.header,
      b.signature ?? null,
      b.tree,
      b.signature ? "signed" : "sealed",
      b.sealedAt,
    );
  }

  batch(batchSeq: number): BatchRow | undefined {
    return this.s.batch!.get(batchSeq) as BatchRow | undefined;
  }

  /** A batch row without its tree (which can be megabytes): for answers that do not need it. */
  batchMeta(batchSeq: number): Omit<BatchRow, "tree"> | undefined {
    return this.s.batchMeta!.get(batchSeq) as Omit<BatchRow, "tree"> | undefined;
  }

  /**
   * The batch that holds callSeq `seq`, if sealed, without its tree: this runs on every public
   * receipt lookup, and the tree (64 bytes a leaf) is read only on a tree-cache miss ({@link batchTree}).
   */
  batchOf(seq: number): Omit<BatchRow, "tree"> | undefined {
    const b = this.s.batchOf!.get(seq) as Omit<BatchRow, "tree"> | undefined;
    return b && seq < b.firstSeq + b.count ? b : undefined;
  }

  /** A sealed batch's Merkle tree nodes. */
  batchTree(batchSeq: number): Uint8Array | undefined {
    return (this.s.batchTree!.get(batchSeq) as { tree: Uint8Array } | undefined)?.tree;
  }

  lastBatch(): BatchRow | undefined {
    return this.s.lastBatch!.get() as BatchRow | undefined;
  }

  unconfirmed(): BatchRow[] {
    return this.s.unconfirmed!.all() as unknown as BatchRow[];
  }

  confirmedFrom(batchSeq: number): BatchRow[] {
    return this.s.confirmedFrom!.all(batchSeq) as unknown as BatchRow[];
  }

  /** Stores a batch's new header and signature; resolves once durable (with a host store: on the host). */
  setSigned(batchSeq: number, header: string, signature: string): Promise<void> {
    return this.write({ kind: "header", batchSeq, header, signature });
  }

  /** Back to sealed-unsigned with a re-priced header (a fee cap refused the new fee; never after broadcast). */
  setUnsigned(batchSeq: number, header: string): Promise<void> {
    return this.write({ kind: "header", batchSeq, header, signature: null });
  }

  /** Stores the transaction that carries a batch, before it is broadcast. */
  setTx(
    batchSeq: number,
    tx: { hash: string; nonce: number; raw: string; maxFee: bigint; prioFee: bigint; sentAt: number },
  ): Promise<void> {
    const { maxFee, prioFee, ...rest } = tx;
    return this.write({ kind: "tx", batchSeq, tx: { ...rest, maxFee: String(maxFee), prioFee: String(prioFee) } });
  }

  /** Back to "signed", its transaction forgotten (a reorg, a taken nonce, a reverted send). */
  resetToSigned(batchSeq: number): Promise<void> {
    return this.write({ kind: "tx", batchSeq, tx: null });
  }

  private write(w: HeaderWrite | TxWrite): Promise<void> {
    if (this.sink) return this.sink(w);
    this.journal?.push(w);
    this.update(w);
    return Promise.resolve();
  }

  private update(w: HeaderWrite | TxWrite): void {
    if (w.kind === "header") {
      if (w.signature === null) this.s.setUnsigned!.run(w.header, w.batchSeq);
      else this.s.setSigned!.run(w.header, w.signature, w.batchSeq);
    } else if (w.tx === null) this.s.resetToSigned!.run(w.batchSeq);
    else {
      const t = w.tx;
      this.s.setTx!.run(t.hash, t.nonce, t.raw, t.maxFee, t.prioFee, t.sentAt, w.batchSeq);
    }
  }

  /** A whole batch row as stored (a checkpoint's copy). */
  insertRow(b: BatchRow): void {
    this.s.insertRow!.run(
      b.batchSeq,
      b.firstSeq,
      b.count,
      b.header,
      b.signature,
      b.tree,
      b.status,
      b.txHash,
      b.txNonce,
      b.txRaw,
      b.maxFee,
      b.prioFee,
      b.sentAt,
      b.blockNumber,
      b.blockHash,
      b.sealedAt,
    );
  }

  /**
   * Where a checkpoint of this store would start (see {@link checkpoint}); cheap, reads no tree.
   * Batches sealed at or after `keepSealedSince` (ms) stay above the base even when confirmed: their
   * receipts are still served (validators fetch a batch at its daURI to attest it).
   */
  checkpointBase(keepSealedSince = Number.MAX_SAFE_INTEGER): { baseBatchSeq: number; baseCallSeq: number } {
    const first = this.s.firstKept!.get(keepSealedSince) as { batchSeq: number; firstSeq: number } | undefined;
    if (first) return { baseBatchSeq: first.batchSeq, baseCallSeq: first.firstSeq };
    const last = this.s.lastBatchMeta!.get() as { batchSeq: number; firstSeq: number; count: number } | undefined;
    if (last) return { baseBatchSeq: last.batchSeq + 1, baseCallSeq: last.firstSeq + last.count };
    return {
      baseBatchSeq: Number(this.getMeta("baseBatchSeq") ?? 0),
      baseCallSeq: Number(this.getMeta("baseCallSeq") ?? 0),
    };
  }

  /**
   * This store as a checkpoint: every batch from the first one not confirmed on-chain (all below it
   * are, `confirmations` deep) and every receipt group from its first callSeq, after a `checkpoint`
   * write naming that base. Replayed on an empty store it gives back everything at or above the
   * base; nothing below it is needed to recover (the chain holds it).
   */
  checkpoint(base = this.checkpointBase()): Write[] {
    const { baseBatchSeq, baseCallSeq } = base;
    const out: Write[] = [
      { kind: "checkpoint", baseCallSeq, baseBatchSeq, reservedUntil: Number(this.getMeta("reservedUntil") ?? 0) },
    ];
    for (const b of this.s.batchesFrom!.all(baseBatchSeq) as unknown as BatchRow[]) out.push({ kind: "row", row: b });
    for (const g of this.segmentsFrom(baseCallSeq)) out.push({ kind: "receipts", ...g });
    return out;
  }

  setIncluded(
    batchSeq: number,
    status: "included" | "confirmed",
    txHash: string,
    blockNumber: number,
    blockHash: string,
  ): void {
    this.s.setIncluded!.run(status, txHash, blockNumber, blockHash, batchSeq);
  }

  deleteBatchesFrom(batchSeq: number): void {
    this.s.deleteBatchesFrom!.run(batchSeq);
  }

  statusCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.s.countStatus!.all() as { status: string; n: number }[]) out[r.status] = r.n;
    return out;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
