import { decode, type DecodeOptions } from "cbor2";
import { AttestationMalformedError } from "./errors.js";

/**
 * Strict CBOR decoding for untrusted attestation input: one data item with no trailing bytes,
 * maps always as `Map`, duplicate keys rejected, tags left uninterpreted (a `Tag` object) so no
 * registered tag decoder runs on attacker data, and a small nesting limit. Indefinite-length
 * items are allowed: real NSM documents encode the payload map that way.
 */
const STRICT: DecodeOptions = {
  ignoreGlobalTags: true,
  preferMap: true,
  rejectDuplicateKeys: true,
  maxDepth: 16,
};

/** Largest input accepted (real documents are about 4.5 KiB). */
export const MAX_CBOR_INPUT_BYTES = 64 * 1024;

/**
 * Decodes one CBOR data item, throwing {@link AttestationMalformedError} (never anything else)
 * when the bytes are truncated, not CBOR, or have trailing data.
 */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) {
    throw new AttestationMalformedError({ reason: `${what} is not a byte array` });
  }
  if (bytes.length === 0) throw new AttestationMalformedError({ reason: `${what} is empty` });
  if (bytes.length > MAX_CBOR_INPUT_BYTES) {
    throw new AttestationMalformedError({
      reason: `${what} is ${bytes.length} bytes, more than ${MAX_CBOR_INPUT_BYTES}`,
    });
  }
  try {
    return decode(bytes, STRICT);
  } catch (cause) {
    throw new AttestationMalformedError({ reason: `${what} is not valid CBOR`, cause });
  }
}
