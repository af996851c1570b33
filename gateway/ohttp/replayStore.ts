/**
 * The OHTTP replay cache on disk (node:sqlite, WAL): the `enc` of every request answered within the
 * window, so that a restarted (or crashed) gateway still refuses a request it already answered.
 *
 * Write-ahead: the gateway answers a request only once its `enc` is committed (`add` resolves), so
 * no answered request can be missing after a crash. The model runs meanwhile, so the commit only
 * delays the answer when it takes longer than the inference. Writes are group-committed: every
 * `add` of one event-loop turn goes into one transaction.
 *
 * Bounded like the in-memory guard it mirrors: each commit deletes rows older than the window and
 * rows the guard evicted when full (time ≤ its floor), and stores that floor, so the disk holds at
 * most the guard's entries and a restart still refuses what was evicted unexpired.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";

export interface ReplayStoreOptions {
  /** SQLite file. */
  file: string;
  /**
   * SQLite `synchronous`: "normal" (default) makes each commit survive the gateway process crashing
   * or being killed, at ~20 µs; "full" also survives a power loss of the host, at an fsync per
   * group commit (~4 ms on a virtio disk), which every answer then waits for.
   */
  synchronous?: "normal" | "full";
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS seen (enc BLOB PRIMARY KEY, t INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_t ON seen(t);
`;

export class ReplayStore {
  private readonly db: DatabaseSync;
  private readonly s: Record<"insert" | "prune" | "setFloor" | "getFloor" | "load", StatementSync>;
  private pending: { enc: Uint8Array; t: number }[] = [];
  private batch: Promise<void> | undefined;
  private failure: Error | undefined;
  private storedFloor = -Infinity;

  /** `prune` tells each commit what to drop: rows older than `cutoff` or at/below `floor`. */
  constructor(
    o: ReplayStoreOptions,
    private readonly prune: () => { cutoff: number; floor: number },
  ) {
    if (o.file !== ":memory:") mkdirSync(path.dirname(path.resolve(o.file)), { recursive: true });
    this.db = new DatabaseSync(o.file);
    this.db.exec(
      `PRAGMA journal_mode=WAL; PRAGMA synchronous=${o.synchronous === "full" ? "FULL" : "NORMAL"}; PRAGMA busy_timeout=5000;`,
    );
    this.db.exec(SCHEMA);
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      insert: p("INSERT OR IGNORE INTO seen(enc, t) VALUES (?, ?)"),
      prune: p("DELETE FROM seen WHERE t < ?"),
      setFloor: p(
        "INSERT INTO meta(key, value) VALUES ('floor', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      ),
      getFloor: p("SELECT value FROM meta WHERE key = 'floor'"),
      load: p("SELECT enc, t FROM seen WHERE t >= ? ORDER BY t"),
    };
  }

  /** What a restart must remember: entries not older than `cutoff` (time order) and the floor. */
  load(cutoff: number): { entries: [Uint8Array, number][]; floor: number } {
    const f = this.s.getFloor.get() as { value: string } | undefined;
    this.storedFloor = f ? Number(f.value) : -Infinity;
    const rows = this.s.load.all(cutoff) as { enc: Uint8Array; t: number }[];
    return { entries: rows.map((r) => [r.enc, r.t]), floor: this.storedFloor };
  }

  /** Queues an admitted request; resolves once it is durable, rejects if the store failed. */
  add(enc: Uint8Array, t: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.db.isOpen) return Promise.reject(new Error("replay store closed"));
    this.pending.push({ enc: enc.slice(), t });
    // setImmediate: after this turn's I/O callbacks, so concurrent requests share the transaction.
    return (this.batch ??= new Promise<void>((resolve, reject) =>
      setImmediate(() => {
        this.batch = undefined;
        try {
          this.commit();
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      }),
    ));
  }

  /** Commits what is queued and closes. */
  close(): void {
    if (!this.db.isOpen) return;
    if (!this.failure && this.pending.length) this.commit();
    this.db.close();
  }

  private commit(): void {
    const writes = this.pending;
    this.pending = [];
    if (!this.db.isOpen && writes.length === 0) return; // close() committed this batch already
    const { cutoff, floor } = this.prune();
    try {
      this.db.exec("BEGIN IMMEDIATE");
      for (const w of writes) this.s.insert.run(w.enc, w.t);
      // Requests older than the window are refused by their date; those at/below the floor by the
      // floor, which is stored in the same transaction as the deletion it justifies.
      this.s.prune.run(Number.isFinite(floor) ? Math.max(cutoff, floor + 1) : cutoff);
      if (floor > this.storedFloor) this.s.setFloor.run(String(floor));
      this.db.exec("COMMIT");
      this.storedFloor = Math.max(this.storedFloor, floor);
    } catch (e) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      // Fail closed: nothing later may be answered on a cache that did not record it.
      this.failure = new Error(`replay store write failed: ${(e as Error).message}`);
      throw this.failure;
    }
  }
}
