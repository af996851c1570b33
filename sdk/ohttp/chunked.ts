/**
 * Chunked Oblivious HTTP messages (draft-ietf-ohai-chunked-ohttp-08): requests and responses
 * sealed and opened chunk by chunk, so a streamed answer can be read before it ends.
 *
 *   request  = hdr ‖ enc ‖ (varint(len) ‖ sctxt.Seal("", chunk))* ‖ 0x00 ‖ sctxt.Seal("final", chunk)
 *              (info = "message/bhttp chunked request" ‖ 0x00 ‖ hdr; the HPKE sequence number orders chunks)
 *   response = response_nonce ‖ (varint(len) ‖ Seal(key, nonce ⊕ counter, "", chunk))* ‖
 *              0x00 ‖ Seal(key, nonce ⊕ counter, "final", chunk)
 *              (secret = Export("message/bhttp chunked response", max(Nn, Nk)), then RFC 9458 §4.4)
 *
 * What the framing does not authenticate, the AEAD does: a reordered or dropped chunk is opened
 * with the wrong nonce, a moved final marker with the wrong AAD (both `OhttpDecryptError`), and a
 * message that ends without the final chunk is `OhttpTruncatedError` at `end()`. A non-final chunk
 * with no data is refused like a decryption failure (§"Encapsulation of Chunks"). The decoders
 * hold at most one sealed chunk (≤ `maxChunkBytes` + 16), whatever the message's length.
 */
import {
  HDR_LEN,
  LABEL_CHUNKED_RESPONSE,
  OhttpDecryptError,
  OhttpTruncatedError,
  REQUEST_HEADER_LENGTH,
  aeadOpen,
  aeadSeal,
  hpkeExport,
  nonceFor,
  randomBytes,
  responseKeys,
  setupReceiver,
  setupSender,
  type EncapsulateRequestOptions,
  type HpkeContext,
  type OhttpClientKey,
  type OhttpServerKeys,
  type Suite,
} from "./encapsulation.js";
import { OhttpError } from "./keyConfig.js";

export const MEDIA_TYPE_OHTTP_CHUNKED_REQUEST = "message/ohttp-chunked-req";
export const MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE = "message/ohttp-chunked-res";
/** The chunk size every implementation must accept (2^14 plaintext bytes) and senders should keep to. */
export const CHUNK_SIZE = 16384;
const NT = 16;
const FINAL = new TextEncoder().encode("final");
const EMPTY = new Uint8Array(0);

/** A chunk longer than the receiver accepts (its memory bound). */
export class OhttpChunkTooLargeError extends OhttpError {
  override name = "OhttpChunkTooLargeError";
  constructor(length: number, max: number) {
    super(`OHTTP chunk of ${length} sealed bytes exceeds the ${max} this receiver accepts.`);
  }
}

