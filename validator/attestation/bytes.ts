import { bytesToHex, hexToBytes, isHex, type Hex } from "viem";
import { AttestationInvalidParameterError } from "./errors.js";

/**
 * A plain `Uint8Array` view of the same memory. Decoders hand back `Buffer`s when given a
 * `Buffer`, and CBOR encoders serialise a `Buffer` differently from a byte string, so every byte
 * string that is re-encoded (the COSE Sig_structure) must go through here first.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Byte-for-byte equality. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Parses a caller-supplied `0x` hex string (or passes bytes through), naming the parameter on failure. */
export function bytesParameter(value: Hex | Uint8Array, parameter: string): Uint8Array {
  if (value instanceof Uint8Array) return plainBytes(value);
  if (typeof value !== "string" || !isHex(value, { strict: true }) || value.length % 2 !== 0) {
    throw new AttestationInvalidParameterError({
      parameter,
      reason: `expected 0x-prefixed hex with an even number of digits, got ${JSON.stringify(value)}`,
    });
  }
  return hexToBytes(value);
}

/** Lower-case `0x` hex of bytes. */
export function hex(bytes: Uint8Array): Hex {
  return bytesToHex(bytes);
}
