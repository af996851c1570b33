/**
 * OHTTP key configurations (RFC 9458 §3).
 *
 *   Key Config {
 *     Key Identifier (8),
 *     HPKE KEM ID (16),
 *     HPKE Public Key (Npk * 8),
 *     HPKE Symmetric Algorithms Length (16) = 4..65532,
 *     HPKE Symmetric Algorithms (32) = { HPKE KDF ID (16), HPKE AEAD ID (16) } ...,
 *   }
 *
 * and the `application/ohttp-keys` list (RFC 9458 §3.2): each Key Config prefixed by a 2-byte
 * length. The enclave publishes its key config; `keyConfigHash` (keccak256 of the encoded single
 * config) is what the gateway registry entry / attestation user data binds, so a client can refuse
 * any key the attested enclave did not announce.
 *
 * proofpath speaks DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 with AES-128-GCM, AES-256-GCM or
 * ChaCha20-Poly1305; the client uses the first of the config's (KDF, AEAD) pairs it speaks, so the
 * gateway chooses by the order it lists them in. Decoding understands the public-key sizes of every
 * RFC 9180 DHKEM so that foreign configs in a list can be read (and skipped).
 */
import { BaseError, type BaseErrorParameters } from "../errors.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { keccak256, type Hex } from "viem";

export const KEM_X25519_HKDF_SHA256 = 0x0020;
export const KDF_HKDF_SHA256 = 0x0001;
export const AEAD_AES_128_GCM = 0x0001;
export const AEAD_AES_256_GCM = 0x0002;
export const AEAD_CHACHA20_POLY1305 = 0x0003;
/** The AEADs this implementation seals and opens with (RFC 9180 §7.3 ids). */
export const SUPPORTED_AEADS: readonly number[] = Object.freeze([
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  AEAD_CHACHA20_POLY1305,
]);
export const MEDIA_TYPE_OHTTP_KEYS = "application/ohttp-keys";

/** Npk for the DHKEMs of RFC 9180 §7.1 (P-256, P-384, P-521, X25519, X448). */
const KEM_PUBLIC_KEY_LENGTH: ReadonlyMap<number, number> = new Map([
  [0x0010, 65],
  [0x0011, 97],
  [0x0012, 133],
  [0x0020, 32],
  [0x0021, 56],
]);

export interface SymmetricSuite {
  kdfId: number;
  aeadId: number;
}

export interface KeyConfig {
  /** 0..255, chosen by the gateway; carried in every encapsulated request. */
  keyId: number;
  kemId: number;
  publicKey: Uint8Array;
  /** Offered (KDF, AEAD) pairs, in preference order. */
  symmetric: readonly SymmetricSuite[];
}

/** The default suite of a new key (clients use the first pair of a config they speak). */
export const DEFAULT_SYMMETRIC: readonly SymmetricSuite[] = Object.freeze([
  Object.freeze({ kdfId: KDF_HKDF_SHA256, aeadId: AEAD_AES_128_GCM }),
]);

// ---------------------------------------------------------------------------------------------
// Errors (viem style, on sdk/errors.ts). `OhttpError` is the base of every OHTTP error in
// sdk/ohttp; none is retryable unless its class says so.
// ---------------------------------------------------------------------------------------------

export class OhttpError extends BaseError {
  override name: string = "OhttpError";
  constructor(shortMessage: string, options?: BaseErrorParameters) {
    super(shortMessage, options);
  }
}

/** Bytes that are not a well-formed key config / `application/ohttp-keys` list. Not retryable. */
export class OhttpKeyConfigError extends OhttpError {
  override name = "OhttpKeyConfigError";
  constructor(shortMessage: string) {
    super(`Invalid OHTTP key config: ${shortMessage}.`);
  }
}

