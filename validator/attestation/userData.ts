import { createHash } from "node:crypto";
import type { Hex } from "viem";
import { bytesParameter, hex } from "./bytes.js";
import { AttestationInvalidParameterError } from "./errors.js";

/** Length of nitriding-style `user_data`: prefix ‖ TLS cert hash ‖ prefix ‖ signing key hash. */
export const NITRIDING_USER_DATA_LENGTH = 68;
/** The 2-byte prefix nitriding writes before each hash: multihash `sha2-256`, 32 bytes. */
export const MULTIHASH_SHA2_256_PREFIX = Uint8Array.of(0x12, 0x20);

/** `user_data` in the nitriding layout. */
export type NitridingUserData = {
  tlsCertificateHashPrefix: Hex;
  /** SHA-256 of the enclave's TLS certificate. */
  tlsCertificateHash: Hex;
  signingKeyHashPrefix: Hex;
  /** SHA-256 of the enclave signing key's 65-byte uncompressed secp256k1 public key. */
  signingKeyHash: Hex;
};

/** The hash `user_data` carries for a signing key: SHA-256 of its 65-byte uncompressed public key. */
export function signingKeyHash(uncompressedPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(uncompressedPublicKey).digest());
}

/**
 * Splits 68-byte `user_data` into its nitriding fields (2-byte prefix, 32-byte TLS certificate
 * hash, 2-byte prefix, 32-byte signing key hash). Any prefix is accepted (nitriding writes the
 * multihash prefix `0x1220`). Returns `undefined` for any other length.
 */
export function parseNitridingUserData(userData: Uint8Array): NitridingUserData | undefined {
  if (userData.length !== NITRIDING_USER_DATA_LENGTH) return undefined;
  return {
    tlsCertificateHashPrefix: hex(userData.subarray(0, 2)),
    tlsCertificateHash: hex(userData.subarray(2, 34)),
    signingKeyHashPrefix: hex(userData.subarray(34, 36)),
    signingKeyHash: hex(userData.subarray(36, 68)),
  };
}

/**
 * Builds nitriding-style `user_data` for an enclave: what a gateway passes to the NSM so that its
 * attestation document binds its signing key.
 *
 * @param signingPublicKey 65-byte uncompressed secp256k1 public key of the enclave signing key.
 * @param tlsCertificateHash SHA-256 of the enclave's TLS certificate (32 zero bytes when it has none).
 */
export function encodeNitridingUserData({
  signingPublicKey,
  tlsCertificateHash = new Uint8Array(32),
}: {
  signingPublicKey: Hex | Uint8Array;
  tlsCertificateHash?: Hex | Uint8Array | undefined;
}): Uint8Array {
  const key = bytesParameter(signingPublicKey, "signingPublicKey");
  if (key.length !== 65 || key[0] !== 4) {
    throw new AttestationInvalidParameterError({
      parameter: "signingPublicKey",
      reason: "expected a 65-byte uncompressed secp256k1 public key",
    });
  }
  const tls = bytesParameter(tlsCertificateHash, "tlsCertificateHash");
  if (tls.length !== 32) {
    throw new AttestationInvalidParameterError({ parameter: "tlsCertificateHash", reason: "expected 32 bytes" });
  }
  const out = new Uint8Array(NITRIDING_USER_DATA_LENGTH);
  out.set(MULTIHASH_SHA2_256_PREFIX, 0);
  out.set(tls, 2);
  out.set(MULTIHASH_SHA2_256_PREFIX, 34);
  out.set(signingKeyHash(key), 36);
  return out;
}
