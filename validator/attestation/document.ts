import { plainBytes } from "./bytes.js";
import { decodeCbor } from "./cbor.js";
import { AttestationMalformedError, AttestationUnsupportedAlgorithmError } from "./errors.js";

/** Digest algorithm of every Nitro attestation document. */
export const NITRO_DIGEST = "SHA384";
/** Length of one PCR value with SHA-384. */
export const PCR_LENGTH = 48;
/** The NSM has 32 PCRs, 0..31. */
export const MAX_PCR_INDEX = 31;
/** Upper bound for `public_key`, `user_data` and `nonce` (the NSM allows at most 1024 bytes). */
export const MAX_OPTIONAL_FIELD_BYTES = 1024;

/**
 * The payload of a Nitro attestation document, as signed by the NSM. Nothing here is verified:
 * see `verifyAttestation`.
 */
export type AttestationDocument = {
  moduleId: string;
  digest: typeof NITRO_DIGEST;
  /** Unix time in milliseconds. */
  timestamp: number;
  /** PCR index → 48-byte value; always contains 0, 1 and 2. */
  pcrs: Map<number, Uint8Array>;
  /** DER of the certificate whose key signed the document. */
  certificate: Uint8Array;
  /** DER certificates, root first; the last one issued `certificate`. */
  cabundle: Uint8Array[];
  publicKey: Uint8Array | undefined;
  userData: Uint8Array | undefined;
  nonce: Uint8Array | undefined;
};

function malformed(reason: string): never {
  throw new AttestationMalformedError({ reason });
}

function optionalBytes(doc: Map<unknown, unknown>, key: string): Uint8Array | undefined {
  const value = doc.get(key);
  // The NSM writes absent optional fields as CBOR null.
  if (value === undefined || value === null) return undefined;
  if (!(value instanceof Uint8Array)) malformed(`"${key}" is not a byte string`);
  if (value.length > MAX_OPTIONAL_FIELD_BYTES) {
    malformed(`"${key}" is ${value.length} bytes, more than ${MAX_OPTIONAL_FIELD_BYTES}`);
  }
  return plainBytes(value);
}

function derBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0) malformed(`${what} is not a non-empty byte string`);
  return plainBytes(value);
}

/**
 * Decodes and structurally checks the attestation document carried in a COSE_Sign1 payload.
 *
 * @throws {AttestationMalformedError} not CBOR, or a field missing or of the wrong type / size.
 * @throws {AttestationUnsupportedAlgorithmError} `digest` is not "SHA384".
 */
export function parseAttestationDocument(payload: Uint8Array): AttestationDocument {
  const doc = decodeCbor(payload, "attestation document payload");
  if (!(doc instanceof Map)) malformed("payload is not a CBOR map");

  const moduleId = doc.get("module_id");
  if (typeof moduleId !== "string" || moduleId.length === 0) malformed(`"module_id" is not a non-empty text string`);

  const digest = doc.get("digest");
  if (typeof digest !== "string") malformed(`"digest" is not a text string`);
  if (digest !== NITRO_DIGEST) {
    throw new AttestationUnsupportedAlgorithmError({ algorithm: `digest ${digest}`, expected: NITRO_DIGEST });
  }

  const rawTimestamp = doc.get("timestamp");
  const timestamp = typeof rawTimestamp === "bigint" ? Number(rawTimestamp) : rawTimestamp;
  if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp) || timestamp <= 0) {
    malformed(`"timestamp" is not a positive integer (milliseconds)`);
  }

  const rawPcrs = doc.get("pcrs");
  if (!(rawPcrs instanceof Map) || rawPcrs.size === 0 || rawPcrs.size > MAX_PCR_INDEX + 1) {
    malformed(`"pcrs" is not a map of 1..${MAX_PCR_INDEX + 1} entries`);
  }
  const pcrs = new Map<number, Uint8Array>();
  for (const [index, value] of rawPcrs) {
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > MAX_PCR_INDEX) {
      malformed(`PCR index ${String(index)} is not an integer in 0..${MAX_PCR_INDEX}`);
    }
    if (!(value instanceof Uint8Array) || value.length !== PCR_LENGTH) {
      malformed(`PCR${index} is not a ${PCR_LENGTH}-byte string`);
    }
    pcrs.set(index, plainBytes(value));
  }
  for (const index of [0, 1, 2]) if (!pcrs.has(index)) malformed(`PCR${index} is missing`);

  const certificate = derBytes(doc.get("certificate"), `"certificate"`);
  const rawBundle = doc.get("cabundle");
  if (!Array.isArray(rawBundle) || rawBundle.length === 0) malformed(`"cabundle" is not a non-empty array`);
  const cabundle = rawBundle.map((der, i) => derBytes(der, `"cabundle"[${i}]`));

  return {
    moduleId,
    digest: NITRO_DIGEST,
    timestamp,
    pcrs,
    certificate,
    cabundle,
    publicKey: optionalBytes(doc, "public_key"),
    userData: optionalBytes(doc, "user_data"),
    nonce: optionalBytes(doc, "nonce"),
  };
}
