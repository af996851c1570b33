/**
 * Typed errors of the gateway hook. `GatewayError` carries a `shortMessage` and optional `cause`
 * (viem/ponder style); subclasses set `name` so callers can branch without string matching.
 */
export class GatewayError extends Error {
  override name = "GatewayError";
  readonly shortMessage: string;
  constructor(shortMessage: string, options?: { cause?: unknown; details?: string }) {
    super(options?.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, options?.cause === undefined ? undefined : { cause: options.cause });
    this.shortMessage = shortMessage;
  }
}

/** The hook config is wrong or incomplete; `field` names the first bad field. */
export class GatewayConfigError extends GatewayError {
  override name = "GatewayConfigError";
  constructor(readonly field: string, message: string) {
    super(`Invalid gateway config: ${field}: ${message}`);
  }
}

/** `record()` was given a call that cannot become a receipt; no callSeq was allocated. */
export class InvalidCallError extends GatewayError {
  override name = "InvalidCallError";
  constructor(readonly field: string, message: string) {
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

/** Fewer than a quorum of validators approved an enclave; `refusals` holds each other validator's answer. */
export class EnclaveApprovalError extends GatewayError {
  override name = "EnclaveApprovalError";
  constructor(readonly enclave: string, readonly approved: number, readonly quorum: number, readonly refusals: readonly { url: string; error: string }[]) {
    super(`Enclave ${enclave}: ${approved} of the ${quorum} validator approvals needed`, { details: refusals.map((r) => `${r.url}: ${r.error}`).join("; ") });
  }
}
