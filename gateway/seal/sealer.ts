/**
 * Batching: takes durable receipts in callSeq order, seals a batch when `maxCalls` are waiting or
 * the oldest has waited `maxAgeMs`, builds tree + usage on the worker, prices it with the on-chain
 * schedule, signs the header (EIP-712, settlement domain) and stores batch + signature in one
 * transaction — before the submitter may broadcast it.
 */
import type { Address, Hex } from "viem";
import type { Logger } from "pino";
import { batchHeaderSchema, type BatchHeader } from "../../sdk/types.js";
import { computeFee } from "../../sdk/fees.js";
import { REC } from "../record/receiptLayout.js";
import type { Segment } from "../record/recorder.js";
import type { Store, BatchRow } from "../store.js";
import type { Committer } from "../commit/committer.js";
import type { TreeBuilder } from "./treeBuilder.js";
import type { FeeRates } from "../chain.js";
import type { HookMetrics } from "../metrics.js";
import { crashPoint } from "../crash.js";
import { toJson } from "../json.js";

/** Sealed batches being written at once. */
const MAX_STORING = 4;
/** Trees built ahead of signing. */
const MAX_AHEAD = 4;

/** A batch's records on their way through the tree worker. */
interface Build {
  n: number;
  firstSeq: number;
  built: ReturnType<TreeBuilder["seal"]>;
}

export function parseHeader(json: string): BatchHeader {
  return batchHeaderSchema.parse(JSON.parse(json));
}

export interface SealerDeps {
  store: Store;
  /** Durable writes off the event loop (the sealed batch goes through it). */
  committer: Committer;
  trees: TreeBuilder;
  rates: FeeRates;
  metrics: HookMetrics;
  log: Logger;
  /** The enclave's signature over a header (on the seal worker when the hook holds the key). */
  signHeader: (header: BatchHeader) => Promise<Hex>;
  gateway: Address;
  daBaseUrl: string;
  maxCalls: number;
  maxAgeMs: number;
  onSealed: () => void;
  /** Fee caps (OPG wei); mutable at run time through {@link Sealer.setFeeCaps}. */
  feeCaps?: FeeCaps;
}

/** Above either cap the hook refuses to sign a header. */
export interface FeeCaps {
  /** Most OPG wei per *served* call (void leaves are free on-chain and are not counted). */
  maxFeePerCall?: bigint | undefined;
  /** Most OPG wei per batch. */
  maxFeePerBatch?: bigint | undefined;
}

/** A batch the hook refused to sign: its fee at the current rates is above a cap. */
export interface HeldBatch {
  batchSeq: number;
  fee: bigint;
  servedCalls: number;
  reason: string;
  since: number;
}

/** Why `header` may not be signed under `caps`, or undefined when it may. */
export function feeCapViolation(header: Pick<BatchHeader, "fee" | "usage">, caps: FeeCaps): string | undefined {
  const served = header.usage.reduce((n, u) => n + u.calls, 0);
  if (caps.maxFeePerBatch !== undefined && header.fee > caps.maxFeePerBatch) {
    return `fee ${header.fee} > maxFeePerBatch ${caps.maxFeePerBatch}`;
  }
  if (caps.maxFeePerCall !== undefined && header.fee > caps.maxFeePerCall * BigInt(served)) {
    return `fee ${header.fee} for ${served} served calls > maxFeePerCall ${caps.maxFeePerCall} per served call`;
  }
  return undefined;
}

export class Sealer {
  private readonly queue: Segment[] = [];
  private queueHead = 0; // records of queue[0] already sealed
  queued = 0;
  private nextBatchSeq: number;
  private sealing: Promise<void> | undefined;
  /** Sealed batches on their way to disk, oldest first (see `sealOne`). */
  private storing: Promise<void>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private caps: FeeCaps;
  /** Batches sealed but not signed because of a fee cap, by batchSeq. */
  readonly held = new Map<number, HeldBatch>();
  /** Fee of the last header priced (for the deposit's "batches left"). */
  lastFee: bigint | undefined;

  constructor(
    private readonly d: SealerDeps,
    start: { nextBatchSeq: number },
  ) {
    this.nextBatchSeq = start.nextBatchSeq;
    this.caps = { ...d.feeCaps };
  }

  get feeCaps(): Readonly<FeeCaps> {
    return this.caps;
  }

  /** Changes the fee caps; held batches are re-checked at the submitter's next step. */
  setFeeCaps(caps: FeeCaps): void {
    this.caps = { ...caps };
  }

