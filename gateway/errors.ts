/**
 * Typed errors of the gateway hook. `GatewayError` carries a `shortMessage` and optional `cause`
 * (viem/ponder style); subclasses set `name` so callers can branch without string matching.
 */
import { ConfigError, type ConfigIssue } from "../sdk/config.js";

export class GatewayError extends Error {
  override name = "GatewayError";
  readonly shortMessage: string;
  constructor(shortMessage: string, options?: { cause?: unknown; details?: string }) {
    super(
      options?.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.shortMessage = shortMessage;
  }
}

/**
 * The hook config is wrong or incomplete: a {@link ConfigError} of role "gateway" whose `issues`
 * list every problem at once (`field` is the first one's path).
 */
export class GatewayConfigError extends ConfigError {
  override name = "GatewayConfigError";
  constructor(p: { field: string; reason: string; name?: string | undefined } | { issues: readonly ConfigIssue[] }) {
    super("gateway", p);
  }
}

/** `record()` was given a call that cannot become a receipt; no callSeq was allocated. */
export class InvalidCallError extends GatewayError {
  override name = "InvalidCallError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`Invalid call: ${field}: ${message}`);
  }
}

/** `record()` after `close()` (or after a fatal store error). */
export class HookClosedError extends GatewayError {
  override name = "HookClosedError";
  constructor() {
    super("The settlement hook is closed: record() is no longer accepted");
  }
}

/** Local state and the chain disagree in a way the hook cannot repair on its own. */
export class ReconcileError extends GatewayError {
  override name = "ReconcileError";
}

/**
 * The store is missing or behind the chain (lost, replaced, or restored from a backup): the key has
 * settled batches this store never sealed, so its enclave may have signed receipts for callSeqs the
 * store does not know. Handing any callSeq out again would be equivocation, so the hook refuses to
 * start with this store and this key.
 */
export class StoreBehindChainError extends ReconcileError {
  override name = "StoreBehindChainError";
  constructor(
    readonly store: string,
    readonly gateway: string,
    readonly local: { nextBatchSeq: number; nextCallSeq: number },
    readonly chain: { nextBatchSeq: number; nextCallSeq: number },
  ) {
    super(
      `Store ${store} is ${local.nextBatchSeq === 0 && local.nextCallSeq === 0 ? "empty" : "behind the chain"} for gateway ${gateway}: ` +
        `the chain has settled batches up to ${chain.nextBatchSeq - 1} (callSeqs below ${chain.nextCallSeq}), ` +
        `the store knows batches below ${local.nextBatchSeq} (callSeqs below ${local.nextCallSeq}). The store is behind the chain — lost, ` +
        `replaced or restored from a backup — and this key may have signed receipts the store never saw; reusing any of their ` +
        `callSeqs would be equivocation and cost the bond. Refusing to start: restore the gateway's latest store (the one that ` +
        `sealed batch ${chain.nextBatchSeq - 1}), or stop using this key and bring up a new attested enclave key that succeeds it ` +
        `(key succession, a later issue; until then deactivate this key).`,
    );
  }
}

/**
 * A receipt was asked to be signed (or served signed) before its group commit landed. The enclave
 * never signs a receipt that is not durable: a crash would void its callSeq, and the signature
 * would prove "equivocation" against an honest gateway. Retry once the receipt is durable.
 */
export class NotDurableError extends GatewayError {
  override name = "NotDurableError";
  constructor(readonly callSeq: number) {
    super(
      `callSeq ${callSeq} is recorded but not durable yet (its group commit has not landed): no signature before then, retry shortly`,
    );
  }
}

/** Fewer than a quorum of validators approved an enclave; `refusals` holds each other validator's answer. */
export class EnclaveApprovalError extends GatewayError {
  override name = "EnclaveApprovalError";
  constructor(
    readonly enclave: string,
    readonly approved: number,
    readonly quorum: number,
    readonly refusals: readonly { url: string; error: string }[],
  ) {
    super(`Enclave ${enclave}: ${approved} of the ${quorum} validator approvals needed`, {
      details: refusals.map((r) => `${r.url}: ${r.error}`).join("; "),
    });
  }
}
