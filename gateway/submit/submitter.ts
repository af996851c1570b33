/**
 * Settlement of sealed batches with viem. The chain is the source of truth: each step reads the
 * gateway's `nextSeqs`, and every local status is corrected from it. Nonces, fees, replacement and
 * stuck-nonce recovery are the SDK's {@link TransactionManager} (the validator sends through the
 * same one); the submitter pipelines batches on consecutive nonces, stores each signed transaction
 * before broadcasting it (so a crash or a lost answer rebroadcasts the same one), acts on what the
 * manager's `check` says, waits `confirmations` blocks, and resubmits a batch whose transaction
 * left the chain (reorg). The contract accepts only the next batchSeq, so nothing is ever settled
 * twice.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  encodeFunctionData,
  parseEventLogs,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from "viem";
import type { Logger } from "pino";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { toCompactSignature } from "../../sdk/eip712.js";
import { FeeCapExceededError, type Fees, TransactionManager } from "../../sdk/transactions.js";
import { readNextSeqs } from "../chain.js";
import { crashPoint } from "../crash.js";
import { BatchWouldRevertError, BroadcastRefusedError } from "../errors.js";
import type { HookMetrics } from "../metrics.js";
import { parseHeader, type Sealer } from "../seal/sealer.js";
import type { BatchRow, Store } from "../store.js";

export interface SubmitterDeps {
  store: Store;
  client: PublicClient;
  relayer: LocalAccount;
  gateway: Address;
  settlement: Address;
  chainId: number;
  sealer: Sealer;
  metrics: HookMetrics;
  log: Logger;
  confirmations: number;
  maxInFlight: number;
  bumpAfterMs: number;
  /** Highest maxFeePerGas (wei) the relayer signs; above it, bumping stops (FeeCapExceededError). */
  maxFeePerGas?: bigint | undefined;
  /** Highest priority fee (wei per gas) the relayer signs (default sdk's DEFAULT_MAX_PRIORITY_FEE). */
  maxPriorityFeePerGas?: bigint | undefined;
  pollMs: number;
  retry: { baseMs: number; maxMs: number };
  gasLimit?: bigint;
}

/** Lookback for BatchSubmitted logs when the transaction that settled a batch is unknown. */
const LOG_LOOKBACK = 50_000n;

export class Submitter {
  /** The relayer's nonces and fees. */
  readonly transactions: TransactionManager;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private failures = 0;
  private again = false;
  /** Last chain view (for /health). */
  chain: { nextCallSeq: number; nextBatchSeq: number; head: bigint; at: number } | undefined;
  lastError: string | undefined;

  constructor(private readonly d: SubmitterDeps) {
    this.transactions = new TransactionManager({
      client: d.client,
      account: d.relayer,
      chainId: d.chainId,
      bumpAfterMs: d.bumpAfterMs,
      maxFeePerGas: d.maxFeePerGas,
      maxPriorityFeePerGas: d.maxPriorityFeePerGas,
    });
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Run a step soon (a batch was sealed). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick().finally(() => (this.running = undefined));
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let delay = this.d.pollMs;
    try {
      this.again = false;
      await this.step();
      this.failures = 0;
      this.lastError = undefined;
      if (this.again) delay = 0;
    } catch (e) {
      this.transactions.resync("submitter step failed"); // a nonce a failed send took must not leave a gap
      this.failures++;
      if (!(e instanceof FeeCapExceededError)) this.d.metrics.rpcErrors.inc(); // a fee cap is not an RPC fault
      this.lastError = (e as Error).message?.split("\n")[0];
      delay = Math.min(this.d.retry.maxMs, this.d.retry.baseMs * 2 ** Math.min(this.failures - 1, 16));
      delay = Math.round(delay * (0.75 + Math.random() / 2)); // jitter
      this.d.log.warn({ err: this.lastError, failures: this.failures, retryInMs: delay }, "submitter step failed");
    }
    this.schedule(delay);
  }

