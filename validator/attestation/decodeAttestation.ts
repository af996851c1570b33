import type { Address, Hex } from "viem";
import { hex } from "./bytes.js";
import { parseCoseSign1 } from "./coseSign1.js";
import { parseAttestationDocument, type AttestationDocument } from "./document.js";
import { publicKeyToAddress, secp256k1PublicKeyFromDocument } from "./enclaveKey.js";
import { measurementOf } from "./measurement.js";
import { keyConfigHashOfUserData, parseNitridingUserData, type NitridingUserData } from "./userData.js";

/** The fields of an attestation document in display form. */
export type AttestationFields = {
  moduleId: string;
  digest: "SHA384";
  /** Unix time in milliseconds, as in the document. */
  timestamp: number;
  /** Every PCR of the document, by index. */
  pcrs: Record<number, Hex>;
  /** `keccak256(pcr0 ‖ pcr1 ‖ pcr2)`, see `measurementOf`. */
  measurement: Hex;
  publicKey: Hex | undefined;
  /** Address of `public_key` when it is a secp256k1 key. */
  publicKeyAddress: Address | undefined;
  userData: Hex | undefined;
  /** `user_data` split into its nitriding fields when it is 68 bytes (or the 102-byte proofpath layout). */
  nitridingUserData: NitridingUserData | undefined;
  /** The OHTTP key config hash `user_data` binds (proofpath layout), else `undefined`. */
  keyConfigHash: Hex | undefined;
  nonce: Hex | undefined;
};

/** Display form of a parsed document. */
export function attestationFields(doc: AttestationDocument): AttestationFields {
  const pcrs: Record<number, Hex> = {};
  for (const [index, value] of [...doc.pcrs].sort(([a], [b]) => a - b)) pcrs[index] = hex(value);
  const docKey = doc.publicKey === undefined ? undefined : secp256k1PublicKeyFromDocument(doc.publicKey);
  return {
    moduleId: doc.moduleId,
    digest: doc.digest,
    timestamp: doc.timestamp,
    pcrs,
    measurement: measurementOf(doc.pcrs),
    publicKey: doc.publicKey === undefined ? undefined : hex(doc.publicKey),
    publicKeyAddress: docKey === undefined ? undefined : publicKeyToAddress(docKey),
    userData: doc.userData === undefined ? undefined : hex(doc.userData),
    nitridingUserData: doc.userData === undefined ? undefined : parseNitridingUserData(doc.userData),
    keyConfigHash: keyConfigHashOfUserData(doc.userData),
    nonce: doc.nonce === undefined ? undefined : hex(doc.nonce),
  };
}

/**
 * Decodes an attestation document WITHOUT verifying anything (no signature, chain, freshness or
 * allowlist check): for display and debugging only. Use `verifyAttestation` to trust its contents.
 *
 * @throws {AttestationMalformedError} / {AttestationUnsupportedAlgorithmError} as `verifyAttestation`.
 */
export function decodeAttestationUnverified(document: Uint8Array): AttestationFields {
  return attestationFields(parseAttestationDocument(parseCoseSign1(document).payload));
}