/** A KEM / KDF / AEAD combination this implementation does not speak. Not retryable. */
export class OhttpUnsupportedSuiteError extends OhttpError {
  override name = "OhttpUnsupportedSuiteError";
  readonly kemId: number;
  readonly kdfId: number | undefined;
  readonly aeadId: number | undefined;
  constructor(suite: { kemId: number; kdfId?: number | undefined; aeadId?: number | undefined }, context: string) {
    const fmt = (v: number | undefined) => (v === undefined ? "-" : `0x${v.toString(16).padStart(4, "0")}`);
    super(
      `Unsupported OHTTP suite (KEM ${fmt(suite.kemId)}, KDF ${fmt(suite.kdfId)}, AEAD ${fmt(suite.aeadId)}): ${context}.`,
      {
        details:
          "Supported: DHKEM(X25519, HKDF-SHA256) 0x0020 with HKDF-SHA256 0x0001 and AES-128-GCM 0x0001, AES-256-GCM 0x0002 or ChaCha20-Poly1305 0x0003.",
      },
    );
    this.kemId = suite.kemId;
    this.kdfId = suite.kdfId;
    this.aeadId = suite.aeadId;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding / decoding
// ---------------------------------------------------------------------------------------------

function checkU(v: number, bits: 8 | 16, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits)
    throw new OhttpKeyConfigError(`${what} ${v} does not fit in ${bits} bits`);
}

/** Encodes one Key Config (RFC 9458 §3.1). */
export function encodeKeyConfig(config: KeyConfig): Uint8Array {
  checkU(config.keyId, 8, "key id");
  checkU(config.kemId, 16, "KEM id");
  const npk = KEM_PUBLIC_KEY_LENGTH.get(config.kemId);
  if (npk !== undefined && config.publicKey.length !== npk) {
    throw new OhttpKeyConfigError(
      `public key is ${config.publicKey.length} bytes, KEM 0x${config.kemId.toString(16)} needs ${npk}`,
    );
  }
  const n = config.symmetric.length;
  if (n < 1 || n > 16383) throw new OhttpKeyConfigError(`${n} symmetric suites (need 1..16383)`);
  const out = new Uint8Array(3 + config.publicKey.length + 2 + 4 * n);
  const dv = new DataView(out.buffer);
  out[0] = config.keyId;
  dv.setUint16(1, config.kemId);
  out.set(config.publicKey, 3);
  let off = 3 + config.publicKey.length;
  dv.setUint16(off, 4 * n);
  off += 2;
  for (const s of config.symmetric) {
    checkU(s.kdfId, 16, "KDF id");
    checkU(s.aeadId, 16, "AEAD id");
    dv.setUint16(off, s.kdfId);
    dv.setUint16(off + 2, s.aeadId);
    off += 4;
  }
  return out;
}

/** Reads one Key Config starting at `offset`; returns it and the offset just past it. */
function readKeyConfig(bytes: Uint8Array, offset: number): { config: KeyConfig; end: number } {
  const remaining = bytes.length - offset;
  if (remaining < 3)
    throw new OhttpKeyConfigError(`truncated: ${remaining} byte(s), need at least 3 for key id and KEM id`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keyId = bytes[offset]!;
  const kemId = dv.getUint16(offset + 1);
  const npk = KEM_PUBLIC_KEY_LENGTH.get(kemId);
  if (npk === undefined)
    throw new OhttpUnsupportedSuiteError({ kemId }, "unknown KEM, its public key length is unknown");
  let off = offset + 3;
  if (bytes.length - off < npk + 2)
    throw new OhttpKeyConfigError(
      `truncated: public key and algorithms length need ${npk + 2} byte(s), ${bytes.length - off} remain`,
    );
  const publicKey = bytes.slice(off, off + npk);
  off += npk;
  const symLen = dv.getUint16(off);
  off += 2;
  if (symLen < 4 || symLen % 4 !== 0)
    throw new OhttpKeyConfigError(`symmetric algorithms length ${symLen} is not a positive multiple of 4`);
  if (bytes.length - off < symLen)
    throw new OhttpKeyConfigError(
      `truncated: symmetric algorithms need ${symLen} byte(s), ${bytes.length - off} remain`,
    );
  const symmetric: SymmetricSuite[] = [];
  for (const end = off + symLen; off < end; off += 4) {
    symmetric.push({ kdfId: dv.getUint16(off), aeadId: dv.getUint16(off + 2) });
  }
  return { config: { keyId, kemId, publicKey, symmetric }, end: off };
}

/** Decodes exactly one Key Config; trailing bytes are an error. */
export function decodeKeyConfig(bytes: Uint8Array): KeyConfig {
  const { config, end } = readKeyConfig(bytes, 0);
  if (end !== bytes.length)
    throw new OhttpKeyConfigError(`${bytes.length - end} trailing byte(s) after the key config`);
  return config;
}

/** Encodes an `application/ohttp-keys` list: each config prefixed by its 2-byte length. */
export function encodeKeyConfigList(configs: readonly (KeyConfig | Uint8Array)[]): Uint8Array {
  const encoded = configs.map((c) => (c instanceof Uint8Array ? c : encodeKeyConfig(c)));
  const out = new Uint8Array(encoded.reduce((n, e) => n + 2 + e.length, 0));
  let off = 0;
  for (const e of encoded) {
    if (e.length > 0xffff)
      throw new OhttpKeyConfigError(`key config of ${e.length} bytes does not fit a 2-byte length`);
    out[off] = e.length >>> 8;
    out[off + 1] = e.length & 0xff;
    out.set(e, off + 2);
    off += 2 + e.length;
  }
  return out;
}

export interface KeyConfigListEntry {
  /** The entry's exact bytes (what `keyConfigHash` hashes). */
  encoded: Uint8Array;
  config: KeyConfig;
}

/**
 * Decodes an `application/ohttp-keys` list. Entries whose KEM is unknown are skipped (the
 * length prefix makes that possible; RFC 9458 §3.2 lets clients ignore configs they cannot
 * use); any other malformation is an `OhttpKeyConfigError`.
 */
export function decodeKeyConfigList(bytes: Uint8Array): KeyConfigListEntry[] {
  const out: KeyConfigListEntry[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < 2)
      throw new OhttpKeyConfigError("truncated: dangling byte where a 2-byte length was expected");
    const len = (bytes[off]! << 8) | bytes[off + 1]!;
    off += 2;
    if (bytes.length - off < len)
      throw new OhttpKeyConfigError(`truncated: list entry declares ${len} byte(s), ${bytes.length - off} remain`);
    const encoded = bytes.slice(off, off + len);
    off += len;
    try {
      out.push({ encoded, config: decodeKeyConfig(encoded) });
    } catch (e) {
      if (e instanceof OhttpUnsupportedSuiteError) continue;
      throw e;
    }
  }
  return out;
}

/** keccak256 of an encoded single key config: the value bound into the enclave's registry entry. */
export function keyConfigHash(encodedConfig: Uint8Array): Hex {
  return keccak256(encodedConfig);
}

/** Whether this implementation speaks a (KDF, AEAD) pair. */
export function isSupportedSymmetric(s: SymmetricSuite): boolean {
  return s.kdfId === KDF_HKDF_SHA256 && SUPPORTED_AEADS.includes(s.aeadId);
}

/** The config's first (KDF, AEAD) pair this implementation speaks (the gateway's preference), if any. */
export function selectSymmetric(config: KeyConfig): SymmetricSuite | undefined {
  return config.kemId === KEM_X25519_HKDF_SHA256 ? config.symmetric.find(isSupportedSymmetric) : undefined;
}

/** True when the config can be used by this implementation (X25519 KEM and a supported symmetric pair). */
export function isSupportedKeyConfig(config: KeyConfig): boolean {
  return selectSymmetric(config) !== undefined;
}

/** Throws `OhttpUnsupportedSuiteError` unless `isSupportedKeyConfig(config)`. */
export function assertSupportedKeyConfig(config: KeyConfig): void {
  if (config.kemId !== KEM_X25519_HKDF_SHA256) {
    throw new OhttpUnsupportedSuiteError(
      { kemId: config.kemId },
      `key config ${config.keyId} uses a KEM other than X25519`,
    );
  }
  if (!isSupportedKeyConfig(config)) {
    const first = config.symmetric[0];
    throw new OhttpUnsupportedSuiteError(
      { kemId: config.kemId, kdfId: first?.kdfId, aeadId: first?.aeadId },
      `key config ${config.keyId} offers no HKDF-SHA256 pair with AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Gateway key material
// ---------------------------------------------------------------------------------------------

/** A gateway's OHTTP key: the secret stays in the enclave; `encodedConfig` / `hash` are public. */
export interface OhttpKeyPair {
  keyId: number;
  /** Raw 32-byte X25519 secret key (RFC 7748; clamped when used). Keep inside the TEE. */
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  config: KeyConfig;
  /** The encoded single Key Config (serve it in an `application/ohttp-keys` list). */
  encodedConfig: Uint8Array;
  /** keccak256(encodedConfig), for the registry entry / attestation user data. */
  hash: Hex;
}

/**
 * Builds the key pair + config from a 32-byte X25519 private key (a seed: any 32 uniformly random
 * bytes are a valid X25519 secret). Deterministic, so an enclave can reload its key from sealed
 * storage and announce the same config hash.
 */
export function keyPairFromPrivateKey(params: {
  keyId: number;
  privateKey: Uint8Array;
  symmetric?: readonly SymmetricSuite[];
}): OhttpKeyPair {
  const { keyId } = params;
  checkU(keyId, 8, "key id");
  if (!(params.privateKey instanceof Uint8Array) || params.privateKey.length !== 32) {
    throw new OhttpKeyConfigError("X25519 private key must be 32 bytes");
  }
  const privateKey = params.privateKey.slice();
  const publicKey = x25519.getPublicKey(privateKey);
  const config: KeyConfig = {
    keyId,
    kemId: KEM_X25519_HKDF_SHA256,
    publicKey,
    symmetric: (params.symmetric ?? DEFAULT_SYMMETRIC).map((s) => ({ ...s })),
  };
  assertSupportedKeyConfig(config);
  const encodedConfig = encodeKeyConfig(config);
  return { keyId, privateKey, publicKey, config, encodedConfig, hash: keyConfigHash(encodedConfig) };
}

/** Generates a fresh X25519 key pair and its key config. */
export function generateKeyPair(params: { keyId: number; symmetric?: readonly SymmetricSuite[] }): OhttpKeyPair {
  const privateKey = new Uint8Array(32);
  globalThis.crypto.getRandomValues(privateKey);
  return keyPairFromPrivateKey({ ...params, privateKey });
}