  /** One reconciliation + submission pass. Public for tests and close(). */
  async step(): Promise<void> {
    const { store, client, metrics, log } = this.d;
    const head = await client.getBlockNumber({ cacheTime: 0 });
    const chain = await readNextSeqs(client, this.d.settlement, this.d.gateway);
    this.chain = { ...chain, head, at: Date.now() };

    // Confirmed batches the chain no longer has: a reorg took them out; submit them again.
    for (const b of store.confirmedFrom(chain.nextBatchSeq)) {
      log.warn({ batchSeq: b.batchSeq, txHash: b.txHash }, "confirmed batch left the chain (reorg): resubmitting");
      metrics.reorged.inc();
      await store.resetToSigned(b.batchSeq);
      this.transactions.resync("reorg"); // the reorg may have dropped our transactions: their nonces are free again
    }

    const pending: BatchRow[] = [];
    for (let b of store.unconfirmed()) {
      if (b.status === "sealed") {
        // Held by a fee cap, or crashed between sealing and signing (signatures are deterministic,
        // RFC 6979): priced with the current rates and signed unless a cap still refuses it. A held
        // batch stops settlement here: nothing after it can settle before it.
        if (!(await this.d.sealer.signSealed(b))) break;
        b = store.batch(b.batchSeq)!;
      }
      if (b.batchSeq < chain.nextBatchSeq) await this.trackInclusion(b, head);
      else if (b.status === "included") {
        log.warn({ batchSeq: b.batchSeq, txHash: b.txHash }, "included batch left the chain (reorg): resubmitting");
        metrics.reorged.inc();
        await store.resetToSigned(b.batchSeq);
        this.transactions.resync("reorg");
        pending.push({ ...b, status: "signed" });
      } else pending.push(b);
    }
    if (pending.length === 0) return;
    const first = pending[0]!;
    if (first.batchSeq !== chain.nextBatchSeq || first.firstSeq !== chain.nextCallSeq) {
      // The next batch the chain expects is not (yet) sealed locally, or local state is inconsistent.
      if (first.batchSeq === chain.nextBatchSeq)
        log.error(
          { batchSeq: first.batchSeq, firstSeq: first.firstSeq, chain },
          "batch does not start at the chain's nextCallSeq",
        );
      return;
    }
    for (const b of pending.slice(0, this.d.maxInFlight)) {
      if (b.status === "signed") {
        if (b.txHash === null && !(await this.d.sealer.mayStillSend(b))) return; // a cap lowered since signing
        if (b.batchSeq === chain.nextBatchSeq && !(await this.preflight(b))) return;
        // Fees before the nonce: a fee cap that refuses must not leave a gap.
        const fees = await this.transactions.fees();
        await this.send(b, await this.transactions.nextNonce(), fees);
      } else await this.watch(b, chain.nextBatchSeq);
    }
  }

  /** Finds where batch `b` (settled per nextSeqs) was included and moves it to included/confirmed. */
  private async trackInclusion(b: BatchRow, head: bigint): Promise<void> {
    const { client, store, metrics } = this.d;
    let found: { txHash: Hex; blockNumber: bigint; blockHash: Hex } | undefined;
    if (b.txHash) {
      const r = await client.getTransactionReceipt({ hash: b.txHash as Hex }).catch(() => undefined);
      if (r && r.status === "success") {
        const logs = parseEventLogs({ abi: proofSettlementAbi, eventName: "BatchSubmitted", logs: r.logs });
        if (logs.some((l) => l.args.gateway === this.d.gateway && Number(l.args.batchSeq) === b.batchSeq)) {
          found = { txHash: r.transactionHash, blockNumber: r.blockNumber, blockHash: r.blockHash };
        }
      }
    }
    if (!found) {
      // Settled by another transaction (an earlier broadcast, a replacement, or another relayer).
      const logs = await client.getContractEvents({
        address: this.d.settlement,
        abi: proofSettlementAbi,
        eventName: "BatchSubmitted",
        args: { gateway: this.d.gateway, batchSeq: BigInt(b.batchSeq) },
        fromBlock: head > LOG_LOOKBACK ? head - LOG_LOOKBACK : 0n,
        toBlock: head,
      });
      const l = logs.at(-1);
      if (!l) return; // the node's log index lags its state: next step
      found = { txHash: l.transactionHash, blockNumber: l.blockNumber, blockHash: l.blockHash };
    }
    const depth = head - found.blockNumber + 1n;
    const status = depth >= BigInt(this.d.confirmations) ? "confirmed" : "included";
    if (status === b.status && found.blockHash === b.blockHash) return;
    store.setIncluded(b.batchSeq, status, found.txHash, Number(found.blockNumber), found.blockHash);
    if (status === "included") crashPoint("before-confirm");
    else {
      metrics.confirmed.inc();
      metrics.submitLatency.observe((Date.now() - b.sealedAt) / 1000);
      this.d.log.info(
        { batchSeq: b.batchSeq, txHash: found.txHash, block: Number(found.blockNumber) },
        "batch confirmed",
      );
    }
  }

  /**
   * Simulates the head batch before its first broadcast: a repriced fee schedule re-signs the header,
   * an inactive key or an empty balance waits (operator action) instead of burning gas.
   */
  private async preflight(b: BatchRow): Promise<boolean> {
    try {
      await this.d.client.simulateContract({ ...this.call(b), account: this.d.relayer.address });
      return true;
    } catch (e) {
      const revert = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : undefined;
      const name = revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
      if (name === "SettlementFeeMismatch") {
        await this.d.sealer.reprice(b);
        this.again = true;
        return false;
      }
      if (name) {
        const args = revert instanceof ContractFunctionRevertedError ? revert.data?.args : undefined;
        this.d.log.error({ batchSeq: b.batchSeq, error: name, args: String(args) }, "submitBatch would revert");
        throw new BatchWouldRevertError(b.batchSeq, name, args, e);
      }
      throw e;
    }
  }

