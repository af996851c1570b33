/**
 * One transaction manager per sending key, shared by the gateway's submitter and the validator:
 * a local nonce resynced from the chain, fee estimates under an operator's cap, replacement of a
 * transaction not mined within `bumpAfterMs` by one with fees raised by ≥ 12.5 % (geth needs
 * 10 %, others 12.5 %), and recovery of a stuck nonce: a transaction the node lost is broadcast
 * again, a nonce another sender of the key took (or a gap below ours) means a resync and a fresh
 * nonce. Fees above the cap stop the bumping with a {@link FeeCapExceededError}.
 *
 * Two ways in. `send()` does it all in memory and resolves with the receipt (the validator). The
 * steps — `nextNonce`, `fees`, `sign`, `broadcast`, `check` — are for a caller that must store each
 * signed transaction before it goes out and survive restarts (the gateway's submitter, which
 * pipelines batches on consecutive nonces); both follow the same rules.
 *
 * viem's own `nonceManager` (viem/accounts) does not fit: it never hands out a nonce at or below
 * the last one it gave, even after `reset`, so a dropped transaction or a reorg would leave a gap
 * no later transaction can pass. Reads, signing and the classification of a refusal are viem's.
 */
import {
  BaseError as ViemBaseError,
  FeeCapTooLowError,
  NonceTooLowError,
  RpcRequestError,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  keccak256,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { getTransactionError } from "viem/utils";
import { BaseError } from "./errors.js";

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface TransactionRequest {
  to: Address;
  data: Hex;
  gas: bigint;
  value?: bigint | undefined;
}

export interface SignedTransaction extends Fees {
  hash: Hex;
  raw: Hex;
  nonce: number;
}

/** A signed transaction and when it was (last) signed and sent, in ms since the epoch. */
export interface SentTransaction extends SignedTransaction {
  sentAt: number;
}

/**
 * What a broadcast came to:
 * - `sent`: the node took it;
 * - `ours`: the node already has this very transaction (or mined it): nothing more to do;
 * - `nonce-taken`: another transaction was mined at its nonce: sign it again under a fresh nonce
 *   (the manager has resynced);
 * - `replace`: another pending transaction holds its nonce, or its fee cap is below the base fee:
 *   replace it with higher fees (`replacementFees`).
 * Anything else (node not reached, refused for another reason) is thrown as viem's error.
 */
export type BroadcastOutcome = "sent" | "ours" | "nonce-taken" | "replace";

/**
 * What to do with transactions in flight at one nonce (see `check`):
 * - `mined`: one of them has a receipt (success or reverted);
 * - `pending`: wait;
 * - `rebroadcast`: the node lost the latest one (dropped from its mempool): broadcast it again;
 * - `replace`: not mined within `bumpAfterMs`: sign it again at the same nonce with `fees`;
 * - `renonce`: another transaction took the nonce, or a nonce below it is free (reorg, lost
 *   transaction): fees cannot help; sign it again under a fresh nonce (the manager has resynced).
 */
export type TransactionCheck =
  | { status: "mined"; receipt: TransactionReceipt }
  | { status: "pending" }
  | { status: "rebroadcast" }
  | { status: "replace"; fees: Fees }
  | { status: "renonce" };

export interface TransactionManagerOptions {
  client: PublicClient;
  account: LocalAccount;
  /** Default: asked of the RPC once. */
  chainId?: number | undefined;
  /** A transaction not mined after this long is replaced with higher fees. Default 20 s. */
  bumpAfterMs?: number | undefined;
  /** The highest `maxFeePerGas` (wei) the manager signs; above it, it stops and reports. Default none. */
  maxFeePerGas?: bigint | undefined;
  /**
   * The highest priority fee (wei per gas) the manager signs: a node's suggestion above it is
   * clipped, a replacement that would need more stops and reports. Default
   * {@link DEFAULT_MAX_PRIORITY_FEE}: without it, an RPC's answer alone sets what the tip costs.
   */
  maxPriorityFeePerGas?: bigint | undefined;
  /** How often `send` looks for its receipt. Default 500 ms. */
  pollMs?: number | undefined;
  /** How long `send` waits for a receipt, replacements included. Default 5 min. */
  timeoutMs?: number | undefined;
  /** Called for each replacement with higher fees (metrics, logs). */
  onReplace?: ((from: SignedTransaction, to: SignedTransaction) => void) | undefined;
  /** Called when the local nonce is resynced from the chain, with why. */
  onResync?: ((reason: string) => void) | undefined;
}

/** Priority fee when the node cannot suggest one (1 gwei). */
const DEFAULT_PRIORITY_FEE = 1_000_000_000n;
/** Default bound on the priority fee (10 gwei): a hostile or broken RPC's suggestion is clipped to it. */
export const DEFAULT_MAX_PRIORITY_FEE = 10_000_000_000n;

/** +12.5 % and 1 wei, rounded up: enough for every client's replacement rule. */
export const bumpFee = (x: bigint): bigint => x + (x + 7n) / 8n + 1n;

export class TransactionManager {
  readonly account: LocalAccount;
  readonly bumpAfterMs: number;
  readonly maxFeePerGas: bigint | undefined;
  readonly maxPriorityFeePerGas: bigint;
  private readonly client: PublicClient;
  private chainId: number | undefined;
  private nonce: number | undefined;
  private syncing: Promise<number> | undefined;
  private sending: Promise<unknown> = Promise.resolve();
  /** Transactions of a `send` that ended before one was mined (cap, timeout, RPC error). */
  private unfinished: SentTransaction[] = [];

  constructor(private readonly o: TransactionManagerOptions) {
    this.client = o.client;
    this.account = o.account;
    this.chainId = o.chainId;
    this.bumpAfterMs = o.bumpAfterMs ?? 20_000;
    this.maxFeePerGas = o.maxFeePerGas;
    this.maxPriorityFeePerGas = o.maxPriorityFeePerGas ?? DEFAULT_MAX_PRIORITY_FEE;
  }

  get address(): Address {
    return this.account.address;
  }

  /** The next nonce to use: local, from the chain's pending count after a resync. */
  async nextNonce(): Promise<number> {
    if (this.nonce === undefined) {
      this.syncing ??= this.client
        .getTransactionCount({ address: this.address, blockTag: "pending" })
        .finally(() => (this.syncing = undefined));
      const n = await this.syncing;
      this.nonce ??= n;
    }
    return this.nonce++;
  }

  /** Forget the local nonce: the next one is read from the chain. */
  resync(reason: string): void {
    if (this.nonce !== undefined) this.o.onResync?.(reason);
    this.nonce = undefined;
  }

  /**
   * `nonce` belongs to a transaction of ours the node lost (its pending count does not cover it):
   * never hand it out again.
   */
  reserve(nonce: number): void {
    if (this.nonce !== undefined && nonce >= this.nonce) this.nonce = nonce + 1;
  }

  /** The base fee of the latest block and a priority fee the node suggests. */
  private async market(): Promise<{ base: bigint; prio: bigint }> {
    const [block, prio] = await Promise.all([
      this.client.getBlock({ blockTag: "latest" }),
      this.client.estimateMaxPriorityFeePerGas().catch(() => DEFAULT_PRIORITY_FEE),
    ]);
    // The suggestion is the RPC's word: never above the tip bound.
    return {
      base: block.baseFeePerGas ?? 0n,
      prio: prio > this.maxPriorityFeePerGas ? this.maxPriorityFeePerGas : prio,
    };
  }

  /**
   * Fees for a new transaction: twice the base fee plus the priority fee (room for six full blocks
   * of base-fee growth), clipped to the cap. Throws {@link FeeCapExceededError} when the cap is
   * below what the next block needs.
   */
  async fees(): Promise<Fees> {
    const { base, prio } = await this.market();
    const cap = this.maxFeePerGas;
    const maxFeePerGas = 2n * base + prio;
    if (cap === undefined || maxFeePerGas <= cap) return { maxFeePerGas, maxPriorityFeePerGas: prio };
    if (base + prio > cap) throw new FeeCapExceededError({ needed: base + prio, cap });
    return { maxFeePerGas: cap, maxPriorityFeePerGas: prio };
  }

  /**
   * Fees to replace `prev`: at least {@link bumpFee} of both of its fees, at least what a new
   * transaction would pay now, clipped to the cap. Throws {@link FeeCapExceededError} when even
   * the smallest replacement the node accepts, or the next block's base fee, is above the cap.
   */
  async replacementFees(prev: Fees & { nonce?: number; hash?: Hex }): Promise<Fees> {
    const { base, prio: cur } = await this.market();
    const prio = cur > bumpFee(prev.maxPriorityFeePerGas) ? cur : bumpFee(prev.maxPriorityFeePerGas);
    if (prio > this.maxPriorityFeePerGas)
      throw new FeeCapExceededError({
        needed: prio,
        cap: this.maxPriorityFeePerGas,
        nonce: prev.nonce,
        hash: prev.hash,
      });
    const least = bumpFee(prev.maxFeePerGas);
    let maxFeePerGas = 2n * base + prio;
    if (maxFeePerGas < least) maxFeePerGas = least;
    const cap = this.maxFeePerGas;
    if (cap !== undefined && maxFeePerGas > cap) {
      const needed = least > base + prio ? least : base + prio;
      if (needed > cap) throw new FeeCapExceededError({ needed, cap, nonce: prev.nonce, hash: prev.hash });
      maxFeePerGas = cap;
    }
    return { maxFeePerGas, maxPriorityFeePerGas: prio };
  }

  /** Signs `req` at `nonce` with `fees` (EIP-1559); nothing is sent. */
  async sign(req: TransactionRequest, nonce: number, fees: Fees): Promise<SignedTransaction> {
    this.chainId ??= await this.client.getChainId();
    const raw = await this.account.signTransaction({
      chainId: this.chainId,
      type: "eip1559",
      to: req.to,
      data: req.data,
      value: req.value ?? 0n,
      gas: req.gas,
      nonce,
      ...fees,
    });
    return { hash: keccak256(raw), raw, nonce, ...fees };
  }

  /** Broadcasts a signed transaction; see {@link BroadcastOutcome}. */
  async broadcast(tx: SignedTransaction): Promise<BroadcastOutcome> {
    try {
      await this.client.sendRawTransaction({ serializedTransaction: tx.raw });
      return "sent";
    } catch (e) {
      const refusal = await classifyBroadcastError(this.client, { ...tx, account: this.account }, e);
      if (refusal === "failed") throw e;
      if (refusal === "nonce-taken") this.resync(`nonce ${tx.nonce} taken by another transaction`);
      return refusal;
    }
  }

  /**
   * Where the transactions in flight at one nonce stand (oldest first; the last one is the one
   * to rebroadcast or replace); see {@link TransactionCheck}.
   */
  async check(txs: readonly SentTransaction[]): Promise<TransactionCheck> {
    const latest = txs.at(-1);
    if (!latest) throw new Error("check: no transaction");
    const receipt = async () => {
      for (const tx of [...txs].reverse()) {
        const r = await this.client.getTransactionReceipt({ hash: tx.hash }).catch((e: unknown) => {
          if (e instanceof TransactionReceiptNotFoundError) return undefined;
          throw e;
        });
        if (r) return r;
      }
      return undefined;
    };
    let r = await receipt();
    if (r) return { status: "mined", receipt: r };
    const mined = await this.client.getTransactionCount({ address: this.address, blockTag: "latest" });
    if (mined > latest.nonce) {
      r = await receipt(); // mined between the two reads?
      if (r) return { status: "mined", receipt: r };
      this.resync(`nonce ${latest.nonce} taken by another transaction`);
      return { status: "renonce" };
    }
    if (Date.now() - latest.sentAt >= this.bumpAfterMs) {
      const pending = await this.client.getTransactionCount({ address: this.address, blockTag: "pending" });
      if (pending < latest.nonce) {
        this.resync(`nonce gap below ${latest.nonce} (pending count ${pending})`);
        return { status: "renonce" };
      }
      return { status: "replace", fees: await this.replacementFees(latest) };
    }
    const known = await this.client.getTransaction({ hash: latest.hash }).catch((e: unknown) => {
      if (e instanceof TransactionNotFoundError) return undefined;
      throw e;
    });
    return known ? { status: "pending" } : { status: "rebroadcast" };
  }

  /**
   * Sends `req` and resolves with its receipt (success or reverted) once mined, replacing it,
   * rebroadcasting it or moving it to a fresh nonce as {@link check} says. One `send` at a time.
   * A `send` that ends early (a {@link FeeCapExceededError}, a {@link TransactionNotMinedError}, an
   * RPC error) leaves its transaction pending: the next `send` takes its nonce over (a replacement
   * with bumped fees) unless it was mined meanwhile, so no nonce is left stuck behind it.
   */
  send(req: TransactionRequest): Promise<TransactionReceipt> {
    const next = this.sending.then(() => this.sendNow(req));
    this.sending = next.catch(() => undefined);
    return next;
  }

  private async sendNow(req: TransactionRequest): Promise<TransactionReceipt> {
    const pollMs = this.o.pollMs ?? 500;
    const deadline = Date.now() + (this.o.timeoutMs ?? 300_000);
    // An earlier send's transactions at one nonce, maybe still pending, and this send's own.
    let inherited = this.unfinished;
    let ours: SentTransaction[] = [];
    this.unfinished = [];
    let fresh = false; // a nonce was taken from nextNonce and nothing has gone out at it yet
    const renonce = async () => {
      inherited = [];
      ours = [];
      const fees = await this.fees(); // before the nonce: a refusal must not leave a gap
      fresh = true;
      return this.sign(req, await this.nextNonce(), fees);
    };
    try {
      let tx: SignedTransaction;
      const open = inherited.length > 0 ? await this.check(inherited.map((t) => ({ ...t, sentAt: 0 }))) : undefined;
      if (open?.status === "replace") {
        // Still pending: this request replaces it (its caller saw that send fail).
        tx = await this.sign(req, inherited.at(-1)!.nonce, open.fees);
        this.o.onReplace?.(inherited.at(-1)!, tx);
      } else tx = await renonce();
      let toBroadcast = true;
      for (;;) {
        if (Date.now() > deadline) throw new TransactionNotMinedError({ hash: tx.hash, nonce: tx.nonce });
        if (toBroadcast) {
          toBroadcast = false;
          let outcome: BroadcastOutcome;
          try {
            outcome = await this.broadcast(tx);
          } catch (e) {
            // The node may have taken it all the same: the next send checks before reusing its nonce.
            if (ours.at(-1)?.hash !== tx.hash) ours.push({ ...tx, sentAt: Date.now() });
            fresh = false;
            throw e;
          }
          fresh = false;
          if (outcome === "replace") {
            const prev = tx;
            tx = await this.sign(req, tx.nonce, await this.replacementFees(tx));
            this.o.onReplace?.(prev, tx);
            toBroadcast = true;
            continue;
          }
          if (outcome === "nonce-taken" && ours.length === 0) {
            tx = await renonce();
            toBroadcast = true;
            continue;
          }
          if (outcome !== "nonce-taken" && ours.at(-1)?.hash !== tx.hash) ours.push({ ...tx, sentAt: Date.now() });
          // nonce-taken with transactions of ours at that nonce: the check tells whether one was mined.
        } else await new Promise((r) => setTimeout(r, pollMs));
        const c = await this.check([...inherited, ...ours]);
        if (c.status === "pending") continue;
        toBroadcast = true;
        if (c.status === "mined") {
          if (ours.some((t) => t.hash === c.receipt.transactionHash)) {
            inherited = [];
            ours = [];
            return c.receipt;
          }
          tx = await renonce(); // the earlier request was mined at this nonce, not this one
        } else if (c.status === "replace") {
          const prev = tx;
          tx = await this.sign(req, tx.nonce, c.fees);
          this.o.onReplace?.(prev, tx);
        } else if (c.status === "renonce") tx = await renonce();
        // rebroadcast: the same transaction again
      }
    } catch (e) {
      if (fresh) this.resync("send failed before its transaction went out");
      throw e;
    } finally {
      this.unfinished = [...inherited, ...ours]; // taken over by the next send
    }
  }
}

/** What a refused `eth_sendRawTransaction` means; see {@link BroadcastOutcome}. */
export type BroadcastRefusal = Exclude<BroadcastOutcome, "sent"> | "failed";

/**
 * Classifies a refused `eth_sendRawTransaction` from viem's typed errors and the account's nonces;
 * `failed`: not a refusal the manager can act on (node not reached, refused for another reason).
 */
export async function classifyBroadcastError(
  client: PublicClient,
  tx: { hash: Hex; nonce: number; account: LocalAccount },
  err: unknown,
): Promise<BroadcastRefusal> {
  // Only a JSON-RPC error answer is a refusal; a transport failure says nothing about the
  // transaction. The node's wording differs between geth, reth, anvil, Nethermind and hosted RPCs:
  // viem's typed errors and the account's nonces decide, never the text.
  if (!(err instanceof ViemBaseError) || !err.walk((x) => x instanceof RpcRequestError)) return "failed";
  const known = await client.getTransaction({ hash: tx.hash }).catch((e: unknown) => {
    if (e instanceof TransactionNotFoundError) return undefined;
    throw e; // cannot tell: the caller retries
  });
  // viem's NonceTooLowError covers "already known" and "already imported"; a mined one answers
  // "nonce too low": the node has this very transaction either way.
  if (known) return "ours";
  const node = getTransactionError(err, { account: tx.account, nonce: tx.nonce });
  if (node.walk((x) => x instanceof NonceTooLowError)) return "nonce-taken";
  if (node.walk((x) => x instanceof FeeCapTooLowError)) return "replace";
  // A refusal viem has no class for ("replacement transaction underpriced"): the nonces tell.
  const [mined, pending] = await Promise.all([
    client.getTransactionCount({ address: tx.account.address, blockTag: "latest" }),
    client.getTransactionCount({ address: tx.account.address, blockTag: "pending" }),
  ]);
  if (mined > tx.nonce) return "nonce-taken";
  if (pending > tx.nonce) return "replace";
  return "failed";
}

/**
 * The fees a transaction needs (`needed`, wei per gas: the next block's base fee plus the priority
 * fee, or the least replacement of a stuck one) are above the operator's `maxFeePerGas` cap: the
 * manager stopped bumping. A transaction already sent stays pending at its last fees. Retryable:
 * base fees fall again, and the same send then goes through (or raise the cap).
 */
export class FeeCapExceededError extends BaseError {
  override name = "FeeCapExceededError";
  readonly needed: bigint;
  readonly cap: bigint;
  readonly nonce: number | undefined;
  readonly hash: Hex | undefined;
  constructor(p: { needed: bigint; cap: bigint; nonce?: number | undefined; hash?: Hex | undefined }) {
    super(`Fees needed (${p.needed} wei/gas) are above the maxFeePerGas cap (${p.cap} wei/gas): not bumping`, {
      details:
        p.hash !== undefined
          ? `transaction ${p.hash} (nonce ${p.nonce}) stays pending at its last fees`
          : "nothing was sent",
      docsPath: "#transaction-errors",
      retryable: true,
    });
    this.needed = p.needed;
    this.cap = p.cap;
    this.nonce = p.nonce;
    this.hash = p.hash;
  }
}

/**
 * `send` gave up waiting for a receipt (`timeoutMs`), replacements included. The transaction stays
 * pending; the next send takes its nonce over. Retryable.
 */
export class TransactionNotMinedError extends BaseError {
  override name = "TransactionNotMinedError";
  readonly hash: Hex;
  readonly nonce: number;
  constructor(p: { hash: Hex; nonce: number }) {
    super(`Transaction ${p.hash} (nonce ${p.nonce}) not mined in time`, {
      docsPath: "#transaction-errors",
      retryable: true,
    });
    this.hash = p.hash;
    this.nonce = p.nonce;
  }
}
