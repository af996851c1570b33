import { createPublicKey } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { getAddress, isAddress, keccak256, type Address, type Hex } from "viem";
import { bytesParameter } from "./bytes.js";
import { AttestationInvalidParameterError } from "./errors.js";

/** The enclave's Ethereum signing key as the caller knows it: its public key, its address, or both. */
export type EnclaveKey = {
  /** secp256k1 public key: 65-byte uncompressed (`0x04…`), 64-byte raw x ‖ y, or 33-byte compressed. */
  publicKey?: Hex | Uint8Array | undefined;
  /** Ethereum address (any case). */
  address?: Hex | undefined;
};

/** An {@link EnclaveKey} in canonical form. */
export type NormalizedEnclaveKey = {
  /** 65-byte uncompressed public key, when the caller gave one. */
  publicKey: Uint8Array | undefined;
  address: Address;
};

/** Ethereum address of a 65-byte uncompressed secp256k1 public key. */
export function publicKeyToAddress(uncompressed: Uint8Array): Address {
  return getAddress(`0x${keccak256(uncompressed.subarray(1)).slice(-40)}`);
}

/** Decodes and validates a secp256k1 point (33, 64 or 65 bytes); `undefined` when it is not one. */
function uncompressedPoint(bytes: Uint8Array): Uint8Array | undefined {
  const candidate = bytes.length === 64 ? Uint8Array.of(4, ...bytes) : bytes;
  if (candidate.length !== 65 && candidate.length !== 33) return undefined;
  try {
    return secp256k1.Point.fromBytes(candidate).toBytes(false);
  } catch {
    return undefined;
  }
}

/**
 * Normalises the caller's enclave key.
 *
 * @throws {AttestationInvalidParameterError} not a secp256k1 key / address, or the two disagree.
 */
export function normalizeEnclaveKey(key: EnclaveKey): NormalizedEnclaveKey {
  let publicKey: Uint8Array | undefined;
  if (key.publicKey !== undefined) {
    publicKey = uncompressedPoint(bytesParameter(key.publicKey, "enclaveKey.publicKey"));
    if (publicKey === undefined) {
      throw new AttestationInvalidParameterError({
        parameter: "enclaveKey.publicKey",
        reason: "not a secp256k1 public key (65-byte uncompressed, 64-byte x || y or 33-byte compressed)",
      });
    }
  }
  let address: Address | undefined;
  if (key.address !== undefined) {
    if (typeof key.address !== "string" || !isAddress(key.address, { strict: false })) {
      throw new AttestationInvalidParameterError({
        parameter: "enclaveKey.address",
        reason: `${JSON.stringify(key.address)} is not an Ethereum address`,
      });
    }
    address = getAddress(key.address);
  }
  if (publicKey !== undefined) {
    const derived = publicKeyToAddress(publicKey);
    if (address !== undefined && address !== derived) {
      throw new AttestationInvalidParameterError({
        parameter: "enclaveKey",
        reason: `address ${address} is not the address of the public key (${derived})`,
      });
    }
    address = derived;
  }
  if (address === undefined) {
    throw new AttestationInvalidParameterError({ parameter: "enclaveKey", reason: "give publicKey or address" });
  }
  return { publicKey, address };
}

/** OpenSSL's name of the secp256k1 curve. */
const SECP256K1_CURVE = "secp256k1";

/**
 * Reads the document's `public_key` as a secp256k1 key: either the 65-byte uncompressed point or a
 * SubjectPublicKeyInfo DER holding one. Returns the 65-byte uncompressed point, or `undefined` when
 * `public_key` is something else (an RSA key for KMS, a TLS key, …).
 */
export function secp256k1PublicKeyFromDocument(publicKey: Uint8Array): Uint8Array | undefined {
  if (publicKey.length === 65 && publicKey[0] === 4) return uncompressedPoint(publicKey);
  if (publicKey[0] !== 0x30) return undefined; // not a DER SEQUENCE
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey), format: "der", type: "spki" });
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== SECP256K1_CURVE) return undefined;
    const jwk = key.export({ format: "jwk" });
    if (typeof jwk.x !== "string" || typeof jwk.y !== "string") return undefined;
    const point = Uint8Array.of(4, ...Buffer.from(jwk.x, "base64url"), ...Buffer.from(jwk.y, "base64url"));
    return uncompressedPoint(point);
  } catch {
    return undefined;
  }
}