  private call(b: BatchRow) {
    const header = parseHeader(b.header);
    return {
      address: this.d.settlement,
      abi: proofSettlementAbi,
      functionName: "submitBatch" as const,
      args: [header, toCompactSignature(b.signature as Hex)] as const,
    };
  }

  /** Signs, stores, then broadcasts the submitBatch transaction of `b` at `nonce`. */
  private async send(b: BatchRow, nonce: number, fees: Fees): Promise<void> {
    const header = parseHeader(b.header);
    const c = this.call(b);
    const tx = await this.transactions.sign(
      {
        to: this.d.settlement,
        data: encodeFunctionData({ abi: c.abi, functionName: c.functionName, args: c.args }),
        gas: this.d.gasLimit ?? 400_000n + 30_000n * BigInt(header.usage.length),
      },
      nonce,
      fees,
    );
    // Stored first: after a crash or a lost response the same transaction is rebroadcast, not a new one.
    await this.d.store.setTx(b.batchSeq, {
      hash: tx.hash,
      nonce,
      raw: tx.raw,
      maxFee: tx.maxFeePerGas,
      prioFee: tx.maxPriorityFeePerGas,
      sentAt: Date.now(),
    });
    b.status = "submitted";
    b.txHash = tx.hash;
    b.txNonce = nonce;
    b.txRaw = tx.raw;
    b.maxFee = String(tx.maxFeePerGas);
    b.prioFee = String(tx.maxPriorityFeePerGas);
    await this.broadcast(b);
    this.d.metrics.submitted.inc();
    this.d.log.info({ batchSeq: b.batchSeq, nonce, txHash: tx.hash }, "batch broadcast");
  }

  /** The stored transaction of a broadcast batch, as the manager knows it. */
  private sent(b: BatchRow) {
    return {
      hash: b.txHash as Hex,
      raw: b.txRaw as Hex,
      nonce: b.txNonce!,
      maxFeePerGas: BigInt(b.maxFee ?? "0"),
      maxPriorityFeePerGas: BigInt(b.prioFee ?? "0"),
      sentAt: b.sentAt ?? 0,
    };
  }

  private async broadcast(b: BatchRow): Promise<void> {
    const outcome = await this.transactions.broadcast(this.sent(b)); // a failure: rebroadcast next step
    if (outcome === "sent") crashPoint("after-broadcast");
    if (outcome === "sent" || outcome === "ours") return;
    const cause = new Error(`eth_sendRawTransaction of ${b.txHash} refused: ${outcome}`);
    if (outcome === "nonce-taken") {
      // Another transaction was mined at this nonce (the manager resynced): the batch is still
      // unsettled and goes out again under a fresh nonce.
      await this.d.store.resetToSigned(b.batchSeq);
      this.again = true;
      throw new BroadcastRefusedError(b.batchSeq, "nonce-taken", cause);
    }
    // Another transaction holds this nonce: make the next step replace it with higher fees.
    await this.d.store.setTx(b.batchSeq, {
      hash: b.txHash!,
      nonce: b.txNonce!,
      raw: b.txRaw!,
      maxFee: BigInt(b.maxFee ?? "0"),
      prioFee: BigInt(b.prioFee ?? "0"),
      sentAt: 0,
    });
    throw new BroadcastRefusedError(b.batchSeq, "replace", cause);
  }

  /** A broadcast batch not yet settled: what the manager's check says (rebroadcast, replace, renonce). */
  private async watch(b: BatchRow, chainNextBatch: number): Promise<void> {
    const { store, log } = this.d;
    const c = await this.transactions.check([this.sent(b)]);
    if (c.status === "mined") {
      if (c.receipt.status === "reverted" && b.batchSeq >= chainNextBatch) {
        log.warn({ batchSeq: b.batchSeq, txHash: b.txHash }, "submitBatch reverted: resending");
        await store.resetToSigned(b.batchSeq);
        this.transactions.resync("submitBatch reverted");
        this.again = true;
      }
      return; // success: nextSeqs catches up next step
    }
    if (c.status === "renonce") {
      // Its nonce was taken, or a nonce below it is free (a reorg or a lost transaction): fees
      // won't help, a fresh nonce will. If another transaction of ours settled the batch, nextSeqs
      // says so next step.
      log.warn({ batchSeq: b.batchSeq, nonce: b.txNonce }, "transaction's nonce taken or behind a gap: resending");
      await store.resetToSigned(b.batchSeq);
      this.again = true;
      return;
    }
    if (c.status === "replace") {
      log.warn(
        { batchSeq: b.batchSeq, nonce: b.txNonce, maxFee: String(c.fees.maxFeePerGas) },
        "transaction stuck: replacing with higher fees",
      );
      this.d.metrics.feeBumps.inc();
      await this.send(b, b.txNonce!, c.fees);
      return;
    }
    if (c.status === "rebroadcast") {
      await this.broadcast(b);
      // The node's pending count did not include this lost transaction: don't hand its nonce out again.
      this.transactions.reserve(b.txNonce!);
    }
  }
}