  /**
   * Whether `header` may be signed. Over a cap: the batch is held (logged once per fee, counted),
   * and the caller leaves it sealed and unsigned.
   */
  private mayYetSign(batchSeq: number, header: BatchHeader): boolean {
    this.lastFee = header.fee;
    const reason = feeCapViolation(header, this.caps);
    const prev = this.held.get(batchSeq);
    if (!reason) {
      if (prev) {
        this.held.delete(batchSeq);
        this.d.log.info({ batchSeq, fee: String(header.fee) }, "fee back within the caps: signing held batch");
      }
      return true;
    }
    if (!prev || prev.fee !== header.fee || prev.reason !== reason) {
      const servedCalls = header.usage.reduce((n, u) => n + u.calls, 0);
      this.held.set(batchSeq, { batchSeq, fee: header.fee, servedCalls, reason, since: prev?.since ?? Date.now() });
      this.d.metrics.feeCapRefusals.inc();
      this.d.log.error(
        {
          batchSeq,
          fee: String(header.fee),
          servedCalls,
          maxFeePerCall: this.caps.maxFeePerCall?.toString(),
          maxFeePerBatch: this.caps.maxFeePerBatch?.toString(),
        },
        `refusing to sign batch ${batchSeq}: ${reason} (the on-chain fee rate is above this gateway's cap; it stays sealed until the rate comes down or the cap is raised)`,
      );
    }
    return false;
  }

  /**
   * A signed, never broadcast batch under caps lowered since it was signed: false (and back to
   * sealed-unsigned, held) when its fee is now above a cap.
   */
  async mayStillSend(b: BatchRow): Promise<boolean> {
    const header = parseHeader(b.header);
    if (this.mayYetSign(b.batchSeq, header)) return true;
    await this.d.store.setUnsigned(b.batchSeq, b.header);
    return false;
  }

  private rates(modelIds: readonly Hex[]) {
    return this.d.rates.get(modelIds);
  }

  /** Sealing or storing a sealed batch: its records have left the queue but are not in the store yet. */
  get busy(): boolean {
    return this.sealing !== undefined || this.storing.length > 0;
  }

