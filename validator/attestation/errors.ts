/**
 * Errors thrown while verifying an AWS Nitro Enclaves attestation document.
 *
 * viem-style: every error has a `name`, a one-line `shortMessage`, `details`, optional
 * `metaMessages`, and the fields naming the bad value. Every failure has its own class, and all
 * of them extend {@link AttestationError}, so `err instanceof AttestationError` tells "the document
 * is not acceptable" apart from bugs. None is retryable: the same document fails the same way.
 */

import { BaseError, type BaseErrorParameters } from "../../sdk/errors.js";

export type AttestationErrorParameters = BaseErrorParameters;

/** Base class of every error this library throws. */
export class AttestationError extends BaseError {
  override name: string = "AttestationError";
}

/** A caller passed an unusable option (trusted root, allowlist entry, key, nonce). Not a verdict on the document. */
export class AttestationInvalidParameterError extends AttestationError {
  override name = "AttestationInvalidParameterError" as const;
  readonly parameter: string;
  constructor({ parameter, reason, cause }: { parameter: string; reason: string; cause?: unknown }) {
    super(`Invalid parameter "${parameter}": ${reason}.`, { cause });
    this.parameter = parameter;
  }
}

/** Truncated input, not CBOR, or not the COSE_Sign1 / attestation document structure. */
export class AttestationMalformedError extends AttestationError {
  override name = "AttestationMalformedError" as const;
  readonly reason: string;
  constructor({ reason, cause }: { reason: string; cause?: unknown }) {
    super(`Malformed attestation document: ${reason}.`, { cause });
    this.reason = reason;
  }
}

/** The COSE algorithm is not ES384, the digest is not SHA384, or the signing key is not P-384. */
export class AttestationUnsupportedAlgorithmError extends AttestationError {
  override name = "AttestationUnsupportedAlgorithmError" as const;
  readonly algorithm: string;
  constructor({ algorithm, expected }: { algorithm: string; expected: string }) {
    super(`Unsupported algorithm ${algorithm}; expected ${expected}.`);
    this.algorithm = algorithm;
  }
}

/** The certificate chain does not lead to the trusted root (wrong root, broken link, bad certificate). */
export class AttestationCertificateChainError extends AttestationError {
  override name = "AttestationCertificateChainError" as const;
  readonly reason: string;
  constructor({ reason, cause }: { reason: string; cause?: unknown }) {
    super(`Certificate chain rejected: ${reason}.`, { cause });
    this.reason = reason;
  }
}

/** A certificate of the chain expired before the verification time. */
export class AttestationCertificateExpiredError extends AttestationError {
  override name = "AttestationCertificateExpiredError" as const;
  readonly subject: string;
  readonly notAfter: Date;
  readonly at: Date;
  constructor({ subject, notAfter, at }: { subject: string; notAfter: Date; at: Date }) {
    super(`Certificate "${subject}" expired at ${notAfter.toISOString()}.`, {
      details: `verification time ${at.toISOString()} is after notAfter ${notAfter.toISOString()}`,
    });
    this.subject = subject;
    this.notAfter = notAfter;
    this.at = at;
  }
}

/** A certificate of the chain is not valid yet at the verification time. */
export class AttestationCertificateNotYetValidError extends AttestationError {
  override name = "AttestationCertificateNotYetValidError" as const;
  readonly subject: string;
  readonly notBefore: Date;
  readonly at: Date;
  constructor({ subject, notBefore, at }: { subject: string; notBefore: Date; at: Date }) {
    super(`Certificate "${subject}" is not valid before ${notBefore.toISOString()}.`, {
      details: `verification time ${at.toISOString()} is before notBefore ${notBefore.toISOString()}`,
    });
    this.subject = subject;
    this.notBefore = notBefore;
    this.at = at;
  }
}

/** The COSE_Sign1 signature does not verify with the leaf certificate's key. */
export class AttestationSignatureError extends AttestationError {
  override name = "AttestationSignatureError" as const;
  readonly reason: string;
  constructor({ reason, cause }: { reason: string; cause?: unknown }) {
    super(`Attestation signature is invalid: ${reason}.`, { cause });
    this.reason = reason;
  }
}

