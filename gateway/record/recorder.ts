/**
 * The hot path. `record()` validates a call, takes the next callSeq from a range already reserved
 * durably, writes the receipt into a preallocated buffer and returns the current group's shared
 * `durable` promise. A group commit hands the whole group to the commit worker, which computes its
 * Merkle leaves and writes it as one SQLite row: the gateway's event loop neither hashes nor waits
 * for fsync (`digest` is computed only if the caller reads it). Group commits are at least
 * `commitIntervalMs` apart: each fsync's disk interrupts and journal work land on the machine's
 * cores, and back to back (thousands a second on a fast disk) they were most of record()'s tail.
 */
import { hexToBytes, type Address, type Hex } from "viem";
import { bytesToHex32, writeHex } from "../../sdk/hashing.js";
import { HookClosedError, InvalidCallError } from "../errors.js";
import {
  REC,
  OFF_INPUT,
  OFF_KIND,
  OFF_LEAF,
  OFF_MODEL,
  OFF_OUTPUT,
  OFF_REQUEST,
  OFF_RESPONSE,
  OFF_SERVED_HI,
  OFF_SERVED_LO,
  KIND_SERVED,
  fillLeaves,
} from "./receiptLayout.js";
import type { ReceiptsWrite, Store } from "../store.js";
import type { Committer } from "../commit/committer.js";

/** What the gateway passes after serving a call. Hashes as bytes32 hex or 32 raw bytes. */
export interface Call {
  modelId: Hex | Uint8Array;
  requestHash: Hex | Uint8Array;
  responseHash: Hex | Uint8Array;
  inputTokens: number;
  outputTokens: number;
  /** Unix ms; defaults to now. */
  servedAt?: number;
}

export interface Recorded {
  readonly callSeq: bigint;
  /**
   * The receipt's Merkle leaf (`receiptLeaf`), computed when first read: a getter, so spreading or
   * JSON-serializing the result leaves it out.
   */
  readonly digest: Hex;
  /** Resolves once the receipt survives a crash (shared by every call of the same group commit). */
  readonly durable: Promise<void>;
}

/** What `record()` returns: no hashing until someone asks for the digest. */
class RecordedCall implements Recorded {
  private leaf: Hex | undefined;
  constructor(
    readonly callSeq: bigint,
    readonly durable: Promise<void>,
    private readonly recorder: Recorder,
  ) {}

  get digest(): Hex {
    return (this.leaf ??= this.recorder.leafOf(Number(this.callSeq)));
  }
}

/** A committed group: receipts [firstSeq, firstSeq+count) as fixed-size records. */
export interface Segment {
  firstSeq: number;
  count: number;
  data: Uint8Array;
  committedAt: number;
}

const CAPACITY = 16_384; // records per in-memory group before an inline commit
const UINT32 = 0xffff_ffff;

export class Recorder {
  private buf = new Uint8Array(CAPACITY * REC);
  private view = new DataView(this.buf.buffer);
  private count = 0;
  private firstSeq: number;
  private nextSeq: number;
  private reservedUntil: number;
  private group: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  private closed = false;
  private failure: unknown;
  private inflightCalls = 0;
  private reserveRequested = 0;
  private lastCommitAt = -Infinity;
  private commitTimer: NodeJS.Timeout | undefined;
  recordedTotal = 0;

  // Scratch for validation: nothing is allocated per call except the returned values.
  private readonly model = new Uint8Array(32);
  private readonly request = new Uint8Array(32);
  private readonly response = new Uint8Array(32);
  /** The gateway as raw bytes, for leaves computed on this thread (`leafOf`). */
  private readonly gateway: Uint8Array;

