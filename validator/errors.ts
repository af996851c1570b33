/**
 * Typed errors of the validator service, viem style: each has a `name`, a one-line `shortMessage`,
 * optional `details` and `cause`. As in Ponder, every error is either a {@link RetryableError}
 * (the work item is tried again later: RPC down, DA not answering yet) or a {@link NonRetryableError}
 * (trying again cannot help: bad config, a reverted transaction, a refused double signature).
 * The work loop branches on that split only; see `retry.ts`.
 */

import { ConfigError, type ConfigIssue } from "../sdk/config.js";
import { BaseError, type BaseErrorParameters } from "../sdk/errors.js";

export type { ConfigIssue };

export type ValidatorErrorParameters = BaseErrorParameters;

/** Base class of every error the validator throws. */
export class ValidatorError extends BaseError {
  override name: string = "ValidatorError";
}

/** A transient failure: the same work may succeed later (`retryable` is true). */
export class RetryableError extends ValidatorError {
  override name: string = "RetryableError";
  constructor(shortMessage: string, parameters: ValidatorErrorParameters = {}) {
    super(shortMessage, { ...parameters, retryable: true });
  }
}

/** A permanent failure: retrying the same work cannot succeed (`retryable` is false). */
export class NonRetryableError extends ValidatorError {
  override name: string = "NonRetryableError";
  constructor(shortMessage: string, parameters: ValidatorErrorParameters = {}) {
    super(shortMessage, { ...parameters, retryable: false });
  }
}

/**
 * The validator's configuration is wrong or incomplete: a {@link ConfigError} of role "validator",
 * its `issues` holding every problem at once, each named as the operator set it.
 */
export class ValidatorConfigError extends ConfigError {
  override name = "ValidatorConfigError" as const;
  constructor(p: { field: string; reason: string; name?: string | undefined } | { issues: readonly ConfigIssue[] }) {
    super("validator", p);
  }
}

/** The batch's receipts could not be fetched from its daURI (network error, 404, 5xx, timeout). */
export class DaUnavailableError extends RetryableError {
  override name: string = "DaUnavailableError";
  readonly url: string;
  constructor({ url, reason, cause }: { url: string; reason: string; cause?: unknown }) {
    super(`Receipts unavailable at ${url}: ${reason}`, { cause });
    this.url = url;
  }
}

/**
 * The DA endpoint answered, but not with a well-formed batch. Retryable: until the DA deadline a
 * gateway may still fix its endpoint; past it the batch is rejected as unavailable.
 */
export class DaMalformedError extends RetryableError {
  override name: string = "DaMalformedError";
  readonly url: string;
  constructor({ url, reason }: { url: string; reason: string }) {
    super(`Malformed batch from ${url}: ${reason}`);
    this.url = url;
  }
}

// Hostile DA endpoints (validator/boundedGet.ts). Each is a DaUnavailableError or DaMalformedError,
// so decide.ts treats it like any missing data: retried until the DA deadline, then a rejection.

/** No first byte within `daFirstByteTimeoutMs`, or the whole body not within `daTimeoutMs`. */
export class DaTimeoutError extends DaUnavailableError {
  override name = "DaTimeoutError";
}

/** The endpoint answered with a redirect: never followed (blind SSRF from validator hosts). */
export class DaRedirectRefusedError extends DaUnavailableError {
  override name = "DaRedirectRefusedError";
}

/** The host resolves to a private, loopback or link-local address and `daAllowPrivate` is off. */
export class DaAddressRefusedError extends DaUnavailableError {
  override name = "DaAddressRefusedError";
}

/** A fetch of this batch was in progress when the validator process died: not fetched again. */
export class DaFetchParkedError extends DaUnavailableError {
  override name = "DaFetchParkedError";
}

/** The body (after decompression) is larger than the batch's byte budget. */
export class DaTooLargeError extends DaMalformedError {
  override name = "DaTooLargeError";
}

/** A Content-Encoding the validator does not decode. */
export class DaEncodingRefusedError extends DaMalformedError {
  override name = "DaEncodingRefusedError";
}

/** JSON nested deeper than any batch is (would cost stack and heap to parse). */
export class DaTooDeepError extends DaMalformedError {
  override name = "DaTooDeepError";
}