function varintBytes(n: number): Uint8Array {
  if (n < 0x40) return Uint8Array.of(n);
  if (n < 0x4000) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  if (n < 0x40000000) return Uint8Array.of(0x80 | (n >>> 24), (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  throw new RangeError(`chunk of ${n} bytes is too large`);
}

function frame(sealed: Uint8Array, final: boolean): Uint8Array {
  const prefix = final ? Uint8Array.of(0) : varintBytes(sealed.length);
  const out = new Uint8Array(prefix.length + sealed.length);
  out.set(prefix, 0);
  out.set(sealed, prefix.length);
  return out;
}

/** Seals one message's chunks in order; refuses anything after the final chunk. */
abstract class ChunkSealer {
  private seq = 0;
  private done = false;
  protected abstract sealAt(seq: number, chunk: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;

  /** The framed chunk (length ‖ sealed, or 0 ‖ sealed for the final one). */
  async seal(chunk: Uint8Array, final = false): Promise<Uint8Array> {
    if (this.done) throw new OhttpError("OHTTP chunked message: nothing can follow the final chunk.");
    if (!final && chunk.length === 0)
      throw new OhttpError("OHTTP chunked message: a non-final chunk must not be empty.");
    if (final) this.done = true;
    return frame(await this.sealAt(this.seq++, chunk, final ? FINAL : EMPTY), final);
  }
}

/**
 * Reads `header ‖ chunks` incrementally. `push` returns the plaintexts of the non-final chunks
 * completed so far; `end` (the outer message ended) opens the final chunk and returns its plaintext.
 */
abstract class ChunkOpener {
  private buf: Uint8Array = EMPTY;
  private headerRead = false;
  private finalSeen = false;
  private seq = 0;
  private ended = false;
  /** Bytes received so far (all of them: what a receipt's hash covers). */
  bytesIn = 0;
  protected abstract readonly headerLength: number;
  protected abstract readonly what: string;
  protected abstract onHeader(header: Uint8Array): Promise<void>;
  protected abstract openAt(seq: number, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;

  constructor(protected readonly maxSealed: number) {}

  /** True once the final chunk was opened: the message is complete and authentic. */
  get complete(): boolean {
    return this.ended;
  }

  async push(bytes: Uint8Array): Promise<Uint8Array[]> {
    if (this.ended) throw new OhttpError(`OHTTP ${this.what}: bytes after the end.`);
    this.bytesIn += bytes.length;
    this.buf = this.buf.length ? concat2(this.buf, bytes) : bytes;
    const out: Uint8Array[] = [];
    if (!this.headerRead) {
      if (this.buf.length < this.headerLength) return out;
      await this.onHeader(this.buf.subarray(0, this.headerLength));
      this.headerRead = true;
      this.buf = this.buf.subarray(this.headerLength);
    }
    while (!this.finalSeen && this.buf.length > 0) {
      const first = this.buf[0]!;
      const vlen = 1 << (first >>> 6);
      if (this.buf.length < vlen) break;
      let n = first & 0x3f;
      for (let i = 1; i < vlen; i++) n = n * 256 + this.buf[i]!;
      if (n === 0) {
        this.finalSeen = true;
        this.buf = this.buf.subarray(vlen);
        break;
      }
      if (n > this.maxSealed) throw new OhttpChunkTooLargeError(n, this.maxSealed);
      if (this.buf.length < vlen + n) break;
      const sealed = this.buf.subarray(vlen, vlen + n);
      this.buf = this.buf.subarray(vlen + n);
      const pt = await this.openChecked(sealed, EMPTY);
      if (pt.length === 0) throw new OhttpDecryptError(this.what.endsWith("request") ? "request" : "response");
      out.push(pt);
    }
    // The final chunk runs to the end of the message: held (bounded) until `end`.
    if (this.finalSeen && this.buf.length > this.maxSealed)
      throw new OhttpChunkTooLargeError(this.buf.length, this.maxSealed);
    if (this.buf.length > 0 && this.buf.byteOffset > 0 && !this.finalSeen) this.buf = this.buf.slice();
    return out;
  }

  /** The outer message ended: opens the final chunk, or throws `OhttpTruncatedError` if there was none. */
  async end(): Promise<Uint8Array> {
    if (this.ended) throw new OhttpError(`OHTTP ${this.what}: ended twice.`);
    if (!this.headerRead || !this.finalSeen)
      throw new OhttpTruncatedError(`${this.what} (no final chunk)`, this.headerLength + 1 + NT, this.bytesIn);
    const pt = await this.openChecked(this.buf, FINAL);
    this.buf = EMPTY;
    this.ended = true;
    return pt;
  }

  private async openChecked(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.openAt(this.seq++, sealed, aad);
    } catch (e) {
      throw new OhttpDecryptError(this.what.endsWith("request") ? "request" : "response", e);
    }
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/**
 * A chunked request's HPKE sender setup (a fresh ephemeral key, its DH with the gateway key, the
 * key schedule) made ahead of the request, so that it is off the request's path: a client prepares
 * the next one while the current answer streams. Used for exactly one request.
 */
export interface PreparedChunkedSender {
  readonly key: OhttpClientKey;
  readonly enc: Uint8Array;
  readonly ctx: HpkeContext;
  used: boolean;
}

export async function prepareChunkedSender(key: OhttpClientKey): Promise<PreparedChunkedSender> {
  const { enc, ctx } = await setupSender(key, true);
  return { key, enc, ctx, used: false };
}

export interface ChunkedRequestOptions extends EncapsulateRequestOptions {
  /** A setup from `prepareChunkedSender(key)`, not used before. */
  sender?: PreparedChunkedSender;
}

/** The client side of one chunked request: `header` first, then `seal` each chunk, the last with final = true. */
export class ChunkedRequestSealer extends ChunkSealer {
  private constructor(
    /** hdr ‖ enc: the first bytes of the request. */
    readonly header: Uint8Array,
    readonly enc: Uint8Array,
    private readonly ctx: HpkeContext,
  ) {
    super();
  }

  static async create(key: OhttpClientKey, options?: ChunkedRequestOptions): Promise<ChunkedRequestSealer> {
    const prepared = options?.sender;
    if (prepared && (prepared.key !== key || prepared.used))
      throw new OhttpError("OHTTP chunked request: a prepared sender is for one request to its own key.");
    if (prepared) prepared.used = true;
    const { enc, ctx } = prepared ?? (await setupSender(key, true, options));
    const header = new Uint8Array(REQUEST_HEADER_LENGTH);
    header.set(key.header, 0);
    header.set(enc, HDR_LEN);
    return new ChunkedRequestSealer(header, enc, ctx);
  }

  protected sealAt(seq: number, chunk: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return aeadSeal(this.ctx.suite, this.ctx.key, nonceFor(this.ctx.baseNonce, seq), chunk, aad);
  }

  /** The opener of this request's chunked response. */
  responseOpener(options?: { maxChunkBytes?: number }): ChunkedResponseOpener {
    return new ChunkedResponseOpener(
      this.ctx.suite,
      this.enc,
      hpkeExport(this.ctx, LABEL_CHUNKED_RESPONSE, this.ctx.suite.entropyLen),
      (options?.maxChunkBytes ?? CHUNK_SIZE) + NT,
    );
  }
}

/** Seals a whole request as a chunked one: its data in chunks of at most `chunkSize`, then an empty final chunk. */
export async function encapsulateChunkedRequest(
  key: OhttpClientKey,
  request: Uint8Array,
  options?: ChunkedRequestOptions & { chunkSize?: number },
): Promise<{ encapsulatedRequest: Uint8Array; sealer: ChunkedRequestSealer }> {
  const sealer = await ChunkedRequestSealer.create(key, options);
  const size = options?.chunkSize ?? CHUNK_SIZE;
  const parts = [sealer.header];
  for (let off = 0; off < request.length; off += size) parts.push(await sealer.seal(request.subarray(off, off + size)));
  parts.push(await sealer.seal(EMPTY, true));
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return { encapsulatedRequest: out, sealer };
}

/** The gateway side of one chunked request; after the header, `responseSealer()` answers it. */
export class ChunkedRequestOpener extends ChunkOpener {
  protected readonly headerLength = REQUEST_HEADER_LENGTH;
  protected readonly what = "chunked request";
  private ctx: HpkeContext | undefined;
  keyId: number | undefined;
  /** The client's enc (the replay key), once the header is read. */
  enc: Uint8Array | undefined;

  constructor(
    private readonly serverKeys: OhttpServerKeys,
    options?: { maxChunkBytes?: number },
  ) {
    super((options?.maxChunkBytes ?? CHUNK_SIZE) + NT);
  }

  protected async onHeader(header: Uint8Array): Promise<void> {
    const { keyId, enc, ctx } = await setupReceiver(this.serverKeys, header, true, REQUEST_HEADER_LENGTH);
    this.keyId = keyId;
    this.enc = enc;
    this.ctx = ctx;
  }

  protected openAt(seq: number, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const ctx = this.ctx!;
    return aeadOpen(ctx.suite, ctx.key, nonceFor(ctx.baseNonce, seq), sealed, aad);
  }

  /** The sealer of the chunked response to this request (call once the header was read). */
  responseSealer(options?: { responseNonce?: Uint8Array }): ChunkedResponseSealer {
    const ctx = this.ctx;
    if (!ctx || !this.enc) throw new OhttpError("OHTTP chunked request: the header has not been read yet.");
    const secret = hpkeExport(ctx, LABEL_CHUNKED_RESPONSE, ctx.suite.entropyLen);
    return new ChunkedResponseSealer(ctx.suite, this.enc, secret, options?.responseNonce);
  }
}

/** Opens a whole chunked request: its plaintext (all chunks joined) and the opener (for the response). */
export async function decapsulateChunkedRequest(
  serverKeys: OhttpServerKeys,
  encapsulatedRequest: Uint8Array,
  options?: { maxChunkBytes?: number },
): Promise<{ request: Uint8Array; opener: ChunkedRequestOpener }> {
  const opener = new ChunkedRequestOpener(serverKeys, options);
  const parts = await opener.push(encapsulatedRequest);
  parts.push(await opener.end());
  let n = 0;
  for (const p of parts) n += p.length;
  const request = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    request.set(p, n);
    n += p.length;
  }
  return { request, opener };
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/** The gateway side of one chunked response: `header` (the response nonce) first, then `seal` each chunk. */
export class ChunkedResponseSealer extends ChunkSealer {
  /** response_nonce: the first bytes of the response. */
  readonly header: Uint8Array;
  private readonly key: Uint8Array;
  private readonly nonce: Uint8Array;

  constructor(
    private readonly suite: Suite,
    enc: Uint8Array,
    secret: Uint8Array,
    responseNonce?: Uint8Array,
  ) {
    super();
    if (responseNonce && responseNonce.length !== suite.entropyLen)
      throw new OhttpError(`OHTTP response nonce must be ${suite.entropyLen} bytes.`);
    this.header = responseNonce ?? randomBytes(suite.entropyLen);
    ({ key: this.key, nonce: this.nonce } = responseKeys(suite, secret, enc, this.header));
  }

  protected sealAt(seq: number, chunk: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return aeadSeal(this.suite, this.key, nonceFor(this.nonce, seq), chunk, aad);
  }
}

/** The client side of one chunked response (from `ChunkedRequestSealer.responseOpener`). */
export class ChunkedResponseOpener extends ChunkOpener {
  protected readonly headerLength: number;
  protected readonly what = "chunked response";
  private keys: { key: Uint8Array; nonce: Uint8Array } | undefined;

  constructor(
    private readonly suite: Suite,
    private readonly enc: Uint8Array,
    private readonly secret: Uint8Array,
    maxSealed: number,
  ) {
    super(maxSealed);
    this.headerLength = suite.entropyLen;
  }

  protected async onHeader(responseNonce: Uint8Array): Promise<void> {
    this.keys = responseKeys(this.suite, this.secret, this.enc, responseNonce);
  }

  protected openAt(seq: number, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return aeadOpen(this.suite, this.keys!.key, nonceFor(this.keys!.nonce, seq), sealed, aad);
  }
}
