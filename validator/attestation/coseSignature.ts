import { verify, type KeyObject } from "node:crypto";
import { encode } from "cbor2";
import type { CoseSign1 } from "./coseSign1.js";
import { AttestationSignatureError, AttestationUnsupportedAlgorithmError } from "./errors.js";

/** Length of a raw ES384 signature: r ‖ s, 48 bytes each. */
export const ES384_SIGNATURE_LENGTH = 96;

/**
 * The bytes a COSE_Sign1 signature covers (RFC 9052 §4.4):
 * `["Signature1", protected, external_aad = h'', payload]`, CBOR-encoded.
 */
export function coseSign1SigStructure(
  protectedHeader: Uint8Array,
  payload: Uint8Array,
  externalAad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return encode(["Signature1", protectedHeader, externalAad, payload]);
}

/**
 * Verifies an ES384 COSE_Sign1 signature (ECDSA P-384 over SHA-384, raw r ‖ s) with `publicKey`.
 *
 * @throws {AttestationUnsupportedAlgorithmError} the key is not an EC P-384 key.
 * @throws {AttestationSignatureError} the signature has the wrong length or does not verify.
 */
export function verifyCoseSign1Signature(cose: CoseSign1, publicKey: KeyObject): void {
  const curve = publicKey.asymmetricKeyType === "ec" ? publicKey.asymmetricKeyDetails?.namedCurve : undefined;
  if (curve !== "secp384r1") {
    throw new AttestationUnsupportedAlgorithmError({
      algorithm: `signing certificate key ${publicKey.asymmetricKeyType ?? "?"}${curve ? ` ${curve}` : ""}`,
      expected: "an EC P-384 key (ES384)",
    });
  }
  if (cose.signature.length !== ES384_SIGNATURE_LENGTH) {
    throw new AttestationSignatureError({
      reason: `signature is ${cose.signature.length} bytes, expected ${ES384_SIGNATURE_LENGTH} (raw r || s)`,
    });
  }
  let ok: boolean;
  try {
    ok = verify(
      "sha384",
      coseSign1SigStructure(cose.protectedHeader, cose.payload),
      { key: publicKey, dsaEncoding: "ieee-p1363" },
      cose.signature,
    );
  } catch (cause) {
    throw new AttestationSignatureError({ reason: "signature could not be checked", cause });
  }
  if (!ok) {
    throw new AttestationSignatureError({
      reason: "ECDSA P-384 / SHA-384 verification with the signing certificate's key failed",
    });
  }
}
