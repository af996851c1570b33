/**
 * Typed errors of the gateway hook, on the SDK's {@link BaseError} (sdk/errors.ts): each sets its
 * `name` so callers branch without string matching, and says whether a retry may help (`retryable`).
 */
import { ConfigError, type ConfigIssue } from "../sdk/config.js";
import { BaseError, type BaseErrorParameters } from "../sdk/errors.js";

/** Base class of every error the gateway throws. Not retryable unless a subclass says so. */
export class GatewayError extends BaseError {
  override name: string = "GatewayError";
  constructor(shortMessage: string, options?: BaseErrorParameters) {
    super(shortMessage, options);
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

/** `record()` was given a call that cannot become a receipt; no callSeq was allocated. Not retryable. */
export class InvalidCallError extends GatewayError {
  override name = "InvalidCallError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`Invalid call: ${field}: ${message}`);
  }
}

/** `record()` after `close()` (or after a fatal store error). Not retryable. */
export class HookClosedError extends GatewayError {
  override name = "HookClosedError";
  constructor() {
    super("The settlement hook is closed: record() is no longer accepted");
  }
}

/** Local state and the chain disagree in a way the hook cannot repair on its own. Not retryable. */
export class ReconcileError extends GatewayError {
  override name: string = "ReconcileError";
}

/**
 * The store is missing or behind the chain (lost, replaced, or restored from a backup): the key has
 * settled batches this store never sealed, so its enclave may have signed receipts for callSeqs the
 * store does not know. Handing any callSeq out again would be equivocation, so the hook refuses to
 * start with this store and this key. Not retryable.
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
 * would prove "equivocation" against an honest gateway. Retryable: retry once the receipt is durable.
 */
export class NotDurableError extends GatewayError {
  override name = "NotDurableError";
  constructor(readonly callSeq: number) {
    super(
      `callSeq ${callSeq} is recorded but not durable yet (its group commit has not landed): no signature before then, retry shortly`,
      { retryable: true },
    );
  }
}

/**
 * Fewer than a quorum of validators approved an enclave; `refusals` holds each other validator's
 * answer. Retryable: validators that were down or behind may approve on a later try.
 */
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
      retryable: true,
    });
  }
}

/**
 * An operator asked to close a retired key's account before the chain reached the end its successor
 * settled to: closing now would refuse the successor's last batches and orphan their receipts.
 * Retryable: wait until those batches are on-chain.
 */
export class AccountNotSettledError extends GatewayError {
  override name = "AccountNotSettledError";
  constructor(
    readonly account: string,
    readonly onChain: bigint,
    readonly end: bigint,
  ) {
    super(`Account ${account} is settled to callSeq ${onChain} on-chain, not yet to ${end}: not closed`, {
      retryable: true,
    });
  }
}

/**
 * The node refused a batch's `submitBatch` broadcast, classified from viem's typed errors and the
 * chain's nonces (`classifyBroadcastError`, sdk/transactions.ts), never from the node's wording: `nonce-taken`
 * (another transaction was mined at its nonce: resent under a fresh one) or `replace` (another
 * pending transaction holds its nonce, or its fee cap is below the base fee: replaced with higher
 * fees). Retryable: the submitter's next step does exactly that.
 */
export class BroadcastRefusedError extends GatewayError {
  override name = "BroadcastRefusedError";
  constructor(
    readonly batchSeq: number,
    readonly reason: "nonce-taken" | "replace",
    cause: unknown,
  ) {
    super(
      reason === "nonce-taken"
        ? `broadcast of batch ${batchSeq}: nonce too low (taken by another transaction); resending under a fresh nonce`
        : `broadcast of batch ${batchSeq}: underpriced (its nonce is held by another transaction); replacing with higher fees`,
      { cause, retryable: true, docsPath: "#rpc-errors" },
    );
  }
}

/**
 * The head batch's `submitBatch` would revert with the settlement's custom error `errorName`
 * (inactive key, empty balance, ...): nothing is broadcast. Not retryable as is: it needs an
 * operator (the submitter still re-checks every step, so it goes out once the cause is fixed).
 */
export class BatchWouldRevertError extends GatewayError {
  override name = "BatchWouldRevertError";
  constructor(
    readonly batchSeq: number,
    readonly errorName: string,
    readonly args: readonly unknown[] | undefined,
    cause: unknown,
  ) {
    super(`submitBatch(${batchSeq}) would revert with ${errorName}`, {
      cause,
      details: `${errorName}(${(args ?? []).map(String).join(", ")})`,
      docsPath: "#rpc-errors",
    });
  }
}

/**
 * The attestation source (nitriding's endpoint) gave no usable document; `url` names where it
 * asked. Retryable when it was unreachable or answered 429/5xx; not for a bad nonce or document.
 */
export class AttestationSourceError extends GatewayError {
  override name = "AttestationSourceError";
  constructor(
    readonly url: string,
    message: string,
    options?: BaseErrorParameters,
  ) {
    super(`Attestation source ${url}: ${message}`, options);
  }
}

/**
 * The host store (the enclave's durable state on the untrusted parent instance) handed back a log
 * the enclave did not write: a frame altered, dropped, reordered or signed by a key that may not
 * write it. `problem` says which, `frame` where. The hook refuses to start on it: recovering from a
 * tampered log could hand out callSeqs the dead enclave already signed. Not retryable.
 */
export class HostStoreTamperedError extends GatewayError {
  override name = "HostStoreTamperedError";
  constructor(
    readonly log: string,
    readonly problem: "altered" | "dropped" | "reordered" | "unsigned" | "malformed",
    readonly frame: number,
    detail: string,
  ) {
    super(
      `Host store log ${log} was tampered with (${problem} at frame ${frame}): ${detail}. Refusing to recover from it`,
      {
        docsPath: "#host-store",
      },
    );
  }
}

/**
 * This key was retired: the registry made `successor` its successor (`GatewayRegistry.succeed`),
 * so it may never sign again and its account is the successor's to finish. A retired key's hook
 * refuses to start (its log on the host may already end in the successor's frames). Not retryable:
 * run the successor (with `predecessors: [{ account: gateway, … }]`) instead.
 */
export class EnclaveRetiredError extends GatewayError {
  override name = "EnclaveRetiredError";
  constructor(
    readonly gateway: string,
    readonly successor: string,
  ) {
    super(`Gateway ${gateway} is retired: the registry made ${successor} its successor`, {
      details: `a retired key never signs again; ${successor} settles its account (predecessors: [{ account: ${gateway}, … }])`,
      docsPath: "#host-store",
    });
  }
}

/** The host store cannot be reached, refused a write, or closed before acknowledging it. Retryable. */
export class HostStoreUnavailableError extends GatewayError {
  override name = "HostStoreUnavailableError";
  constructor(
    readonly endpoint: string,
    reason: string,
  ) {
    super(`Host store ${endpoint} unavailable: ${reason}`, { retryable: true });
  }
}
