/**
 * OHTTP message encapsulation (RFC 9458 §4), DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 with
 * AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305 (chosen from the key config), HPKE base mode
 * (RFC 9180 §5.1). The chunked variant (draft-ietf-ohai-chunked-ohttp) builds on the exports at
 * the end of this file (./chunked.ts).
 *
 * Request (client → gateway, §4.3):
 *   hdr  = key_id (8) ‖ kem_id (16) ‖ kdf_id (16) ‖ aead_id (16)
 *   info = "message/bhttp request" ‖ 0x00 ‖ hdr
 *   enc, sctxt = SetupBaseS(pkR, info);  ct = sctxt.Seal("", request)
 *   encapsulated request = hdr ‖ enc ‖ ct
 *
 * Response (gateway → client, §4.4):
 *   response_nonce = random(max(Nn, Nk))                     (16 bytes for AES-128-GCM, 32 else)
 *   secret     = context.Export("message/bhttp response", max(Nn, Nk))
 *   prk        = Extract(salt = enc ‖ response_nonce, ikm = secret)
 *   aead_key   = Expand(prk, "key", Nk);  aead_nonce = Expand(prk, "nonce", Nn)
 *   encapsulated response = response_nonce ‖ Seal(aead_key, aead_nonce, "", response)
 *
 * Speed. The HPKE key schedule is ~10 HMAC-SHA256 calls per side; they run synchronously here
 * (RFC 9180 §4 / §5.1 / §7.1, base mode only) instead of one WebCrypto promise round trip per
 * step, which is what made a full @hpke/core round trip cost ~2 ms, and in fixed scratch memory
 * over the labelled parts without concatenating them (./hmacSha256.ts). Everything that does not
 * depend on the message is computed once per key and suite and cached: the imported private key,
 * pkR, hdr, info and the key-schedule context (psk_id_hash, info_hash). The asymmetric and AEAD
 * primitives use node:crypto when the runtime has it (the TEE gateway, Node clients) and
 * WebCrypto (AES-GCM) or @noble/ciphers (ChaCha20-Poly1305, which WebCrypto lacks) otherwise;
 * both produce identical bytes (checked against RFC 9458 Appendix A, RFC 9180's vectors and
 * @hpke/core in test/sdk/ohttp*.test.ts).
 */
import type { KeyObject } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  AEAD_CHACHA20_POLY1305,
  KDF_HKDF_SHA256,
  KEM_X25519_HKDF_SHA256,
  OhttpError,
  OhttpUnsupportedSuiteError,
  assertSupportedKeyConfig,
  decodeKeyConfig,
  encodeKeyConfigList,
  selectSymmetric,
  type KeyConfig,
  type OhttpKeyPair,
} from "./keyConfig.js";
import { hmacSha256 } from "./hmacSha256.js";

export const MEDIA_TYPE_OHTTP_REQUEST = "message/ohttp-req";
export const MEDIA_TYPE_OHTTP_RESPONSE = "message/ohttp-res";

const NENC = 32; // X25519 enc / public key
const NSECRET = 32; // DHKEM shared secret
const NH = 32; // SHA-256
const NT = 16; // tag of every supported AEAD
export const HDR_LEN = 7;
/** hdr ‖ enc */
export const REQUEST_HEADER_LENGTH = HDR_LEN + NENC;
/** max(Nn, Nk) for AES-128-GCM, the default suite (32 for AES-256-GCM and ChaCha20-Poly1305). */
export const RESPONSE_NONCE_LENGTH = 16;

const te = new TextEncoder();
const EMPTY = new Uint8Array(0);
const LABEL_REQUEST = te.encode("message/bhttp request");
const LABEL_CHUNKED_REQUEST = te.encode("message/bhttp chunked request");
export const LABEL_RESPONSE = te.encode("message/bhttp response");
export const LABEL_CHUNKED_RESPONSE = te.encode("message/bhttp chunked response");
const LABEL_KEY = te.encode("key");
const LABEL_NONCE = te.encode("nonce");

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** The message is shorter than its fixed-size parts require. Not retryable. */
export class OhttpTruncatedError extends OhttpError {
  override name = "OhttpTruncatedError";
  readonly minLength: number;
  readonly length: number;
  constructor(what: string, minLength: number, length: number) {
    super(`Truncated OHTTP ${what}: ${length} byte(s), at least ${minLength} required.`);
    this.minLength = minLength;
    this.length = length;
  }
}

/** The request names a key id this gateway does not hold (rotated away, or wrong gateway). Not retryable: fetch the key config again. */
export class OhttpUnknownKeyError extends OhttpError {
  override name = "OhttpUnknownKeyError";
  readonly keyId: number;
  constructor(keyId: number, known: readonly number[]) {
    super(`Unknown OHTTP key id ${keyId}.`, {
      details: `This gateway holds key id(s): ${known.join(", ") || "none"}.`,
    });
    this.keyId = keyId;
  }
}

/**
 * Authenticated decryption failed: the message was altered, sealed to another key, or is not
 * an OHTTP message at all. Deliberately says nothing more specific (no padding/tag oracles).
 * Not retryable.
 */
