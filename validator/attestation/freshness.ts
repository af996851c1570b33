import { AttestationStaleError, AttestationTimestampInFutureError } from "./errors.js";

/** Default for `maxAgeSec`: how old a document may be when it is verified. */
export const DEFAULT_MAX_AGE_SEC = 600;
/** Default for `clockSkewSec`: how far in the future a document's timestamp may lie. */
export const DEFAULT_CLOCK_SKEW_SEC = 60;

/**
 * Checks that a document dated `timestampMs` (unix ms) was produced at most `maxAgeSec` before
 * `at`, and not more than `clockSkewSec` after it.
 *
 * @throws {AttestationStaleError} too old.
 * @throws {AttestationTimestampInFutureError} dated in the future.
 */
export function checkFreshness({
  timestampMs,
  at,
  maxAgeSec,
  clockSkewSec,
}: {
  timestampMs: number;
  at: Date;
  maxAgeSec: number;
  clockSkewSec: number;
}): void {
  const ageMs = at.getTime() - timestampMs;
  if (ageMs > maxAgeSec * 1000) {
    throw new AttestationStaleError({ timestamp: new Date(timestampMs), at, maxAgeSec });
  }
  if (-ageMs > clockSkewSec * 1000) {
    throw new AttestationTimestampInFutureError({ timestamp: new Date(timestampMs), at, clockSkewSec });
  }
}
