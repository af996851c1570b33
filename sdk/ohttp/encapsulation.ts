/**
 * OHTTP message encapsulation (RFC 9458 §4), suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * AES-128-GCM.
 *
 * Request (client → gateway, §4.3):
 *   hdr  = key_id (8) ‖ kem_id (16) ‖ kdf_id (16) ‖ aead_id (16)
 *   info = "message/bhttp request" ‖ 0x00 ‖ hdr
 *   enc, sctxt = SetupBaseS(pkR, info);  ct = sctxt.Seal("", request)
 *   encapsulated request = hdr ‖ enc ‖ ct
 *
 * Response (gateway → client, §4.4):
 *   response_nonce = random(max(Nn, Nk))                     (16 bytes for AES-128-GCM)
 *   secret     = context.Export("message/bhttp response", max(Nn, Nk))
 *   prk        = Extract(salt = enc ‖ response_nonce, ikm = secret)
 *   aead_key   = Expand(prk, "key", Nk);  aead_nonce = Expand(prk, "nonce", Nn)
 *   encapsulated response = response_nonce ‖ Seal(aead_key, aead_nonce, "", response)
 *
 * HPKE runs on @hpke/core (WebCrypto). Work that does not depend on the message is done once
 * and cached: the recipient public key / key pair are imported when the key is loaded, and hdr
 * and info are precomputed per key. The response key schedule is a handful of HMAC-SHA256 calls,
 * done synchronously with @noble/hashes instead of round-tripping through WebCrypto.
 */
import {
  Aes128Gcm,
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
  type RecipientContext,
  type SenderContext,
} from "@hpke/core";
import { x25519 } from "@noble/curves/ed25519.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  AEAD_AES_128_GCM,
  KDF_HKDF_SHA256,
  KEM_X25519_HKDF_SHA256,
  OhttpError,
  OhttpUnsupportedSuiteError,
  assertSupportedKeyConfig,
  decodeKeyConfig,
  encodeKeyConfigList,
  type KeyConfig,
  type OhttpKeyPair,
} from "./keyConfig.js";

export const MEDIA_TYPE_OHTTP_REQUEST = "message/ohttp-req";
export const MEDIA_TYPE_OHTTP_RESPONSE = "message/ohttp-res";

/** Sizes for the one supported suite. */
const NENC = 32; // X25519 enc
const NK = 16; // AES-128-GCM key
const NN = 12; // AES-128-GCM nonce
const NT = 16; // AES-128-GCM tag
const HDR_LEN = 7;
/** max(Nn, Nk) */
export const RESPONSE_NONCE_LENGTH = Math.max(NN, NK);

const te = new TextEncoder();
const LABEL_REQUEST = te.encode("message/bhttp request");
const LABEL_RESPONSE = te.encode("message/bhttp response");
const LABEL_KEY = te.encode("key");
const LABEL_NONCE = te.encode("nonce");

const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes128Gcm(),
});
const subtle = globalThis.crypto.subtle;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** The message is shorter than its fixed-size parts require. */
export class OhttpTruncatedError extends OhttpError {
  override name = "OhttpTruncatedError";
  readonly minLength: number;
  readonly length: number;
  constructor(what: "encapsulated request" | "encapsulated response", minLength: number, length: number) {
    super(`Truncated OHTTP ${what}: ${length} byte(s), at least ${minLength} required.`);
    this.minLength = minLength;
    this.length = length;
  }
}

/** The request names a key id this gateway does not hold (rotated away, or wrong gateway). */
export class OhttpUnknownKeyError extends OhttpError {
  override name = "OhttpUnknownKeyError";
  readonly keyId: number;
  constructor(keyId: number, known: readonly number[]) {
    super(`Unknown OHTTP key id ${keyId}.`, { details: `This gateway holds key id(s): ${known.join(", ") || "none"}.` });
    this.keyId = keyId;
  }
}

/**
 * Authenticated decryption failed: the message was altered, sealed to another key, or is not
 * an OHTTP message at all. Deliberately says nothing more specific (no padding/tag oracles).
 */
export class OhttpDecryptError extends OhttpError {
  override name = "OhttpDecryptError";
  constructor(what: "request" | "response", cause?: unknown) {
    super(`Could not decrypt the OHTTP ${what}.`, { cause });
  }
}