export class OhttpDecryptError extends OhttpError {
  override name = "OhttpDecryptError";
  constructor(what: "request" | "response", cause?: unknown) {
    super(`Could not decrypt the OHTTP ${what}.`, { cause });
  }
}

/**
 * The encapsulated request was already seen, its time is outside the window, or the replay cache
 * is full and can no longer tell (`full`); see `OhttpReplayGuard`. Retryable only when `full`
 * (a fresh request may pass once the cache has room); a replay or a bad time is refused for good.
 */
export class OhttpReplayError extends OhttpError {
  override name = "OhttpReplayError";
  readonly reason: "replayed" | "stale" | "future" | "full";
  constructor(reason: "replayed" | "stale" | "future" | "full", details: string) {
    super(
      reason === "replayed"
        ? "Replayed OHTTP request rejected."
        : reason === "full"
          ? "OHTTP request rejected: the replay cache is full."
          : `OHTTP request rejected: its time is ${reason === "stale" ? "too old" : "too far in the future"}.`,
      { details, retryable: reason === "full" },
    );
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------
// Suites
// ---------------------------------------------------------------------------------------------

type AeadName = "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305";

/** One (KEM, KDF, AEAD) combination: its sizes and its precomputed HPKE labels. */
export interface Suite {
  readonly aeadId: number;
  readonly aead: AeadName;
  readonly nk: number;
  readonly nn: number;
  /** max(Nn, Nk): the response nonce's length and the exported secret's. */
  readonly entropyLen: number;
  readonly labels: {
    readonly pskIdHash: Uint8Array;
    readonly infoHash: Uint8Array;
    readonly secret: Uint8Array;
    readonly key: Uint8Array;
    readonly baseNonce: Uint8Array;
    readonly exp: Uint8Array;
    readonly sec: Uint8Array;
  };
}

const HPKE_V1 = te.encode("HPKE-v1");
/** "KEM" ‖ I2OSP(kem_id, 2) */
const SUITE_KEM = Uint8Array.of(0x4b, 0x45, 0x4d, 0x00, 0x20);
const labelPrefix = (suite: Uint8Array, label: string) => concat(HPKE_V1, suite, te.encode(label));
const L_EAE_PRK = labelPrefix(SUITE_KEM, "eae_prk");
const L_SHARED_SECRET = labelPrefix(SUITE_KEM, "shared_secret");

function makeSuite(aeadId: number, aead: AeadName, nk: number): Suite {
  /** "HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2) */
  const id = Uint8Array.of(0x48, 0x50, 0x4b, 0x45, 0x00, 0x20, 0x00, 0x01, aeadId >> 8, aeadId & 0xff);
  return {
    aeadId,
    aead,
    nk,
    nn: 12,
    entropyLen: Math.max(12, nk),
    labels: {
      pskIdHash: labelPrefix(id, "psk_id_hash"),
      infoHash: labelPrefix(id, "info_hash"),
      secret: labelPrefix(id, "secret"),
      key: labelPrefix(id, "key"),
      baseNonce: labelPrefix(id, "base_nonce"),
      exp: labelPrefix(id, "exp"),
      sec: labelPrefix(id, "sec"),
    },
  };
}

const SUITES: ReadonlyMap<number, Suite> = new Map([
  [AEAD_AES_128_GCM, makeSuite(AEAD_AES_128_GCM, "aes-128-gcm", 16)],
  [AEAD_AES_256_GCM, makeSuite(AEAD_AES_256_GCM, "aes-256-gcm", 32)],
  [AEAD_CHACHA20_POLY1305, makeSuite(AEAD_CHACHA20_POLY1305, "chacha20-poly1305", 32)],
]);

/** The suite of an AEAD id (with X25519 + HKDF-SHA256), or undefined when not spoken. */
export function suiteOf(aeadId: number): Suite | undefined {
  return SUITES.get(aeadId);
}

// ---------------------------------------------------------------------------------------------
// Primitives: X25519 and the AEADs — node:crypto when available, else WebCrypto / @noble/ciphers
// ---------------------------------------------------------------------------------------------

/** An X25519 secret in whatever form the backend uses (KeyObject / CryptoKey), plus its public key. */
interface X25519Key {
  readonly handle: unknown;
  readonly publicKey: Uint8Array;
}

interface Primitives {
  readonly name: "node" | "webcrypto";
  generateX25519(): Promise<X25519Key>;
  importX25519(secret: Uint8Array): Promise<X25519Key>;
  /** A peer's raw X25519 public key in the backend's form, for `dh`. */
  importPublic(publicKey: Uint8Array): Promise<unknown>;
  /** Raw X25519(secret, peer); may throw for invalid peers (the caller maps that to a decrypt error). */
  dh(secret: unknown, peer: unknown): Promise<Uint8Array>;
  seal(aead: AeadName, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Throws when authentication fails. */
  open(
    aead: AeadName,
    key: Uint8Array,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array>;
}

// RFC 8410 DER prefix for a raw X25519 private key.
const PKCS8_X25519 = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
);

/** A copy backed by its own ArrayBuffer (what WebCrypto's BufferSource typing wants). */
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

function nodePrimitives(nc: typeof import("node:crypto")): Primitives {
  // Raw public keys travel as JWK (RFC 8037: x = base64url of the 32 bytes): OpenSSL's DER (SPKI)
  // encoder and decoder cost 3-5x more per key, and there is one of each on every request.
  const jwkPublic = (pk: Uint8Array) =>
    nc.createPublicKey({
      key: { kty: "OKP", crv: "X25519", x: Buffer.from(pk.buffer, pk.byteOffset, pk.length).toString("base64url") },
      format: "jwk",
    });
  const rawPublic = (k: KeyObject) => new Uint8Array(Buffer.from(k.export({ format: "jwk" }).x!, "base64url"));
  return {
    name: "node",
    async generateX25519() {
      const { privateKey, publicKey } = nc.generateKeyPairSync("x25519");
      return { handle: privateKey, publicKey: rawPublic(publicKey) };
    },
    async importX25519(secret) {
      const handle = nc.createPrivateKey({ key: Buffer.concat([PKCS8_X25519, secret]), format: "der", type: "pkcs8" });
      return { handle, publicKey: rawPublic(nc.createPublicKey(handle)) };
    },
    async importPublic(publicKey) {
      return jwkPublic(publicKey);
    },
    async dh(secret, peer) {
      return new Uint8Array(nc.diffieHellman({ privateKey: secret as KeyObject, publicKey: peer as KeyObject }));
    },
    async seal(aead, key, nonce, plaintext, aad) {
      const c = nc.createCipheriv(aead as "aes-128-gcm", key, nonce, { authTagLength: NT });
      if (aad.length) c.setAAD(aad);
      const head = c.update(plaintext);
      const tail = c.final();
      const tag = c.getAuthTag();
      const out = new Uint8Array(head.length + tail.length + NT);
      out.set(head, 0);
      out.set(tail, head.length);
      out.set(tag, head.length + tail.length);
      return out;
    },
    async open(aead, key, nonce, ciphertext, aad) {
      if (ciphertext.length < NT) throw new Error("ciphertext shorter than the tag");
      const d = nc.createDecipheriv(aead as "aes-128-gcm", key, nonce, { authTagLength: NT });
      d.setAuthTag(ciphertext.subarray(ciphertext.length - NT));
      if (aad.length) d.setAAD(aad);
      const head = d.update(ciphertext.subarray(0, ciphertext.length - NT));
      const tail = d.final(); // throws on a bad tag
      return tail.length ? new Uint8Array(Buffer.concat([head, tail])) : new Uint8Array(head);
    },
  };
}

function webCryptoPrimitives(): Primitives {
  const subtle = globalThis.crypto.subtle;
  const X25519 = { name: "X25519" } as const;
  const aes = async (
    mode: "encrypt" | "decrypt",
    key: Uint8Array,
    nonce: Uint8Array,
    data: Uint8Array,
    aad: Uint8Array,
  ) => {
    const k = await subtle.importKey("raw", own(key), "AES-GCM", false, [mode]);
    const params = { name: "AES-GCM", iv: own(nonce), ...(aad.length ? { additionalData: own(aad) } : {}) };
    return new Uint8Array(
      mode === "encrypt" ? await subtle.encrypt(params, k, own(data)) : await subtle.decrypt(params, k, own(data)),
    );
  };
  return {
    name: "webcrypto",
    async generateX25519() {
      const kp = (await subtle.generateKey(X25519, true, ["deriveBits"])) as CryptoKeyPair;
      return { handle: kp.privateKey, publicKey: new Uint8Array(await subtle.exportKey("raw", kp.publicKey)) };
    },
    async importX25519(secret) {
      const der = new Uint8Array(PKCS8_X25519.length + 32);
      der.set(PKCS8_X25519, 0);
      der.set(secret, PKCS8_X25519.length);
      const handle = await subtle.importKey("pkcs8", der, X25519, false, ["deriveBits"]);
      return { handle, publicKey: x25519.getPublicKey(secret) };
    },
    importPublic: (publicKey) => subtle.importKey("raw", own(publicKey), X25519, false, []),
    async dh(secret, peer) {
      return new Uint8Array(
        await subtle.deriveBits({ name: "X25519", public: peer as CryptoKey }, secret as CryptoKey, 256),
      );
    },
    async seal(aead, key, nonce, pt, aad) {
      if (aead === "chacha20-poly1305") return chacha20poly1305(key, nonce, aad).encrypt(pt);
      return aes("encrypt", key, nonce, pt, aad);
    },
    async open(aead, key, nonce, ct, aad) {
      if (aead === "chacha20-poly1305") return chacha20poly1305(key, nonce, aad).decrypt(ct);
      return aes("decrypt", key, nonce, ct, aad);
    },
  };
}

const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.("node:crypto") as typeof import("node:crypto") | undefined;

const BACKENDS = {
  node: nodeCrypto ? nodePrimitives(nodeCrypto) : undefined,
  webcrypto: webCryptoPrimitives(),
};
let prim: Primitives = BACKENDS.node ?? BACKENDS.webcrypto;

/**
 * Selects the crypto backend ("node" = node:crypto, the default where available; "webcrypto" =
 * the browser path). For tests and benchmarks; both produce identical bytes. Keys imported
 * under one backend must not be used under the other. Returns the previous backend's name.
 */
export function setOhttpCryptoBackend(name: "node" | "webcrypto"): "node" | "webcrypto" {
  const next = BACKENDS[name];
  if (!next) throw new OhttpError(`The ${name} crypto backend is not available in this runtime.`);
  const previous = prim.name;
  prim = next;
  return previous;
}

export function ohttpCryptoBackend(): "node" | "webcrypto" {
  return prim.name;
}

/** @internal AEAD seal with the suite's cipher (ciphertext ‖ tag). */
export function aeadSeal(
  suite: Suite,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): Promise<Uint8Array> {
  return prim.seal(suite.aead, key, nonce, plaintext, aad);
}

/** @internal AEAD open; throws when authentication fails. */
export function aeadOpen(
  suite: Suite,
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array = EMPTY,
): Promise<Uint8Array> {
  return prim.open(suite.aead, key, nonce, ciphertext, aad);
}

/** Fresh random bytes. */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

// ---------------------------------------------------------------------------------------------
// HPKE base mode for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 (RFC 9180)
// ---------------------------------------------------------------------------------------------

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const ZERO_SALT = new Uint8Array(NH);
const ONE = Uint8Array.of(1);

/** HKDF-Extract (RFC 5869) of ikm = the parts, concatenated; an empty salt is HashLen zeros. */
function hkdfExtract(salt: Uint8Array, ...ikm: Uint8Array[]): Uint8Array {
  return hmacSha256(salt.length === 0 ? ZERO_SALT : salt, ...ikm);
}

/**
 * HKDF-Expand (RFC 5869) of info = the parts, concatenated, for the lengths these suites use
 * (≤ HashLen): T(1) = HMAC(prk, info ‖ 0x01), truncated. `slice`, not `subarray`: a view would
 * move the 32-byte result off V8's heap.
 */
function hkdfExpand(prk: Uint8Array, length: number, ...info: Uint8Array[]): Uint8Array {
  if (length > NH) throw new RangeError(`HKDF-Expand: these suites need at most ${NH} bytes, asked for ${length}`);
  const t1 = hmacSha256(prk, ...info, ONE);
  return length === NH ? t1 : t1.slice(0, length);
}

const labeledExtract = (salt: Uint8Array, prefix: Uint8Array, ikm: Uint8Array) => hkdfExtract(salt, prefix, ikm);
/** I2OSP(L, 2) for the output lengths the suites ask for. */
const LENGTH_PREFIX = new Map([12, 16, 32].map((n) => [n, Uint8Array.of(n >> 8, n & 0xff)]));
const labeledExpand = (prk: Uint8Array, prefix: Uint8Array, length: number, ...info: Uint8Array[]) =>
  hkdfExpand(prk, length, LENGTH_PREFIX.get(length) ?? Uint8Array.of(length >> 8, length & 0xff), prefix, ...info);

/** key_schedule_context = mode (0x00, base) ‖ psk_id_hash ‖ info_hash — fixed per key, so cached. */
function keyScheduleContext(suite: Suite, info: Uint8Array): Uint8Array {
  return concat(
    Uint8Array.of(0x00),
    labeledExtract(EMPTY, suite.labels.pskIdHash, EMPTY),
    labeledExtract(EMPTY, suite.labels.infoHash, info),
  );
}

/** @internal An HPKE context (base mode): the AEAD key, base nonce and exporter secret. */
export interface HpkeContext {
  readonly suite: Suite;
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

/** DHKEM ExtractAndExpand + KeySchedule (base mode). */
function deriveContext(
  suite: Suite,
  dh: Uint8Array,
  enc: Uint8Array,
  pkR: Uint8Array,
  ksContext: Uint8Array,
): HpkeContext {
  // RFC 9180 §7.1.4: an all-zero DH output (small-order peer point) must be rejected.
  let acc = 0;
  for (let i = 0; i < dh.length; i++) acc |= dh[i]!;
  if (dh.length !== NSECRET || acc === 0) throw new Error("invalid X25519 shared secret");
  const eaePrk = labeledExtract(EMPTY, L_EAE_PRK, dh);
  const sharedSecret = labeledExpand(eaePrk, L_SHARED_SECRET, NSECRET, enc, pkR);
  const secret = labeledExtract(sharedSecret, suite.labels.secret, EMPTY);
  return {
    suite,
    key: labeledExpand(secret, suite.labels.key, suite.nk, ksContext),
    baseNonce: labeledExpand(secret, suite.labels.baseNonce, suite.nn, ksContext),
    exporterSecret: labeledExpand(secret, suite.labels.exp, NH, ksContext),
  };
}

/** @internal HPKE Export(exporter_context, L) (RFC 9180 §5.3). */
export function hpkeExport(ctx: HpkeContext, exporterContext: Uint8Array, length: number): Uint8Array {
  return labeledExpand(ctx.exporterSecret, ctx.suite.labels.sec, length, exporterContext);
}

/** @internal The nonce of the seq-th AEAD operation: base_nonce XOR I2OSP(seq, Nn) (RFC 9180 §5.2). */
export function nonceFor(baseNonce: Uint8Array, seq: number): Uint8Array {
  const out = baseNonce.slice();
  let s = seq;
  for (let i = out.length - 1; i >= 0 && s > 0; i--) {
    out[i]! ^= s % 256;
    s = Math.floor(s / 256);
  }
  return out;
}

/** @internal RFC 9458 §4.4 key schedule for the response AEAD (also the chunked draft's). */
export function responseKeys(
  suite: Suite,
  secret: Uint8Array,
  enc: Uint8Array,
  responseNonce: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  const prk = hkdfExtract(concat(enc, responseNonce), secret);
  return { key: hkdfExpand(prk, suite.nk, LABEL_KEY), nonce: hkdfExpand(prk, suite.nn, LABEL_NONCE) };
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

function requestHeader(keyId: number, aeadId: number): Uint8Array {
  return Uint8Array.of(
    keyId,
    KEM_X25519_HKDF_SHA256 >> 8,
    KEM_X25519_HKDF_SHA256 & 0xff,
    KDF_HKDF_SHA256 >> 8,
    KDF_HKDF_SHA256 & 0xff,
    aeadId >> 8,
    aeadId & 0xff,
  );
}

/** label ‖ 0x00 ‖ hdr */
function requestInfo(label: Uint8Array, hdr: Uint8Array): Uint8Array {
  return concat(label, Uint8Array.of(0x00), hdr);
}

function toKeyConfig(config: KeyConfig | Uint8Array): KeyConfig {
  return config instanceof Uint8Array ? decodeKeyConfig(config) : config;
}

// ---------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------

/** A gateway key config prepared for sealing: import once, reuse for every request. */
export interface OhttpClientKey {
  readonly config: KeyConfig;
  /** The suite used: the config's first (KDF, AEAD) pair this implementation speaks. */
  readonly suite: Suite;
  /** hdr = key_id ‖ kem_id ‖ kdf_id ‖ aead_id */
  readonly header: Uint8Array;
  /** "message/bhttp request" ‖ 0x00 ‖ hdr */
  readonly info: Uint8Array;
  /** @internal cached HPKE key_schedule_context for `info` */
  readonly ksContext: Uint8Array;
  /** @internal the same for the chunked request's info ("message/bhttp chunked request" ‖ 0 ‖ hdr) */
  readonly ksContextChunked: Uint8Array;
}

/** Per-request client state needed to open the matching response. Keep it secret; use once. */
export interface OhttpClientContext {
  readonly enc: Uint8Array;
  readonly suite: Suite;
  /** @internal Export("message/bhttp response", max(Nn, Nk)) of the request's HPKE context. */
  readonly responseSecret: Uint8Array;
}

/** Validates the config (X25519 + HKDF-SHA256 + a supported AEAD) and precomputes what every request reuses. */
export function importClientKey(keyConfig: KeyConfig | Uint8Array): OhttpClientKey {
  const config = toKeyConfig(keyConfig);
  assertSupportedKeyConfig(config);
  const suite = suiteOf(selectSymmetric(config)!.aeadId)!;
  const header = requestHeader(config.keyId, suite.aeadId);
  const info = requestInfo(LABEL_REQUEST, header);
  return {
    config,
    suite,
    header,
    info,
    ksContext: keyScheduleContext(suite, info),
    ksContextChunked: keyScheduleContext(suite, requestInfo(LABEL_CHUNKED_REQUEST, header)),
  };
}

/** The gateway public key as a backend handle, imported once per client key (and backend). */
const gatewayKeyHandles = new WeakMap<OhttpClientKey, { backend: Primitives; handle: Promise<unknown> }>();
function gatewayKeyHandle(key: OhttpClientKey): Promise<unknown> {
  let cached = gatewayKeyHandles.get(key);
  if (cached?.backend !== prim) {
    cached = { backend: prim, handle: prim.importPublic(key.config.publicKey) };
    gatewayKeyHandles.set(key, cached);
  }
  return cached.handle;
}

export interface EncapsulateRequestOptions {
  /**
   * Fixed ephemeral X25519 secret. ONLY for reproducing published test vectors: reusing an
   * ephemeral key makes requests linkable and their responses share keys.
   */
  ephemeralPrivateKey?: Uint8Array;
}

/** @internal SetupBaseS(pkR, info) for a single-shot or chunked request: enc and the sender context. */
export async function setupSender(
  key: OhttpClientKey,
  chunked: boolean,
  options?: EncapsulateRequestOptions,
): Promise<{ enc: Uint8Array; ctx: HpkeContext }> {
  const eph = options?.ephemeralPrivateKey
    ? await prim.importX25519(options.ephemeralPrivateKey)
    : await prim.generateX25519();
  const enc = eph.publicKey;
  const dh = await prim.dh(eph.handle, await gatewayKeyHandle(key));
  const ctx = deriveContext(key.suite, dh, enc, key.config.publicKey, chunked ? key.ksContextChunked : key.ksContext);
  return { enc, ctx };
}

/** Seals a `message/bhttp` request to the gateway key: returns hdr ‖ enc ‖ ct and the context for the response. */
export async function encapsulateRequest(
  key: OhttpClientKey,
  request: Uint8Array,
  options?: EncapsulateRequestOptions,
): Promise<{ encapsulatedRequest: Uint8Array; context: OhttpClientContext }> {
  const { enc, ctx } = await setupSender(key, false, options);
  const ct = await aeadSeal(key.suite, ctx.key, ctx.baseNonce, request);
  const out = new Uint8Array(HDR_LEN + NENC + ct.length);
  out.set(key.header, 0);
  out.set(enc, HDR_LEN);
  out.set(ct, HDR_LEN + NENC);
  return {
    encapsulatedRequest: out,
    context: { enc, suite: key.suite, responseSecret: hpkeExport(ctx, LABEL_RESPONSE, key.suite.entropyLen) },
  };
}

/** Opens the gateway's encapsulated response (response_nonce ‖ ct) → the `message/bhttp` response. */
export async function decapsulateResponse(
  context: OhttpClientContext,
  encapsulatedResponse: Uint8Array,
): Promise<Uint8Array> {
  const { suite } = context;
  const min = suite.entropyLen + NT;
  if (encapsulatedResponse.length < min)
    throw new OhttpTruncatedError("encapsulated response", min, encapsulatedResponse.length);
  const responseNonce = encapsulatedResponse.subarray(0, suite.entropyLen);
  const { key, nonce } = responseKeys(suite, context.responseSecret, context.enc, responseNonce);
  try {
    return await aeadOpen(suite, key, nonce, encapsulatedResponse.subarray(suite.entropyLen));
  } catch (e) {
    throw new OhttpDecryptError("response", e);
  }
}

// ---------------------------------------------------------------------------------------------
// Gateway side
// ---------------------------------------------------------------------------------------------

interface ImportedServerKey {
  readonly config: KeyConfig;
  readonly secret: X25519Key;
  /** Key-schedule contexts by AEAD id (those the config offers), single-shot and chunked. */
  readonly ksContexts: ReadonlyMap<number, { single: Uint8Array; chunked: Uint8Array }>;
}

/** The gateway's OHTTP keys, imported once (by key id). */
export interface OhttpServerKeys {
  readonly keys: ReadonlyMap<number, ImportedServerKey>;
  /** All configs as an `application/ohttp-keys` body, for the key-config endpoint. */
  readonly keyConfigList: Uint8Array;
}

/** Per-request gateway state needed to seal the response. Keep it secret; use once. */
export interface OhttpResponderContext {
  readonly keyId: number;
  readonly enc: Uint8Array;
  readonly suite: Suite;
  /** @internal Export("message/bhttp response", max(Nn, Nk)) of the request's HPKE context. */
  readonly responseSecret: Uint8Array;
}

/** Imports gateway key pairs (from `keyPairFromPrivateKey` / `generateKeyPair`). Key ids must be distinct. */
export async function importServerKeys(keyPairs: OhttpKeyPair | readonly OhttpKeyPair[]): Promise<OhttpServerKeys> {
  const list: readonly OhttpKeyPair[] = Array.isArray(keyPairs) ? keyPairs : [keyPairs as OhttpKeyPair];
  const keys = new Map<number, ImportedServerKey>();
  for (const kp of list) {
    assertSupportedKeyConfig(kp.config);
    if (keys.has(kp.keyId)) throw new OhttpError(`Duplicate OHTTP key id ${kp.keyId}.`);
    const secret = await prim.importX25519(kp.privateKey);
    if (!bytesEqual(secret.publicKey, kp.config.publicKey)) {
      throw new OhttpError(`OHTTP key id ${kp.keyId}: the private key does not match the config's public key.`);
    }
    const ksContexts = new Map<number, { single: Uint8Array; chunked: Uint8Array }>();
    for (const s of kp.config.symmetric) {
      const suite = s.kdfId === KDF_HKDF_SHA256 ? suiteOf(s.aeadId) : undefined;
      if (!suite || ksContexts.has(s.aeadId)) continue;
      const hdr = requestHeader(kp.keyId, s.aeadId);
      ksContexts.set(s.aeadId, {
        single: keyScheduleContext(suite, requestInfo(LABEL_REQUEST, hdr)),
        chunked: keyScheduleContext(suite, requestInfo(LABEL_CHUNKED_REQUEST, hdr)),
      });
    }
    keys.set(kp.keyId, { config: kp.config, secret, ksContexts });
  }
  return { keys, keyConfigList: encodeKeyConfigList(list.map((kp) => kp.encodedConfig)) };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * @internal Reads hdr ‖ enc (the first REQUEST_HEADER_LENGTH bytes, single-shot or chunked) and
 * runs SetupBaseR. Errors: `OhttpTruncatedError`, `OhttpUnknownKeyError`, `OhttpUnsupportedSuiteError`,
 * `OhttpDecryptError` (an enc that gives no shared secret).
 */
export async function setupReceiver(
  serverKeys: OhttpServerKeys,
  msg: Uint8Array,
  chunked: boolean,
  minLength: number,
): Promise<{ keyId: number; enc: Uint8Array; ctx: HpkeContext }> {
  const what = chunked ? "chunked encapsulated request" : "encapsulated request";
  if (msg.length < HDR_LEN) throw new OhttpTruncatedError(what, minLength, msg.length);
  const keyId = msg[0]!;
  const key = serverKeys.keys.get(keyId);
  if (!key) throw new OhttpUnknownKeyError(keyId, [...serverKeys.keys.keys()]);
  const kemId = (msg[1]! << 8) | msg[2]!;
  const kdfId = (msg[3]! << 8) | msg[4]!;
  const aeadId = (msg[5]! << 8) | msg[6]!;
  const ks = kemId === KEM_X25519_HKDF_SHA256 && kdfId === KDF_HKDF_SHA256 ? key.ksContexts.get(aeadId) : undefined;
  if (!ks) throw new OhttpUnsupportedSuiteError({ kemId, kdfId, aeadId }, `request for key id ${keyId}`);
  if (msg.length < minLength) throw new OhttpTruncatedError(what, minLength, msg.length);
  const enc = msg.slice(HDR_LEN, HDR_LEN + NENC);
  const suite = suiteOf(aeadId)!;
  try {
    const dh = await prim.dh(key.secret.handle, await prim.importPublic(enc));
    return { keyId, enc, ctx: deriveContext(suite, dh, enc, key.config.publicKey, chunked ? ks.chunked : ks.single) };
  } catch (e) {
    throw new OhttpDecryptError("request", e);
  }
}

/**
 * Opens an encapsulated request. Errors: `OhttpTruncatedError`, `OhttpUnknownKeyError`,
 * `OhttpUnsupportedSuiteError`, `OhttpDecryptError`. OHTTP has no replay protection of its own:
 * run `context.enc` through an `OhttpReplayGuard` before acting on the request.
 */
export async function decapsulateRequest(
  serverKeys: OhttpServerKeys,
  encapsulatedRequest: Uint8Array,
): Promise<{ request: Uint8Array; context: OhttpResponderContext }> {
  const msg = encapsulatedRequest;
  const { keyId, enc, ctx } = await setupReceiver(serverKeys, msg, false, HDR_LEN + NENC + NT);
  let request: Uint8Array;
  try {
    request = await aeadOpen(ctx.suite, ctx.key, ctx.baseNonce, msg.subarray(HDR_LEN + NENC));
  } catch (e) {
    throw new OhttpDecryptError("request", e);
  }
  return {
    request,
    context: { keyId, enc, suite: ctx.suite, responseSecret: hpkeExport(ctx, LABEL_RESPONSE, ctx.suite.entropyLen) },
  };
}

export interface EncapsulateResponseOptions {
  /** Fixed response nonce. ONLY for reproducing test vectors; normally max(Nn, Nk) fresh random bytes. */
  responseNonce?: Uint8Array;
}

/** Seals the `message/bhttp` response for the request that produced `context`: response_nonce ‖ ct. */
export async function encapsulateResponse(
  context: OhttpResponderContext,
  response: Uint8Array,
  options?: EncapsulateResponseOptions,
): Promise<Uint8Array> {
  const { suite } = context;
  let responseNonce = options?.responseNonce;
  if (responseNonce === undefined) {
    responseNonce = randomBytes(suite.entropyLen);
  } else if (responseNonce.length !== suite.entropyLen) {
    throw new OhttpError(`OHTTP response nonce must be ${suite.entropyLen} bytes.`);
  }
  const { key, nonce } = responseKeys(suite, context.responseSecret, context.enc, responseNonce);
  const ct = await aeadSeal(suite, key, nonce, response);
  const out = new Uint8Array(suite.entropyLen + ct.length);
  out.set(responseNonce, 0);
  out.set(ct, suite.entropyLen);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Replay protection
// ---------------------------------------------------------------------------------------------

export interface OhttpReplayGuardOptions {
  /** How long a request counts as fresh, in ms. Default 60 000. */
  windowMs?: number;
  /** Upper bound on remembered requests. Default 100 000 (≈ 10 MB when full). */
  maxEntries?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * Bounded-memory replay cache for the gateway.
 *
 * OHTTP itself has no replay protection (RFC 9458 §6.5): a relay, or anyone who captured an
 * encapsulated request, can send the same bytes again and the gateway would decrypt and serve
 * it again — for proofpath that means running (and billing) the inference twice and emitting a
 * second receipt for a call the user made once. So the gateway remembers what it has served.
 *
 * The key is the request's `enc` (the client's fresh ephemeral X25519 public key): unique per
 * honest request, and bound into the HPKE key schedule, so a request cannot be altered to keep
 * its plaintext while changing `enc`. Call `check` only AFTER `decapsulateRequest` succeeded,
 * so forged messages that merely copy someone's `enc` can never occupy (or poison) the cache.
 *
 * Memory is bounded by `maxEntries`; entries expire after `windowMs`. For complete protection,
 * pass the request's own time (RFC 9458 §6.5 suggests the encrypted `Date` header): requests
 * older than the window are then rejected outright, so forgetting an expired entry is safe; and
 * if the cache is full, the oldest entry is evicted and every request whose time is not later
 * than it is refused from then on (fail closed, never a silent replay). Without a request time
 * the guard still catches replays within the window, but not later ones: the proofpath gateway
 * therefore refuses requests without one. Memory does not survive a restart: the gateway keeps a
 * durable copy (gateway/ohttp/replayStore.ts) and `restore`s it at start.
 */
export class OhttpReplayGuard {
  readonly windowMs: number;
  readonly maxEntries: number;
  /** The guard's clock (ms); the gateway tells clients this time when it refuses their date. */
  readonly now: () => number;
  /** key → the request time it was admitted with. Insertion-ordered, which approximates time order. */
  private readonly seen = new Map<string, number>();
  /** Requests with a time ≤ floor may have been evicted unexpired: refuse them. */
  private _floor = -Infinity;

  constructor(options: OhttpReplayGuardOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
    if (!(this.windowMs > 0) || !Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new OhttpError("OhttpReplayGuard needs windowMs > 0 and maxEntries ≥ 1.");
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** Requests with a time at or below this were evicted unexpired (cache full) and are refused. */
  get floor(): number {
    return this._floor;
  }

  /**
   * Re-admits what a durable copy of the cache remembered (after a restart): entries still inside
   * the window, in time order, and the floor it had reached. Never lowers the floor.
   */
  restore(entries: Iterable<readonly [enc: Uint8Array, timeMs: number]>, floor = -Infinity): void {
    if (floor > this._floor) this._floor = floor;
    const cutoff = this.now() - this.windowMs;
    for (const [enc, t] of entries) {
      if (t < cutoff || t <= this._floor) continue;
      this.evictFor(1);
      this.seen.set(keyOf(enc), t);
    }
  }

  /**
   * Admits a request or throws `OhttpReplayError`. `enc` is `context.enc` from
   * `decapsulateRequest`. `requestTimeMs` is the client's claimed send time (e.g. its `Date`
   * header), if any.
   */
  check(enc: Uint8Array, requestTimeMs?: number): void {
    if (enc.length !== NENC)
      throw new OhttpError(`OhttpReplayGuard.check expects the ${NENC}-byte enc, got ${enc.length} bytes.`);
    const now = this.now();
    const key = keyOf(enc);
    let t = now;
    if (requestTimeMs !== undefined) {
      if (!(requestTimeMs >= now - this.windowMs)) {
        throw new OhttpReplayError(
          "stale",
          `request time ${requestTimeMs} is more than ${this.windowMs} ms before ${now}`,
        );
      }
      if (requestTimeMs > now + this.windowMs) {
        throw new OhttpReplayError(
          "future",
          `request time ${requestTimeMs} is more than ${this.windowMs} ms after ${now}`,
        );
      }
      t = requestTimeMs;
    }
    if (this.seen.has(key)) throw new OhttpReplayError("replayed", "this encapsulated request was already accepted");
    if (t <= this._floor) {
      throw new OhttpReplayError(
        "full",
        "the replay cache was full and has forgotten requests this old; retry with a fresh request",
      );
    }
    this.purge(now);
    this.evictFor(1);
    if (t <= this._floor) {
      throw new OhttpReplayError("full", "the replay cache is full; retry with a fresh request");
    }
    this.seen.set(key, t);
  }

  /** Evicts the oldest insertions until `n` more fit, raising the floor to what was forgotten. */
  private evictFor(n: number): void {
    while (this.seen.size > this.maxEntries - n) {
      const [oldKey, oldT] = this.seen.entries().next().value as [string, number];
      this.seen.delete(oldKey);
      if (oldT > this._floor) this._floor = oldT;
    }
  }

  /** Drops expired entries from the front (oldest insertions). */
  private purge(now: number): void {
    const cutoff = now - this.windowMs;
    for (const [k, t] of this.seen) {
      if (t >= cutoff) break;
      this.seen.delete(k);
    }
  }
}

/** A compact, flat Map key for a 32-byte enc: 16 UTF-16 code units (two bytes each). */
function keyOf(b: Uint8Array): string {
  const units = new Array<number>(b.length >> 1);
  for (let i = 0; i < units.length; i++) units[i] = (b[2 * i]! << 8) | b[2 * i + 1]!;
  return String.fromCharCode(...units);
}

/**
 * @internal Bare HPKE base-mode setup (RFC 9180 §5.1.1) for any `info`, sender and receiver: what
 * RFC 9180's test vectors exercise. OHTTP itself goes through `setupSender` / `setupReceiver`.
 */
export async function hpkeSetupBase(
  aeadId: number,
  role: { skE: Uint8Array; pkR: Uint8Array } | { skR: Uint8Array; enc: Uint8Array },
  info: Uint8Array,
): Promise<{ enc: Uint8Array; ctx: HpkeContext }> {
  const suite = suiteOf(aeadId);
  if (!suite) throw new OhttpUnsupportedSuiteError({ kemId: KEM_X25519_HKDF_SHA256, aeadId }, "HPKE setup");
  const ks = keyScheduleContext(suite, info);
  if ("skE" in role) {
    const eph = await prim.importX25519(role.skE);
    const dh = await prim.dh(eph.handle, await prim.importPublic(role.pkR));
    return { enc: eph.publicKey, ctx: deriveContext(suite, dh, eph.publicKey, role.pkR, ks) };
  }
  const me = await prim.importX25519(role.skR);
  const dh = await prim.dh(me.handle, await prim.importPublic(role.enc));
  return { enc: role.enc, ctx: deriveContext(suite, dh, role.enc, me.publicKey, ks) };
}
