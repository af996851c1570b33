import { equalBytes, hex } from "./bytes.js";
import { AttestationNonceMismatchError } from "./errors.js";

/**
 * Checks that the document carries exactly the expected nonce.
 *
 * @throws {AttestationNonceMismatchError} the nonce differs or is absent.
 */
export function checkNonce({ actual, expected }: { actual: Uint8Array | undefined; expected: Uint8Array }): void {
  if (actual === undefined || !equalBytes(actual, expected)) {
    throw new AttestationNonceMismatchError({
      expected: hex(expected),
      actual: actual === undefined ? undefined : hex(actual),
    });
  }
}
