import { createHash } from "node:crypto";
import type { Hex } from "viem";
import { bytesParameter, hex } from "./bytes.js";
import { AttestationInvalidParameterError } from "./errors.js";

/**
 * `user_data` layouts.
 *
 * nitriding (68 bytes):
 *   0x1220 ‖ SHA-256(TLS certificate) ‖ 0x1220 ‖ SHA-256(65-byte uncompressed signing public key)
 *
 * proofpath (102 bytes) = the nitriding 68 bytes, unchanged, followed by
 *   0x1b20 ‖ keccak256(encoded OHTTP key config)      (multihash `keccak-256`, 32 bytes)
 * The tail binds the enclave's OHTTP key config: its keccak256 is the registry's `keyConfigHash`,
 * so a validator approves the key config together with the signing key and the measurement. The
 * first 68 bytes are byte-for-byte nitriding's, so a verifier that knows only nitriding reads the
 * same TLS and signing-key hashes at the same offsets; the tail is self-describing (multihash).
 */
/** Length of nitriding-style `user_data`: prefix ‖ TLS cert hash ‖ prefix ‖ signing key hash. */
export const NITRIDING_USER_DATA_LENGTH = 68;
/** Length of proofpath `user_data`: the nitriding 68 bytes ‖ 0x1b20 ‖ keccak256(OHTTP key config). */
export const PROOFPATH_USER_DATA_LENGTH = 102;
/** The 2-byte prefix nitriding writes before each hash: multihash `sha2-256`, 32 bytes. */
export const MULTIHASH_SHA2_256_PREFIX = Uint8Array.of(0x12, 0x20);
/** The 2-byte prefix before the key config hash: multihash `keccak-256` (0x1b), 32 bytes. */
export const MULTIHASH_KECCAK_256_PREFIX = Uint8Array.of(0x1b, 0x20);

/** `user_data` in the nitriding layout. */
export type NitridingUserData = {
  tlsCertificateHashPrefix: Hex;
  /** SHA-256 of the enclave's TLS certificate. */
  tlsCertificateHash: Hex;
  signingKeyHashPrefix: Hex;
  /** SHA-256 of the enclave signing key's 65-byte uncompressed secp256k1 public key. */
  signingKeyHash: Hex;
  /** proofpath layout only: keccak256 of the enclave's OHTTP key config (the registry's `keyConfigHash`). */
  keyConfigHash?: Hex | undefined;
};

/** The hash `user_data` carries for a signing key: SHA-256 of its 65-byte uncompressed public key. */
export function signingKeyHash(uncompressedPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(uncompressedPublicKey).digest());
}

/** Whether `user_data` has a layout whose first 68 bytes are nitriding's (68 or proofpath's 102 bytes). */
export function hasNitridingPrefix(userData: Uint8Array): boolean {
  return userData.length === NITRIDING_USER_DATA_LENGTH || isProofpathUserData(userData);
}

/** Whether `user_data` is in the proofpath layout: 102 bytes with the `keccak-256` multihash prefix at 68. */
export function isProofpathUserData(userData: Uint8Array): boolean {
  return (
    userData.length === PROOFPATH_USER_DATA_LENGTH &&
    userData[68] === MULTIHASH_KECCAK_256_PREFIX[0] &&
    userData[69] === MULTIHASH_KECCAK_256_PREFIX[1]
  );
}

/** The OHTTP key config hash proofpath `user_data` binds, or `undefined` when it is not in that layout. */
export function keyConfigHashOfUserData(userData: Uint8Array | undefined): Hex | undefined {
  return userData !== undefined && isProofpathUserData(userData) ? hex(userData.subarray(70, 102)) : undefined;
}

/**
 * Splits `user_data` into its nitriding fields (2-byte prefix, 32-byte TLS certificate hash, 2-byte
 * prefix, 32-byte signing key hash), plus `keyConfigHash` in the 102-byte proofpath layout. Any
 * nitriding prefix is accepted (nitriding writes the multihash prefix `0x1220`). Returns
 * `undefined` for any other layout.
 */
export function parseNitridingUserData(userData: Uint8Array): NitridingUserData | undefined {
  if (!hasNitridingPrefix(userData)) return undefined;
  return {
    tlsCertificateHashPrefix: hex(userData.subarray(0, 2)),
    tlsCertificateHash: hex(userData.subarray(2, 34)),
    signingKeyHashPrefix: hex(userData.subarray(34, 36)),
    signingKeyHash: hex(userData.subarray(36, 68)),
    ...(isProofpathUserData(userData) ? { keyConfigHash: hex(userData.subarray(70, 102)) } : {}),
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

/**
 * Builds proofpath `user_data` (102 bytes): the nitriding layout for the signing key, followed by
 * `0x1b20 ‖ keyConfigHash`, so the attestation binds the enclave's OHTTP key config too.
 *
 * @param keyConfigHash keccak256 of the enclave's encoded OHTTP key config (the registry's `keyConfigHash`).
 */
export function encodeProofpathUserData({
  signingPublicKey,
  keyConfigHash,
  tlsCertificateHash,
}: {
  signingPublicKey: Hex | Uint8Array;
  keyConfigHash: Hex | Uint8Array;
  tlsCertificateHash?: Hex | Uint8Array | undefined;
}): Uint8Array {
  const nitriding = encodeNitridingUserData({ signingPublicKey, tlsCertificateHash });
  const h = bytesParameter(keyConfigHash, "keyConfigHash");
  if (h.length !== 32)
    throw new AttestationInvalidParameterError({ parameter: "keyConfigHash", reason: "expected 32 bytes" });
  const out = new Uint8Array(PROOFPATH_USER_DATA_LENGTH);
  out.set(nitriding, 0);
  out.set(MULTIHASH_KECCAK_256_PREFIX, 68);
  out.set(h, 70);
  return out;
}