  constructor(
    private readonly store: Store,
    gateway: Address,
    start: { nextSeq: number; reservedUntil: number },
    private readonly opts: {
      reserveSize: number;
      commitIntervalMs: number;
      /** Makes a reservation durable synchronously (host store); default: the local store. */
      reserve?: ((until: number) => void) | undefined;
    },
    private readonly onDurable: (seg: Segment) => void,
    private readonly committer: Committer,
  ) {
    this.nextSeq = start.nextSeq;
    this.firstSeq = start.nextSeq;
    this.reservedUntil = start.reservedUntil;
    this.gateway = hexToBytes(gateway);
  }

  /** The store failed: stop handing out callSeqs (they could never be made durable). */
  fail(e: unknown): void {
    this.failure = e;
    this.closed = true;
    this.group?.reject(e); // a group held back behind the failed write will never be written
    this.group = undefined;
  }

  /** Next callSeq that would be handed out. */
  get next(): number {
    return this.nextSeq;
  }

  /** Recorded but not yet durable (in memory or in the commit worker). */
  get pendingCount(): number {
    return this.count + this.inflightCalls;
  }

  private bytes32(v: unknown, out: Uint8Array, field: string): void {
    if (typeof v === "string") {
      try {
        writeHex(out, 0, v, 32, field);
      } catch (e) {
        throw new InvalidCallError(field, (e as Error).message.replace(`${field}: `, ""));
      }
    } else if (v instanceof Uint8Array && v.length === 32) out.set(v);
    else throw new InvalidCallError(field, "expected a bytes32 hex string or 32 bytes");
  }

  record(call: Call): Recorded {
    if (this.closed) throw this.failure ?? new HookClosedError();
    if (typeof call !== "object" || call === null) throw new InvalidCallError("call", "expected an object");
    this.bytes32(call.modelId, this.model, "modelId");
    this.bytes32(call.requestHash, this.request, "requestHash");
    this.bytes32(call.responseHash, this.response, "responseHash");
    const inT = call.inputTokens;
    const outT = call.outputTokens;
    if (typeof inT !== "number" || !Number.isInteger(inT) || inT < 0 || inT > UINT32)
      throw new InvalidCallError("inputTokens", `${String(inT)} is not a uint32`);
    if (typeof outT !== "number" || !Number.isInteger(outT) || outT < 0 || outT > UINT32)
      throw new InvalidCallError("outputTokens", `${String(outT)} is not a uint32`);
    const servedAt = call.servedAt ?? Date.now();
    if (typeof servedAt !== "number" || !Number.isSafeInteger(servedAt) || servedAt < 0)
      throw new InvalidCallError("servedAt", `${String(servedAt)} is not a unix-ms safe integer`);

    // Valid: from here on nothing throws for bad input, so a callSeq is only taken for a receipt.
    if (this.count === CAPACITY) this.commit();
    if (this.nextSeq >= this.reservedUntil) this.reserveNow(this.nextSeq + this.opts.reserveSize);
    const seq = this.nextSeq++;
    if (this.count === 0) this.firstSeq = seq;
    const at = this.count++ * REC;
    const buf = this.buf;
    buf.set(this.model, at + OFF_MODEL);
    buf.set(this.request, at + OFF_REQUEST);
    buf.set(this.response, at + OFF_RESPONSE);
    const view = this.view;
    view.setUint32(at + OFF_INPUT, inT);
    view.setUint32(at + OFF_OUTPUT, outT);
    view.setUint32(at + OFF_SERVED_HI, Math.floor(servedAt / 0x1_0000_0000));
    view.setUint32(at + OFF_SERVED_LO, servedAt >>> 0);
    buf[at + OFF_KIND] = KIND_SERVED;
    this.recordedTotal++;
    return new RecordedCall(BigInt(seq), this.groupPromise(), this);
  }