/** The encapsulated request was already seen (or is too old to tell); see `OhttpReplayGuard`. */
export class OhttpReplayError extends OhttpError {
  override name = "OhttpReplayError";
  readonly reason: "replayed" | "stale" | "future";
  constructor(reason: "replayed" | "stale" | "future", details: string) {
    super(
      reason === "replayed"
        ? "Replayed OHTTP request rejected."
        : `OHTTP request rejected: its time is ${reason === "stale" ? "too old" : "too far in the future"}.`,
      { details },
    );
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function requestHeader(keyId: number): Uint8Array {
  return Uint8Array.of(
    keyId,
    KEM_X25519_HKDF_SHA256 >> 8, KEM_X25519_HKDF_SHA256 & 0xff,
    KDF_HKDF_SHA256 >> 8, KDF_HKDF_SHA256 & 0xff,
    AEAD_AES_128_GCM >> 8, AEAD_AES_128_GCM & 0xff,
  );
}

function requestInfo(hdr: Uint8Array): Uint8Array {
  const info = new Uint8Array(LABEL_REQUEST.length + 1 + hdr.length);
  info.set(LABEL_REQUEST, 0);
  info.set(hdr, LABEL_REQUEST.length + 1); // the 0x00 separator is already there
  return info;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A copy backed by its own ArrayBuffer (what WebCrypto's BufferSource typing wants). */
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

/** RFC 9458 §4.4 key schedule for the response AEAD. */
function responseKeys(secret: Uint8Array, enc: Uint8Array, responseNonce: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const prk = extract(sha256, secret, concat(enc, responseNonce));
  return { key: expand(sha256, prk, LABEL_KEY, NK), nonce: expand(sha256, prk, LABEL_NONCE, NN) };
}

async function aesGcm(mode: "encrypt" | "decrypt", key: Uint8Array, nonce: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await subtle.importKey("raw", own(key), "AES-GCM", false, [mode]);
  const params = { name: "AES-GCM", iv: own(nonce) };
  const out = mode === "encrypt" ? await subtle.encrypt(params, k, own(data)) : await subtle.decrypt(params, k, own(data));
  return new Uint8Array(out);
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
  /** hdr = key_id ‖ kem_id ‖ kdf_id ‖ aead_id */
  readonly header: Uint8Array;
  /** "message/bhttp request" ‖ 0x00 ‖ hdr */
  readonly info: Uint8Array;
  readonly publicKey: CryptoKey;
}

/** Per-request client state needed to open the matching response. Use once. */
export interface OhttpClientContext {
  readonly enc: Uint8Array;
  /** @internal HPKE sender context (its exporter derives the response secret). */
  readonly sender: SenderContext;
}

/** Validates the config (X25519 + HKDF-SHA256 + AES-128-GCM) and imports its public key. */
export async function importClientKey(keyConfig: KeyConfig | Uint8Array): Promise<OhttpClientKey> {
  const config = toKeyConfig(keyConfig);
  assertSupportedKeyConfig(config);
  const header = requestHeader(config.keyId);
  const publicKey = await suite.kem.deserializePublicKey(own(config.publicKey));
  return { config, header, info: requestInfo(header), publicKey };
}

export interface EncapsulateRequestOptions {
  /**
   * Fixed ephemeral X25519 secret. ONLY for reproducing published test vectors: reusing an
   * ephemeral key makes requests linkable and breaks the response key separation.
   */
  ephemeralPrivateKey?: Uint8Array;
}

/** Seals a `message/bhttp` request to the gateway key: returns hdr ‖ enc ‖ ct and the context for the response. */
export async function encapsulateRequest(
  key: OhttpClientKey,
  request: Uint8Array,
  options?: EncapsulateRequestOptions,
): Promise<{ encapsulatedRequest: Uint8Array; context: OhttpClientContext }> {
  let ekm: CryptoKeyPair | undefined;
  if (options?.ephemeralPrivateKey) {
    const sk = options.ephemeralPrivateKey;
    ekm = {
      privateKey: await suite.kem.deserializePrivateKey(own(sk)),
      publicKey: await suite.kem.deserializePublicKey(own(x25519.getPublicKey(sk))),
    };
  }
  const sender = await suite.createSenderContext({ recipientPublicKey: key.publicKey, info: key.info, ...(ekm ? { ekm } : {}) });
  const ct = new Uint8Array(await sender.seal(own(request)));
  const enc = new Uint8Array(sender.enc);
  const out = new Uint8Array(HDR_LEN + enc.length + ct.length);
  out.set(key.header, 0);
  out.set(enc, HDR_LEN);
  out.set(ct, HDR_LEN + enc.length);
  return { encapsulatedRequest: out, context: { enc, sender } };
}

/** Opens the gateway's encapsulated response (response_nonce ‖ ct) → `message/bhttp` response. */
export async function decapsulateResponse(context: OhttpClientContext, encapsulatedResponse: Uint8Array): Promise<Uint8Array> {
  const min = RESPONSE_NONCE_LENGTH + NT;
  if (encapsulatedResponse.length < min) throw new OhttpTruncatedError("encapsulated response", min, encapsulatedResponse.length);
  const responseNonce = encapsulatedResponse.subarray(0, RESPONSE_NONCE_LENGTH);
  const secret = new Uint8Array(await context.sender.export(LABEL_RESPONSE, RESPONSE_NONCE_LENGTH));
  const { key, nonce } = responseKeys(secret, context.enc, responseNonce);
  try {
    return await aesGcm("decrypt", key, nonce, encapsulatedResponse.subarray(RESPONSE_NONCE_LENGTH));
  } catch (e) {
    throw new OhttpDecryptError("response", e);
  }
}

// ---------------------------------------------------------------------------------------------
// Gateway side
// ---------------------------------------------------------------------------------------------

interface ImportedServerKey {
  readonly config: KeyConfig;
  readonly info: Uint8Array;
  readonly keyPair: CryptoKeyPair;
}

/** The gateway's OHTTP keys, imported once (by key id). */
export interface OhttpServerKeys {
  readonly keys: ReadonlyMap<number, ImportedServerKey>;
  /** All configs as an `application/ohttp-keys` body, for the key-config endpoint. */
  readonly keyConfigList: Uint8Array;
}

/** Per-request gateway state needed to seal the response. */
export interface OhttpResponderContext {
  readonly keyId: number;
  readonly enc: Uint8Array;
  /** @internal HPKE recipient context (its exporter derives the response secret). */
  readonly recipient: RecipientContext;
}

/** Imports gateway key pairs (from `keyPairFromPrivateKey` / `generateKeyPair`). Key ids must be distinct. */
export async function importServerKeys(keyPairs: OhttpKeyPair | readonly OhttpKeyPair[]): Promise<OhttpServerKeys> {
  const list = Array.isArray(keyPairs) ? keyPairs : [keyPairs as OhttpKeyPair];
  const keys = new Map<number, ImportedServerKey>();
  for (const kp of list) {
    assertSupportedKeyConfig(kp.config);
    if (keys.has(kp.keyId)) throw new OhttpError(`Duplicate OHTTP key id ${kp.keyId}.`);
    const keyPair: CryptoKeyPair = {
      privateKey: await suite.kem.deserializePrivateKey(own(kp.privateKey)),
      publicKey: await suite.kem.deserializePublicKey(own(kp.publicKey)),
    };
    keys.set(kp.keyId, { config: kp.config, info: requestInfo(requestHeader(kp.keyId)), keyPair });
  }
  return { keys, keyConfigList: encodeKeyConfigList(list.map((kp) => kp.encodedConfig)) };
}

/**
 * Opens an encapsulated request. Errors: `OhttpTruncatedError`, `OhttpUnknownKeyError`,
 * `OhttpUnsupportedSuiteError`, `OhttpDecryptError`. OHTTP has no replay protection of its own:
 * run the result through an `OhttpReplayGuard` before acting on it.
 */
export async function decapsulateRequest(
  serverKeys: OhttpServerKeys,
  encapsulatedRequest: Uint8Array,
): Promise<{ request: Uint8Array; context: OhttpResponderContext }> {
  const msg = encapsulatedRequest;
  if (msg.length < HDR_LEN) throw new OhttpTruncatedError("encapsulated request", HDR_LEN + NENC + NT, msg.length);
  const keyId = msg[0]!;
  const key = serverKeys.keys.get(keyId);
  if (!key) throw new OhttpUnknownKeyError(keyId, [...serverKeys.keys.keys()]);
  const kemId = (msg[1]! << 8) | msg[2]!;
  const kdfId = (msg[3]! << 8) | msg[4]!;
  const aeadId = (msg[5]! << 8) | msg[6]!;
  if (kemId !== KEM_X25519_HKDF_SHA256 || kdfId !== KDF_HKDF_SHA256 || aeadId !== AEAD_AES_128_GCM) {
    throw new OhttpUnsupportedSuiteError({ kemId, kdfId, aeadId }, `request for key id ${keyId}`);
  }
  if (msg.length < HDR_LEN + NENC + NT) throw new OhttpTruncatedError("encapsulated request", HDR_LEN + NENC + NT, msg.length);
  const enc = msg.slice(HDR_LEN, HDR_LEN + NENC);
  let recipient: RecipientContext;
  let plaintext: ArrayBuffer;
  try {
    recipient = await suite.createRecipientContext({ recipientKey: key.keyPair, enc, info: key.info });
    plaintext = await recipient.open(own(msg.subarray(HDR_LEN + NENC)));
  } catch (e) {
    throw new OhttpDecryptError("request", e);
  }
  return { request: new Uint8Array(plaintext), context: { keyId, enc, recipient } };
}

export interface EncapsulateResponseOptions {
  /** Fixed response nonce. ONLY for reproducing test vectors; normally 16 fresh random bytes. */
  responseNonce?: Uint8Array;
}

/** Seals the `message/bhttp` response for the request that produced `context`. */
export async function encapsulateResponse(
  context: OhttpResponderContext,
  response: Uint8Array,
  options?: EncapsulateResponseOptions,
): Promise<Uint8Array> {
  let responseNonce = options?.responseNonce;
  if (responseNonce === undefined) {
    responseNonce = globalThis.crypto.getRandomValues(new Uint8Array(RESPONSE_NONCE_LENGTH));
  } else if (responseNonce.length !== RESPONSE_NONCE_LENGTH) {
    throw new OhttpError(`OHTTP response nonce must be ${RESPONSE_NONCE_LENGTH} bytes.`);
  }
  const secret = new Uint8Array(await context.recipient.export(LABEL_RESPONSE, RESPONSE_NONCE_LENGTH));
  const { key, nonce } = responseKeys(secret, context.enc, responseNonce);
  const ct = await aesGcm("encrypt", key, nonce, response);
  const out = new Uint8Array(RESPONSE_NONCE_LENGTH + ct.length);
  out.set(responseNonce, 0);
  out.set(ct, RESPONSE_NONCE_LENGTH);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Replay protection
// ---------------------------------------------------------------------------------------------

export interface OhttpReplayGuardOptions {
  /** How long a request counts as fresh, in ms. Default 60 000. */
  windowMs?: number;
  /** Upper bound on remembered requests. Default 100 000 (~10 MB worst case). */
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
 * the guard still catches replays within the window, but not later ones.
 */
export class OhttpReplayGuard {
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly now: () => number;
  /** key → the request time it was admitted with. Insertion-ordered, which approximates time order. */
  private readonly seen = new Map<string, number>();
  /** Requests with a time ≤ floor may have been evicted unexpired: refuse them. */
  private floor = -Infinity;

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

  /**
   * Admits a request or throws `OhttpReplayError`. `enc` is `context.enc` from
   * `decapsulateRequest`. `requestTimeMs` is the client's claimed send time (e.g. its `Date`
   * header), if any.
   */
  check(enc: Uint8Array, requestTimeMs?: number): void {
    if (enc.length !== NENC) throw new OhttpError(`OhttpReplayGuard.check expects the ${NENC}-byte enc, got ${enc.length} bytes.`);
    const now = this.now();
    const key = keyOf(enc);
    let t = now;
    if (requestTimeMs !== undefined) {
      if (!(requestTimeMs >= now - this.windowMs)) {
        throw new OhttpReplayError("stale", `request time ${requestTimeMs} is more than ${this.windowMs} ms before ${now}`);
      }
      if (requestTimeMs > now + this.windowMs) {
        throw new OhttpReplayError("future", `request time ${requestTimeMs} is more than ${this.windowMs} ms after ${now}`);
      }
      t = requestTimeMs;
    }
    if (this.seen.has(key)) throw new OhttpReplayError("replayed", "this encapsulated request was already accepted");
    if (t <= this.floor) {
      throw new OhttpReplayError("stale", "the replay cache was full and has forgotten requests this old; retry with a fresh request");
    }
    this.purge(now);
    while (this.seen.size >= this.maxEntries) {
      const [oldKey, oldT] = this.seen.entries().next().value as [string, number];
      this.seen.delete(oldKey);
      if (oldT > this.floor) this.floor = oldT;
    }
    if (t <= this.floor) {
      throw new OhttpReplayError("stale", "the replay cache is full; retry with a fresh request");
    }
    this.seen.set(key, t);
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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
function keyOf(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}
