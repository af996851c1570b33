/**
 * Main-thread side of the commit worker (commitWorker.ts): sends each write, keeps it until the
 * worker reports it durable, and settles writes in order. Receipt groups in flight stay readable
 * (`inflightReceipts`) so a receipt is never invisible between being recorded and being in SQLite.
 */
import type { Worker } from "node:worker_threads";
import type { CommitReply, HostWorkerData } from "./commitWorker.js";
import { HostStoreUnavailableError } from "../errors.js";
import { setLeaves } from "../record/receiptLayout.js";
import type { HeaderWrite, NewBatch, ReceiptsWrite, TxWrite, Write } from "../store.js";
import { startWorker } from "../workerThread.js";

interface Pending {
  write: Write;
  done: () => void;
  fail: (e: Error) => void;
}

export class Committer {
  private readonly worker: Worker;
  private readonly queue: Pending[] = [];
  private failure: Error | undefined;
  private waiters: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Writes ever sent; the durable ones are those no longer queued. */
  private sent = 0;
  private exited = false;

  constructor(
    store: { file: string; synchronous: "full" | "normal"; gateway: Uint8Array; host?: HostWorkerData | undefined },
    private readonly onFailed: (e: Error) => void,
  ) {
    this.worker = startWorker("commit/commitWorker", { workerData: store });
    this.worker.on("message", (m: CommitReply) =>
      "error" in m ? this.fail(new Error(`durable write failed: ${m.error}`)) : this.committed(m.writes, m.leaves),
    );
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", () => {
      this.exited = true;
      if (this.queue.length) this.fail(new Error("commit worker exited with writes in flight"));
    });
  }

  /** Receipt groups sent but not yet durable, oldest first. */
  *inflightReceipts(): Iterable<ReceiptsWrite> {
    for (const p of this.queue) if (p.write.kind === "receipts") yield p.write;
  }

  /**
   * Hands a write to the worker (its data is copied across); `done` runs once it is durable, and by
   * then a receipt group's `data` has every leaf filled in.
   */
  send(write: Write, done: () => void, fail: (e: Error) => void): void {
    if (this.failure) return fail(this.failure);
    this.queue.push({ write, done, fail });
    this.sent++;
    // Keep the process alive while a write is outstanding: its promise must settle.
    if (this.queue.length === 1) this.worker.ref();
    this.worker.postMessage(write);
  }

  /** A batch's new header or transaction, durably (with a host store: on the host, then in the cache). */
  update(w: HeaderWrite | TxWrite): Promise<void> {
    return new Promise((resolve, reject) => this.send(w, resolve, reject));
  }

  /** Stores a sealed batch durably. */
  insertBatch(row: NewBatch): Promise<void> {
    return new Promise((resolve, reject) => this.send({ kind: "batch", row }, resolve, reject));
  }

  /**
   * Raises the reservation durably before returning: blocks the calling thread until the worker
   * reports it (host store: the host acknowledged its fsync). Only when a burst outran the range.
   */
  reserveSync(until: number, timeoutMs = 30_000): void {
    const sab = new SharedArrayBuffer(4);
    const flag = new Int32Array(sab);
    let refused: Error | undefined;
    this.send(
      { kind: "reserve", until, signal: sab },
      () => {},
      (e) => (refused = e),
    );
    if (refused) throw refused;
    const r = Atomics.wait(flag, 0, 0, timeoutMs);
    if (Atomics.load(flag, 0) !== 1)
      throw (
        this.failure ??
        new HostStoreUnavailableError(
          "host store",
          r === "timed-out" ? `reservation not acknowledged after ${timeoutMs} ms` : "reservation failed",
        )
      );
  }

  /** Resolves once every write sent so far is durable (rejects if the store failed). */
  idle(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.sent, resolve, reject }));
  }

  async close(): Promise<void> {
    await this.idle().catch(() => {});
    if (!this.exited) await this.worker.terminate();
  }

  private committed(n: number, leaves: Uint8Array[]): void {
    let k = 0;
    for (const p of this.queue.splice(0, n)) {
      if (p.write.kind === "receipts") setLeaves(p.write.data, leaves[k++]!);
      p.done();
    }
    if (this.queue.length === 0) this.worker.unref();
    if (this.waiters.length) {
      const durable = this.sent - this.queue.length;
      const ready = this.waiters.filter((w) => w.upTo <= durable);
      this.waiters = this.waiters.filter((w) => w.upTo > durable);
      for (const w of ready) w.resolve();
    }
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.queue.splice(0)) p.fail(e);
    this.worker.unref();
    for (const w of this.waiters.splice(0)) w.reject(e);
    this.onFailed(e);
  }
}
