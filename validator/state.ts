/**
 * The validator's chain state (`state.db`): the log cursor and the batches it tracks. Everything
 * here can be rebuilt from the chain, so the file may be deleted to resync from the start block;
 * what was signed lives in the separate signing record.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Hex } from "viem";
import { batchHeaderSchema, type BatchHeader } from "../sdk/types.js";

/**
 * Local lifecycle of a tracked batch: `open` until the chain says Attested (`attested`, kept for
 * finalize) or Finalized/Rejected (`done`); `dropped` when a reorg removed it.
 */
export type TrackedStatus = "open" | "attested" | "done" | "dropped";

export interface TrackedBatch {
  headerHash: Hex;
  /** `header.daURI` is a lossy decoding when `daURIRaw` is set. */
  header: BatchHeader;
  /** The daURI's bytes, when they are not valid UTF-8 (rawDaUri.ts). */
  daURIRaw?: Hex | undefined;
  blockNumber: bigint;
  status: TrackedStatus;
}

const toJson = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

export interface StateStore {
  cursor(): bigint | undefined;
  setCursor(block: bigint): void;
  /** Hash of the chain head at the last poll (a same-height reorg changes it, not the number). */
  headHash(): Hex | undefined;
  setHeadHash(hash: Hex): void;
  /**
   * Adds a batch seen in a log (or revives a dropped one); false when it was already tracked (its
   * block is then updated, should a reorg have re-included it at another height).
   */
  track(b: { headerHash: Hex; header: BatchHeader; blockNumber: bigint; daURIRaw?: Hex | undefined }): boolean;
  setStatus(headerHash: Hex, status: TrackedStatus): void;
  byStatus(status: TrackedStatus): TrackedBatch[];
  get(headerHash: Hex): TrackedBatch | undefined;
  /**
   * Records that the DA of `headerHash` is being fetched, committed before the fetch starts, so
   * that a process killed by what it fetched finds the mark after its restart.
   */
  daFetchBegin(headerHash: Hex): void;
  /** The fetch returned (whatever its outcome): the mark goes, unless the batch is parked. */
  daFetchEnd(headerHash: Hex): void;
  /** True when a fetch of `headerHash` was in progress when a previous process died. */
  daFetchParked(headerHash: Hex): boolean;
  /** Header hashes parked when this store was opened (fetches a dead process left marked). */
  readonly parkedAtOpen: Hex[];
  close(): void;
}

export function openStateStore(file: string): StateStore {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS batches (
      header_hash TEXT PRIMARY KEY, gateway TEXT NOT NULL, batch_seq INTEGER NOT NULL, header TEXT NOT NULL,
      block_number INTEGER NOT NULL, status TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS batches_status ON batches(status, gateway, batch_seq);
    CREATE TABLE IF NOT EXISTS da_fetches (header_hash TEXT PRIMARY KEY, started_at INTEGER NOT NULL, parked INTEGER NOT NULL DEFAULT 0);`);
  const columns = (db.prepare("PRAGMA table_info(batches)").all() as { name: string }[]).map((c) => c.name);
  if (!columns.includes("da_uri_raw")) db.exec("ALTER TABLE batches ADD COLUMN da_uri_raw TEXT");
  // Any fetch still marked was cut short by the death of the process that made the mark: park it.
  const parkedAtOpen = (
    db.prepare("UPDATE da_fetches SET parked = 1 WHERE parked = 0 RETURNING header_hash").all() as {
      header_hash: Hex;
    }[]
  ).map((r) => r.header_hash);
  const rowToBatch = (r: {
    header_hash: string;
    header: string;
    block_number: number;
    status: string;
    da_uri_raw: string | null;
  }): TrackedBatch => ({
    headerHash: r.header_hash as Hex,
    header: batchHeaderSchema.parse(JSON.parse(r.header)),
    ...(r.da_uri_raw ? { daURIRaw: r.da_uri_raw as Hex } : {}),
    blockNumber: BigInt(r.block_number),
    status: r.status as TrackedStatus,
  });
  const getCursor = db.prepare("SELECT value FROM meta WHERE key = 'cursor'");
  const putCursor = db.prepare(
    "INSERT INTO meta(key, value) VALUES ('cursor', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  );
  const getHeadHash = db.prepare("SELECT value FROM meta WHERE key = 'head_hash'");
  const putHeadHash = db.prepare(
    "INSERT INTO meta(key, value) VALUES ('head_hash', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  );
  // A batch a reorg dropped may be re-included (same header hash): it is tracked again then.
  const insert =
    db.prepare(`INSERT INTO batches(header_hash, gateway, batch_seq, header, block_number, status, da_uri_raw) VALUES (?, ?, ?, ?, ?, 'open', ?)
    ON CONFLICT(header_hash) DO UPDATE SET status = 'open', block_number = excluded.block_number WHERE batches.status = 'dropped'`);
  // A reorg can re-include the same header at another height: the fee schedule is read at that block.
  const moved = db.prepare("UPDATE batches SET block_number = ? WHERE header_hash = ? AND block_number <> ?");
  const update = db.prepare("UPDATE batches SET status = ? WHERE header_hash = ?");
  const list = db.prepare("SELECT * FROM batches WHERE status = ? ORDER BY gateway, batch_seq");
  const one = db.prepare("SELECT * FROM batches WHERE header_hash = ?");
  const fetchBegin = db.prepare(
    "INSERT INTO da_fetches(header_hash, started_at) VALUES (?, ?) ON CONFLICT(header_hash) DO UPDATE SET started_at = excluded.started_at",
  );
  const fetchEnd = db.prepare("DELETE FROM da_fetches WHERE header_hash = ? AND parked = 0");
  const fetchParked = db.prepare("SELECT 1 FROM da_fetches WHERE header_hash = ? AND parked = 1");
  return {
    cursor() {
      const r = getCursor.get() as { value: string } | undefined;
      return r ? BigInt(r.value) : undefined;
    },
    setCursor: (block) => void putCursor.run(block.toString()),
    headHash: () => (getHeadHash.get() as { value: Hex } | undefined)?.value,
    setHeadHash: (hash) => void putHeadHash.run(hash),
    track(b) {
      if (
        insert.run(
          b.headerHash.toLowerCase(),
          b.header.gateway,
          Number(b.header.batchSeq),
          toJson(b.header),
          Number(b.blockNumber),
          b.daURIRaw ?? null,
        ).changes > 0
      )
        return true;
      moved.run(Number(b.blockNumber), b.headerHash.toLowerCase(), Number(b.blockNumber));
      return false;
    },
    setStatus: (h, s) => void update.run(s, h.toLowerCase()),
    byStatus: (s) => (list.all(s) as unknown as Parameters<typeof rowToBatch>[0][]).map(rowToBatch),
    get(h) {
      const r = one.get(h.toLowerCase()) as Parameters<typeof rowToBatch>[0] | undefined; // node:sqlite rows are untyped
      return r ? rowToBatch(r) : undefined;
    },
    daFetchBegin: (h) => void fetchBegin.run(h.toLowerCase(), Date.now()),
    daFetchEnd: (h) => void fetchEnd.run(h.toLowerCase()),
    daFetchParked: (h) => fetchParked.get(h.toLowerCase()) !== undefined,
    parkedAtOpen,
    close: () => db.close(),
  };
}