/** More receipts than the header's `count`. */
export class DaTooManyReceiptsError extends DaMalformedError {
  override name = "DaTooManyReceiptsError";
}

/**
 * The header's daURI can never be fetched, whoever serves it: not valid UTF-8, not a URL, or not
 * http(s). The header hash binds it, so the batch is rejected at once rather than at the deadline.
 */
export class DaUriInvalidError extends NonRetryableError {
  override name = "DaUriInvalidError" as const;
  constructor({ reason }: { reason: string }) {
    super(`daURI unusable: ${reason}`);
  }
}

/** An RPC call failed in a way that may pass (connection refused, timeout, rate limit). */
export class RpcUnavailableError extends RetryableError {
  override name = "RpcUnavailableError" as const;
  constructor({ operation, cause }: { operation: string; cause: unknown }) {
    super(`RPC failed during ${operation}`, { cause, docsPath: "#rpc-errors" });
  }
}

/**
 * A batch's `BatchSubmitted` log is not (or no longer) in the block it was seen in: a reorg moved
 * or removed it. Retryable: the watcher's rescan records the new block, or the batch is dropped.
 */
export class SubmissionMovedError extends RetryableError {
  override name = "SubmissionMovedError" as const;
  constructor({ headerHash, blockNumber }: { headerHash: string; blockNumber: bigint }) {
    super(`BatchSubmitted of ${headerHash} is not in block ${blockNumber} (reorg); waiting for the watcher`);
  }
}

/** A transaction reverted (or would revert); `reason` is the decoded custom error when known. */
export class TransactionRevertedError extends NonRetryableError {
  override name = "TransactionRevertedError" as const;
  readonly functionName: string;
  readonly reason: string | undefined;
  constructor({ functionName, reason, cause }: { functionName: string; reason?: string | undefined; cause?: unknown }) {
    super(`${functionName} reverted${reason ? `: ${reason}` : ""}`, { cause, docsPath: "#rpc-errors" });
    this.functionName = functionName;
    this.reason = reason;
  }
}

/**
 * Refused to sign `verdict` for `headerHash`: the signing record already holds the other verdict.
 * This is the slashing-safety guarantee; it must never be retried or bypassed.
 */
export class DoubleSignRefusedError extends NonRetryableError {
  override name = "DoubleSignRefusedError" as const;
  readonly headerHash: string;
  readonly recorded: number;
  readonly requested: number;
  constructor({ headerHash, recorded, requested }: { headerHash: string; recorded: number; requested: number }) {
    super(`Refused to sign verdict ${requested} for ${headerHash}: verdict ${recorded} was already signed`, {
      metaMessages: ["A validator signs one verdict per header hash, ever (see validator/signingRecord.ts)."],
    });
    this.headerHash = headerHash;
    this.recorded = recorded;
    this.requested = requested;
  }
}

/** A signed receipt does not prove equivocation against the given batch (same leaf, bad signature, out of range). */
export class NotEquivocationError extends NonRetryableError {
  override name = "NotEquivocationError" as const;
  constructor({ reason }: { reason: string }) {
    super(`Not an equivocation: ${reason}`);
  }
}

/** Too many whole-batch fetches for POST /equivocations at once: answered 429, try again. */
export class DaBusyError extends RetryableError {
  override name = "DaBusyError" as const;
  constructor({ reason }: { reason: string }) {
    super(`Busy: ${reason}`);
  }
}

/** The validator will not approve this enclave: not registered, measurement not allowed, or the
 *  document is not the one its registration committed to. (Attestation failures throw their own
 *  `AttestationError` subclasses.) */
export class ApprovalRefusedError extends NonRetryableError {
  override name = "ApprovalRefusedError" as const;
  constructor({ enclave, reason }: { enclave: string; reason: string }) {
    super(`Enclave ${enclave} not approved: ${reason}`);
  }
}

/** True when `err` should be retried later rather than given up on. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof BaseError) return err.retryable;
  // Unknown errors (bugs, unclassified library errors) are retried with backoff and logged: giving
  // up silently on a batch is worse than a noisy retry.
  return true;
}