  private groupPromise(): Promise<void> {
    if (this.group) return this.group.promise;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {}); // callers may ignore `durable`; a failed commit is also surfaced by record()
    this.group = { promise, resolve, reject };
    setImmediate(() => this.commit());
    return promise;
  }

  /**
   * Writes `reservedUntil` durably, here and now, before any callSeq below it is handed out. Only
   * when a burst outran the reservation the commit worker raises ahead of time (see `commit`).
   */
  private reserveNow(until: number): void {
    if (this.opts.reserve) this.opts.reserve(until);
    else this.store.raiseReservation(until);
    this.reservedUntil = until;
  }

  /**
   * Hands everything recorded so far to the commit worker (safe to call at any time). While a group
   * is still being written, or the last one went less than `commitIntervalMs` ago, the next one
   * keeps filling: one message and one fsync per write, whatever the call rate (`force` and a full
   * buffer send at once).
   */
  commit(force = false): void {
    const n = this.count;
    if (n === 0) {
      const group = this.group;
      this.group = undefined;
      group?.resolve();
      return;
    }
    if (!force && n < CAPACITY) {
      if (this.inflightCalls > 0) return; // `committed` sends it
      const wait = this.lastCommitAt + this.opts.commitIntervalMs - performance.now();
      if (wait > 0) {
        this.commitTimer ??= setTimeout(() => {
          this.commitTimer = undefined;
          this.commit();
        }, wait);
        return;
      }
    }
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.lastCommitAt = performance.now();
    const group = this.group;
    this.group = undefined;
    const data = this.buf.slice(0, n * REC);
    const write: ReceiptsWrite = { kind: "receipts", firstSeq: this.firstSeq, count: n, data };
    // Raise the reservation with half a range of headroom left, so record() rarely reserves inline.
    if (Math.max(this.reservedUntil, this.reserveRequested) - this.nextSeq < this.opts.reserveSize / 2) {
      write.reserve = this.reserveRequested = this.nextSeq + this.opts.reserveSize;
    }
    this.count = 0;
    this.inflightCalls += n;
    this.committer.send(
      write,
      () => this.committed(write, group),
      (e) => group?.reject(e),
    );
  }

  private committed(w: ReceiptsWrite, group: Recorder["group"]): void {
    this.inflightCalls -= w.count;
    if (w.reserve !== undefined && w.reserve > this.reservedUntil) this.reservedUntil = w.reserve;
    this.onDurable({ firstSeq: w.firstSeq, count: w.count, data: w.data, committedAt: Date.now() });
    group?.resolve();
    if (this.inflightCalls === 0 && this.count > 0) this.commit(); // the group that filled meanwhile
  }

  /** Commits what is recorded and resolves once everything recorded so far is durable. */
  flush(): Promise<void> {
    this.commit(true);
    return this.committer.idle();
  }

  /** A copy of a recorded but not yet durable record, its leaf filled in (for the HTTP API). */
  pendingRecord(seq: number): Uint8Array | undefined {
    let rec: Uint8Array | undefined;
    if (this.count > 0 && seq >= this.firstSeq && seq < this.firstSeq + this.count) {
      const at = (seq - this.firstSeq) * REC;
      rec = this.buf.slice(at, at + REC);
    } else {
      for (const g of this.committer.inflightReceipts()) {
        if (seq >= g.firstSeq && seq < g.firstSeq + g.count) {
          rec = g.data.slice((seq - g.firstSeq) * REC, (seq - g.firstSeq + 1) * REC);
          break;
        }
      }
    }
    if (rec) fillLeaves(rec, seq, 1, this.gateway);
    return rec;
  }

  /** The Merkle leaf of a callSeq this recorder handed out (pending or durable). */
  leafOf(seq: number): Hex {
    const rec = this.pendingRecord(seq) ?? this.store.record(seq);
    if (!rec) throw new Error(`callSeq ${seq} is neither pending nor stored`);
    return bytesToHex32(rec, OFF_LEAF);
  }

  /** Commits what is left, waits for it to be durable and stops the commit worker. */
  async close(): Promise<void> {
    this.commit(true);
    this.closed = true;
    await this.committer.idle();
  }
}