  /** Called by the recorder after each group commit. */
  push(seg: Segment): void {
    this.queue.push(seg);
    this.queued += seg.count;
    if (this.queued >= this.d.maxCalls) this.kick();
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), Math.max(5, Math.min(250, Math.floor(this.d.maxAgeMs / 4))));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private due(force: boolean): boolean {
    if (this.queued === 0) return false;
    return force || this.queued >= this.d.maxCalls || Date.now() - this.queue[0]!.committedAt >= this.d.maxAgeMs;
  }

  /** Seals every due batch; `force` seals whatever is queued (close/flush). */
  kick(force = false): Promise<void> {
    if (this.sealing) return this.sealing;
    if (!this.due(force)) return Promise.resolve();
    this.sealing = (async () => {
      try {
        while (this.due(force)) {
          // Up to MAX_AHEAD trees are built at once (one worker round trip for all of them, so a
          // burst does not outrun sealing one event-loop turn per batch); each is then priced,
          // signed and stored in batchSeq order.
          const builds: Build[] = [];
          for (let taken = 0; builds.length < MAX_AHEAD && this.queued > taken; ) {
            const n = Math.min(this.queued - taken, this.d.maxCalls);
            if (builds.length > 0 && n < this.d.maxCalls && !force) break; // only the first may be short (age)
            const { firstSeq, records } = this.peek(n, taken);
            const built = this.d.trees.seal(records);
            built.catch(() => {}); // awaited below, in order
            builds.push({ n, firstSeq, built });
            taken += n;
          }
          for (const b of builds) {
            if (this.storing.length >= MAX_STORING) await this.storing[0]; // each holds its tree until stored
            await this.sealOne(b);
          }
          this.failures = 0;
        }
        await Promise.all(this.storing);
      } catch (e) {
        this.failures++;
        this.d.log.warn({ err: (e as Error).message, failures: this.failures }, "sealing failed; will retry");
      } finally {
        this.sealing = undefined;
      }
    })();
    return this.sealing;
  }

  /** Copies `n` queued records, after the first `from` (without consuming them). */
  private peek(n: number, from: number): { firstSeq: number; records: Uint8Array } {
    const records = new Uint8Array(n * REC);
    const firstSeq = this.queue[0]!.firstSeq + this.queueHead + from;
    let skip = this.queueHead + from;
    let filled = 0;
    for (let i = 0; filled < n; i++) {
      const seg = this.queue[i]!;
      if (skip >= seg.count) {
        skip -= seg.count;
        continue;
      }
      const take = Math.min(seg.count - skip, n - filled);
      records.set(seg.data.subarray(skip * REC, (skip + take) * REC), filled * REC);
      filled += take;
      skip = 0;
    }
    return { firstSeq, records };
  }

  private consume(n: number): void {
    this.queued -= n;
    while (n > 0) {
      const seg = this.queue[0]!;
      const left = seg.count - this.queueHead;
      if (n >= left) {
        n -= left;
        this.queue.shift();
        this.queueHead = 0;
      } else {
        this.queueHead += n;
        n = 0;
      }
    }
  }

  private async sealOne({ n, firstSeq, built: building }: Build): Promise<void> {
    const d = this.d;
    const built = await building;
    d.metrics.merkleMs.observe(built.ms);
    const s = built.summary!;
    const usage = s.usage.map((u) => ({
      modelId: u.modelId as Hex,
      calls: u.calls,
      inputTokens: BigInt(u.inputTokens),
      outputTokens: BigInt(u.outputTokens),
    }));
    const { rate, perModel } = await this.rates(usage.map((u) => u.modelId));
    const batchSeq = this.nextBatchSeq;
    const header: BatchHeader = {
      gateway: d.gateway,
      batchSeq: BigInt(batchSeq),
      firstCallSeq: BigInt(firstSeq),
      count: n,
      root: built.tree.root,
      usage,
      fee: computeFee(usage, rate, perModel),
      firstServedAt: BigInt(s.firstServedAt),
      lastServedAt: BigInt(s.lastServedAt),
      daURI: `${d.daBaseUrl}/batches/${batchSeq}`,
    };
    crashPoint("after-seal"); // sealed in memory only: a restart seals the same durable receipts again
    // Over a fee cap: stored sealed but unsigned; the submitter re-prices and re-checks it each step.
    const signature = this.mayYetSign(batchSeq, header) ? await d.signHeader(header) : undefined;
    // One transaction (one fsync) stores the batch with its signature, before anything is broadcast.
    // The next batch is sealed while this one is written: the commit worker keeps writes in order,
    // and a failed write stops the whole hook (a restart seals these receipts again).
    const stored = d.committer.insertBatch({
      batchSeq,
      firstSeq,
      count: n,
      header: toJson(header),
      ...(signature ? { signature } : {}),
      tree: built.tree.nodes,
      sealedAt: Date.now(),
    });
    this.consume(n);
    this.nextBatchSeq++;
    const done = stored.then(() => {
      crashPoint("after-sign");
      d.metrics.sealed.inc();
      d.metrics.sealedCalls.inc(n);
      d.log.debug({ batchSeq, firstSeq, count: n, root: header.root, fee: String(header.fee) }, "batch sealed");
      d.onSealed();
    });
    this.storing.push(done);
    // A failed write is surfaced through the commit worker's failure (the hook stops).
    const settled = () => void this.storing.splice(this.storing.indexOf(done), 1);
    done.then(settled, settled);
  }

  /** Signs and stores the header of batch `batchSeq` (also used after a restart and a repricing). */
  async sign(batchSeq: number, header: BatchHeader): Promise<void> {
    await this.d.store.setSigned(batchSeq, toJson(header), await this.d.signHeader(header));
    crashPoint("after-sign");
  }

  /**
   * A sealed, unsigned batch (held by a fee cap, or a crash between sealing and signing): priced
   * with the current rates (cached, refreshed every `rateRefreshMs`) and signed unless a cap still
   * forbids it. Returns whether it is signed now.
   */
  async signSealed(b: BatchRow): Promise<boolean> {
    const header = parseHeader(b.header);
    const { rate, perModel } = await this.rates(header.usage.map((u) => u.modelId));
    const priced = { ...header, fee: computeFee(header.usage, rate, perModel) };
    if (!this.mayYetSign(b.batchSeq, priced)) {
      if (priced.fee !== header.fee) await this.d.store.setUnsigned(b.batchSeq, toJson(priced));
      return false;
    }
    await this.sign(b.batchSeq, priced);
    return true;
  }

  /**
   * Re-prices a not-yet-settled batch with fresh rates (the schedule changed since sealing). Over a
   * fee cap, its old signature is dropped and it goes back to sealed-unsigned (held).
   */
  async reprice(b: BatchRow): Promise<void> {
    this.d.rates.invalidate();
    const header = parseHeader(b.header);
    const { rate, perModel } = await this.rates(header.usage.map((u) => u.modelId));
    const fee = computeFee(header.usage, rate, perModel);
    if (fee === header.fee && b.signature) return;
    const priced = { ...header, fee };
    if (!this.mayYetSign(b.batchSeq, priced)) {
      await this.d.store.setUnsigned(b.batchSeq, toJson(priced));
      return;
    }
    this.d.log.warn(
      { batchSeq: b.batchSeq, old: String(header.fee), fee: String(fee) },
      "fee schedule changed: re-signing batch",
    );
    await this.sign(b.batchSeq, priced);
  }

  async drain(): Promise<void> {
    while (this.sealing) await this.sealing;
    await this.kick(true);
  }
}
