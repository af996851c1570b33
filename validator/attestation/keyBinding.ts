import type { Address } from "viem";
import { equalBytes, hex } from "./bytes.js";
import { publicKeyToAddress, secp256k1PublicKeyFromDocument, type NormalizedEnclaveKey } from "./enclaveKey.js";
import { AttestationKeyNotBoundError } from "./errors.js";
import {
  NITRIDING_USER_DATA_LENGTH,
  PROOFPATH_USER_DATA_LENGTH,
  hasNitridingPrefix,
  signingKeyHash,
} from "./userData.js";

/** How the document binds the enclave signing key. */
export type KeyBinding = {
  /** `public_key`: the document's public key is the signing key; `user_data`: its nitriding key hash is. */
  method: "public_key" | "user_data";
  address: Address;
};

/**
 * Checks that the document binds the expected enclave signing key, by either
 * - `public_key`: a secp256k1 key (65-byte uncompressed or SPKI DER) with the expected address, or
 * - `user_data`: nitriding bytes (68, or the 102-byte proofpath layout that starts with them) whose
 *   bytes 36..68 are SHA-256 of the expected 65-byte public key.
 *   A hash can't be checked against an address: this path needs `enclaveKey.publicKey`.
 *
 * @throws {AttestationKeyNotBoundError} neither binds the key; the meta messages say why for each.
 */
export function checkKeyBinding({
  publicKey,
  userData,
  key,
}: {
  publicKey: Uint8Array | undefined;
  userData: Uint8Array | undefined;
  key: NormalizedEnclaveKey;
}): KeyBinding {
  const reasons: string[] = [];

  if (publicKey === undefined) {
    reasons.push("the document has no public_key");
  } else {
    const docKey = secp256k1PublicKeyFromDocument(publicKey);
    if (docKey === undefined) {
      reasons.push(`public_key (${publicKey.length} bytes) is not a secp256k1 key (uncompressed point or SPKI DER)`);
    } else {
      const docAddress = publicKeyToAddress(docKey);
      if (docAddress === key.address) return { method: "public_key", address: key.address };
      reasons.push(`public_key belongs to ${docAddress}`);
    }
  }

  if (userData === undefined) {
    reasons.push("the document has no user_data");
  } else if (!hasNitridingPrefix(userData)) {
    reasons.push(
      `user_data is ${userData.length} bytes, neither the ${NITRIDING_USER_DATA_LENGTH}-byte nitriding layout nor the ${PROOFPATH_USER_DATA_LENGTH}-byte proofpath layout`,
    );
  } else if (key.publicKey === undefined) {
    reasons.push(
      "user_data carries a SHA-256 of the signing public key, which can't be checked against an address: pass enclaveKey.publicKey (POST /approvals: publicKey)",
    );
  } else if (equalBytes(userData.subarray(36, 68), signingKeyHash(key.publicKey))) {
    return { method: "user_data", address: key.address };
  } else {
    reasons.push(
      `user_data's key hash ${hex(userData.subarray(36, 68))} is not SHA-256 of the public key (${hex(signingKeyHash(key.publicKey))})`,
    );
  }

  throw new AttestationKeyNotBoundError({ address: key.address, reasons });
}
