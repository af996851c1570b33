import { Tag } from "cbor2";
import { plainBytes } from "./bytes.js";
import { decodeCbor } from "./cbor.js";
import { AttestationMalformedError, AttestationUnsupportedAlgorithmError } from "./errors.js";

/** CBOR tag of a COSE_Sign1 message (RFC 9052 §4.2). */
export const COSE_SIGN1_TAG = 18;
/** COSE header parameter labels (RFC 9052 §3.1). */
export const COSE_HEADER_ALG = 1;
export const COSE_HEADER_CRIT = 2;
/** COSE algorithm id of ECDSA with SHA-384 (RFC 9053 §2.1). */
export const COSE_ALG_ES384 = -35;

/** A decoded COSE_Sign1 message; the byte strings are exactly as they were in the input. */
export type CoseSign1 = {
  /** The serialized protected header (covered by the signature). */
  protectedHeader: Uint8Array;
  /** The decoded protected header. */
  protectedParameters: Map<unknown, unknown>;
  unprotectedParameters: Map<unknown, unknown>;
  payload: Uint8Array;
  signature: Uint8Array;
  /** Whether the message carried CBOR tag 18. */
  tagged: boolean;
};

/**
 * Parses a COSE_Sign1 message `[protected: bstr, unprotected: map, payload: bstr, signature: bstr]`,
 * optionally wrapped in CBOR tag 18, with an empty unprotected header (as the NSM emits it), and
 * checks that the protected header says ES384.
 *
 * @throws {AttestationMalformedError} truncated / non-CBOR input or the wrong structure.
 * @throws {AttestationUnsupportedAlgorithmError} the protected `alg` is not ES384 (-35).
 */
export function parseCoseSign1(message: Uint8Array): CoseSign1 {
  let value = decodeCbor(message, "attestation document");
  let tagged = false;
  if (value instanceof Tag) {
    if (Number(value.tag) !== COSE_SIGN1_TAG) {
      throw new AttestationMalformedError({
        reason: `unexpected CBOR tag ${String(value.tag)}, expected ${COSE_SIGN1_TAG} (COSE_Sign1)`,
      });
    }
    value = value.contents;
    tagged = true;
  }
  if (!Array.isArray(value) || value.length !== 4) {
    throw new AttestationMalformedError({ reason: "not a COSE_Sign1 array of 4 elements" });
  }
  const [protectedHeader, unprotected, payload, signature] = value as unknown[];
  if (!(protectedHeader instanceof Uint8Array)) {
    throw new AttestationMalformedError({ reason: "COSE protected header is not a byte string" });
  }
  if (!(unprotected instanceof Map)) {
    throw new AttestationMalformedError({ reason: "COSE unprotected header is not a map" });
  }
  if (!(payload instanceof Uint8Array)) {
    throw new AttestationMalformedError({
      reason: "COSE payload is not a byte string (detached payloads are not supported)",
    });
  }
  if (!(signature instanceof Uint8Array)) {
    throw new AttestationMalformedError({ reason: "COSE signature is not a byte string" });
  }

  // A zero-length protected header stands for the empty map (RFC 9052 §3).
  const protectedParameters =
    protectedHeader.length === 0 ? new Map() : decodeCbor(protectedHeader, "COSE protected header");
  if (!(protectedParameters instanceof Map)) {
    throw new AttestationMalformedError({ reason: "COSE protected header is not a CBOR map" });
  }
  // The NSM always sends an empty unprotected header. Nothing in it is signed, so accepting entries
  // would only let anyone re-wrap a document into other bytes (another attestationHash).
  if (unprotected.size !== 0) {
    throw new AttestationMalformedError({
      reason: `COSE unprotected header has ${unprotected.size} entries; Nitro attestation documents have none`,
    });
  }
  if (protectedParameters.has(COSE_HEADER_CRIT)) {
    throw new AttestationMalformedError({ reason: "COSE critical header parameters are not supported" });
  }
  const alg = protectedParameters.get(COSE_HEADER_ALG);
  if (alg !== COSE_ALG_ES384) {
    throw new AttestationUnsupportedAlgorithmError({
      algorithm: alg === undefined ? "(no alg in the protected header)" : `COSE alg ${String(alg)}`,
      expected: `ES384 (${COSE_ALG_ES384})`,
    });
  }

  return {
    protectedHeader: plainBytes(protectedHeader),
    protectedParameters,
    unprotectedParameters: unprotected,
    payload: plainBytes(payload),
    signature: plainBytes(signature),
    tagged,
  };
}