/** The document is older than `maxAgeSec` at the verification time. */
export class AttestationStaleError extends AttestationError {
  override name = "AttestationStaleError" as const;
  readonly timestamp: Date;
  readonly at: Date;
  readonly maxAgeSec: number;
  constructor({ timestamp, at, maxAgeSec }: { timestamp: Date; at: Date; maxAgeSec: number }) {
    const ageSec = (at.getTime() - timestamp.getTime()) / 1000;
    super(`Attestation document is stale: ${ageSec}s old, at most ${maxAgeSec}s allowed.`, {
      details: `timestamp ${timestamp.toISOString()}, verification time ${at.toISOString()}`,
    });
    this.timestamp = timestamp;
    this.at = at;
    this.maxAgeSec = maxAgeSec;
  }
}

/** The document's timestamp lies after the verification time by more than the allowed clock skew. */
export class AttestationTimestampInFutureError extends AttestationError {
  override name = "AttestationTimestampInFutureError" as const;
  readonly timestamp: Date;
  readonly at: Date;
  readonly clockSkewSec: number;
  constructor({ timestamp, at, clockSkewSec }: { timestamp: Date; at: Date; clockSkewSec: number }) {
    super(`Attestation document is dated in the future: ${timestamp.toISOString()}.`, {
      details: `verification time ${at.toISOString()}, allowed clock skew ${clockSkewSec}s`,
    });
    this.timestamp = timestamp;
    this.at = at;
    this.clockSkewSec = clockSkewSec;
  }
}

/** PCR0..2 hash to a measurement that is not on the allowlist (or belong to a debug-mode enclave). */
export class AttestationUnknownMeasurementError extends AttestationError {
  override name = "AttestationUnknownMeasurementError" as const;
  readonly measurement: `0x${string}`;
  constructor({ measurement, reason }: { measurement: `0x${string}`; reason?: string }) {
    super(`Enclave measurement ${measurement} is not allowed.`, {
      details: reason ?? "not on the allowlist of measurements",
    });
    this.measurement = measurement;
  }
}

/** The document's nonce differs from the expected one (or is missing). */
export class AttestationNonceMismatchError extends AttestationError {
  override name = "AttestationNonceMismatchError" as const;
  readonly expected: `0x${string}`;
  readonly actual: `0x${string}` | undefined;
  constructor({ expected, actual }: { expected: `0x${string}`; actual: `0x${string}` | undefined }) {
    super(`Attestation nonce ${actual ?? "(none)"} does not match the expected nonce ${expected}.`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** Neither `public_key` nor `user_data` binds the expected enclave signing key. */
export class AttestationKeyNotBoundError extends AttestationError {
  override name = "AttestationKeyNotBoundError" as const;
  readonly address: `0x${string}`;
  constructor({ address, reasons }: { address: `0x${string}`; reasons: string[] }) {
    super(`Enclave key ${address} is not bound by the attestation document.`, {
      metaMessages: reasons.map((r) => `- ${r}`),
    });
    this.address = address;
  }
}

/**
 * The document's `user_data` does not bind the expected OHTTP key config hash (proofpath layout:
 * bytes 68..102 = `0x1b20 ‖ keyConfigHash`): absent, another layout, or another hash.
 */
export class AttestationKeyConfigNotBoundError extends AttestationError {
  override name = "AttestationKeyConfigNotBoundError" as const;
  readonly expected: `0x${string}`;
  /** The hash the document binds, when it binds one. */
  readonly actual: `0x${string}` | undefined;
  constructor({
    expected,
    actual,
    reason,
  }: { expected: `0x${string}`; actual: `0x${string}` | undefined; reason: string }) {
    super(`OHTTP key config hash ${expected} is not bound by the attestation document: ${reason}.`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** Union of every error `verifyAttestation` can throw. */
export type VerifyAttestationErrorType =
  | AttestationInvalidParameterError
  | AttestationMalformedError
  | AttestationUnsupportedAlgorithmError
  | AttestationCertificateChainError
  | AttestationCertificateExpiredError
  | AttestationCertificateNotYetValidError
  | AttestationSignatureError
  | AttestationStaleError
  | AttestationTimestampInFutureError
  | AttestationUnknownMeasurementError
  | AttestationNonceMismatchError
  | AttestationKeyNotBoundError
  | AttestationKeyConfigNotBoundError;
