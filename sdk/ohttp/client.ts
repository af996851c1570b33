/**
 * OHTTP client: encrypt on the device, send through the relay, decrypt the answer.
 *
 *   user device ──(encapsulated request)──▶ OHTTP relay ──▶ TEE gateway (holds the key)
 *
 * The relay sees who asks but only ciphertext; the gateway sees what is asked but not who.
 * The client pins the gateway key: `expectedKeyConfigHash` is the keccak256 of the key config
 * that the enclave's registry entry / attestation binds, and a config that hashes differently
 * is refused before anything is encrypted to it.
 *
 * Every call returns the exact ciphertexts exchanged. The user keeps them: proofpath receipts
 * commit to `requestHash = keccak256(encapsulated request)` and
 * `responseHash = keccak256(encapsulated response)`, so the user can later prove which call a
 * settled receipt refers to without revealing the plaintext.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { hexToBytes, isHex, type Hex } from "viem";
import { keccak256Hex } from "../hashing.js";
import {
  decodeResponse,
  encodeRequest,
  getField,
  type BhttpField,
  type BhttpFields,
  type BhttpResponse,
} from "./bhttp.js";
import {
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
  decapsulateResponse,
  encapsulateRequest,
  importClientKey,
  type OhttpClientKey,
} from "./encapsulation.js";
import { BhttpResponseStreamDecoder, type BhttpStreamEvent } from "./bhttpStream.js";
import {
  MEDIA_TYPE_OHTTP_CHUNKED_REQUEST,
  MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE,
  encapsulateChunkedRequest,
  prepareChunkedSender,
  type PreparedChunkedSender,
} from "./chunked.js";
import { OhttpError, keyConfigHash, type KeyConfig } from "./keyConfig.js";
import {
  createFetchPost,
  createFetchStreamPost,
  createNodePost,
  createNodeStreamPost,
  type Post,
  type StreamPost,
} from "./transport.js";
import {
  MemoryReceiptKeeper,
  awaitCallReceipt,
  type CallReceiptOptions,
  type ReceiptKeeper,
  type SignedCallReceipt,
} from "./receipts.js";

/** The gateway key config does not hash to the value the client was told to expect. Not retryable. */
export class OhttpKeyConfigMismatchError extends OhttpError {
  override name = "OhttpKeyConfigMismatchError";
  readonly expected: Hex;
  readonly actual: Hex;
  constructor(expected: Hex, actual: Hex) {
    super("OHTTP key config does not match the expected hash; refusing to encrypt to it.", {
      details: `expected keccak256 ${expected}, got ${actual}`,
    });
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * The relay (or gateway behind it) answered with something other than an encapsulated response.
 * Retryable when the status is 429 or 5xx (the relay or gateway is busy or down).
 */
export class OhttpRelayError extends OhttpError {
  override name = "OhttpRelayError";
  readonly status: number;
  readonly contentType: string | null;
  constructor(status: number, contentType: string | null) {
    super(
      `OHTTP relay returned HTTP ${status} (${contentType ?? "no content-type"}) instead of ${MEDIA_TYPE_OHTTP_RESPONSE}.`,
      { retryable: status === 429 || status >= 500 },
    );
    this.status = status;
    this.contentType = contentType;
  }
}

export interface OhttpClientOptions {
  /** The gateway's encoded single key config (bytes or hex), e.g. taken from its `application/ohttp-keys`. */
  keyConfig: Uint8Array | Hex;
  /** keccak256 of `keyConfig` as bound in the registry / attestation. When set, a mismatch is refused. */
  expectedKeyConfigHash?: Hex;
  /** URL of the OHTTP relay resource that forwards to the gateway. */
  relayUrl: string;
  /**
   * fetch implementation to send with. Default: undici's dispatcher on a keep-alive pool under Node
   * (see ./transport.ts), `globalThis.fetch` elsewhere.
   */
  fetch?: typeof fetch;
  /** Origin for relative targets, e.g. "https://gateway.example". Without it a path gets scheme https and an empty authority. */
  origin?: string;
  /**
   * The client's clock (ms), for tests. Every request carries it as an encrypted `date` header:
   * the gateway refuses requests without one (its replay window, RFC 9458 §6.5.1).
   */
  now?: () => number;
  /**
   * Get the enclave-signed receipt of every answered call (inner status 200) once it is durable:
   * fetched by request hash, checked against the call's own ciphertexts and the settlement's
   * EIP-712 domain, kept in `keeper` (default in memory). See ./receipts.ts.
   */
  receipts?: ClientReceiptOptions;
}

export type ClientReceiptOptions = Omit<CallReceiptOptions, "daBaseUrl"> & {
  /**
   * How the look-up travels. "relay" (default): as an OHTTP request of `GET {daBaseUrl path}/receipts/
   * by-request/:h` through the same relay, so the gateway learns which receipt is asked for but not
   * who asks. "direct": a plain GET to `daBaseUrl` (with `fetch`), which shows the gateway the
   * client's address beside a request hash it can tie to the call's content.
   */
  via?: "relay" | "direct";
  /** The gateway's DA base; required for "direct". Via the relay only its path is used (default "/da"). */
  daBaseUrl?: string;
};

/** RFC 9458 §6.5.2: the gateway's answer to a request whose `date` it does not accept. */
export const PROBLEM_DATE = "https://iana.org/assignments/http-problem-types#date";

export type OhttpHeaders = Record<string, string> | BhttpFields;

export interface OhttpRequestOptions {
  signal?: AbortSignal;
}

export interface OhttpClientResponse {
  status: number;
  headers: BhttpFields;
  body: Uint8Array;
  /** The full decoded `message/bhttp` response (informational responses, trailers). */
  response: BhttpResponse;
  /** hdr ‖ enc ‖ ct exactly as sent to the relay. */
  encapsulatedRequest: Uint8Array;
  /** response_nonce ‖ ct exactly as received. */
  encapsulatedResponse: Uint8Array;
  /** keccak256(encapsulatedRequest): the receipt's requestHash (computed on first read). */
  readonly requestHash: Hex;
  /** keccak256(encapsulatedResponse): the receipt's responseHash (computed on first read). */
  readonly responseHash: Hex;
  /**
   * With the client's `receipts` option and an answered call (status 200): the signed, checked and
   * kept receipt, within `receipts.timeoutMs`; rejects with `OhttpReceiptNotDurableError` (fetch it
   * later by `requestHash`), `OhttpReceiptMismatchError` or `OhttpReceiptSignatureError`.
   * Started at once whether awaited or not.
   */
  receipt?: Promise<SignedCallReceipt>;
  text(): string;
  json<T = unknown>(): T;
}

/**
 * A streamed answer (chunked OHTTP): the head at once, the content as it arrives. Every piece is
 * authenticated before it is given; the stream ends only at the gateway's final chunk, and a cut,
 * reordered, dropped or altered chunk makes `body` throw (`OhttpTruncatedError`, `OhttpDecryptError`).
 */
export interface OhttpStreamResponse {
  status: number;
  headers: BhttpFields;
  /** The content, piece by piece. Stopping early (break) closes the connection: no receipt then. */
  body: AsyncIterable<Uint8Array>;
  /** The chunked request exactly as sent. */
  encapsulatedRequest: Uint8Array;
  /** keccak256(encapsulatedRequest): the receipt's requestHash (computed on first read). */
  readonly requestHash: Hex;
  /**
   * Resolves when `body` was read to its final chunk: keccak256 over every byte of the response
   * received (hashed as they came: the receipt's responseHash) and the trailers. Rejects if the
   * stream did not complete.
   */
  done: Promise<{ responseHash: Hex; bytes: number; trailers: BhttpFields }>;
  /** With the client's `receipts` option and status 200: the checked receipt, fetched after `done`. */
  receipt?: Promise<SignedCallReceipt>;
}

export interface OhttpClient {
  readonly keyConfig: KeyConfig;
  readonly keyConfigHash: Hex;
  /** Where the `receipts` option keeps signed receipts (undefined without it). */
  readonly receipts?: ReceiptKeeper;
  request(
    method: string,
    target: string,
    headers?: OhttpHeaders,
    body?: string | Uint8Array,
    options?: OhttpRequestOptions,
  ): Promise<OhttpClientResponse>;
  /**
   * Sends a chunked OHTTP request and reads the answer as it streams (e.g. `stream: true` chat
   * completions as server-sent events). Resolves once the answer's head arrived.
   */
  stream(
    method: string,
    target: string,
    headers?: OhttpHeaders,
    body?: string | Uint8Array,
    options?: OhttpRequestOptions,
  ): Promise<OhttpStreamResponse>;
}

const HASH_RE = /^0x[0-9a-fA-F]{64}$/;
/** All the client tells the relay besides the ciphertext. */
const RELAY_HEADERS = { "content-type": MEDIA_TYPE_OHTTP_REQUEST, accept: MEDIA_TYPE_OHTTP_RESPONSE };
const RELAY_CHUNKED_HEADERS = {
  "content-type": MEDIA_TYPE_OHTTP_CHUNKED_REQUEST,
  accept: MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE,
  incremental: "?1",
};

/**
 * Creates a client bound to one gateway key. Throws `OhttpKeyConfigMismatchError` when
 * `expectedKeyConfigHash` is given and differs, `OhttpKeyConfigError` / `OhttpUnsupportedSuiteError`
 * for a malformed or unusable config.
 */
export function createOhttpClient(options: OhttpClientOptions): OhttpClient {
  const configBytes = typeof options.keyConfig === "string" ? hexToBytes(options.keyConfig) : options.keyConfig.slice();
  const hash = keyConfigHash(configBytes);
  if (options.expectedKeyConfigHash !== undefined) {
    const expected = options.expectedKeyConfigHash;
    if (!isHex(expected) || !HASH_RE.test(expected)) {
      throw new OhttpError(`expectedKeyConfigHash must be a 32-byte 0x-prefixed hex string, got ${String(expected)}.`);
    }
    if (expected.toLowerCase() !== hash) throw new OhttpKeyConfigMismatchError(expected, hash);
  }
  const key: OhttpClientKey = importClientKey(configBytes);
  const post: Post = options.fetch
    ? createFetchPost(options.fetch)
    : (createNodePost() ?? createFetchPost(globalThis.fetch));
  let streamPost: StreamPost | undefined;
  const streamPostOf = () =>
    (streamPost ??= options.fetch
      ? createFetchStreamPost(options.fetch)
      : (createNodeStreamPost() ?? createFetchStreamPost(globalThis.fetch)));
  const now = options.now ?? Date.now;
  // The next chunked request's ephemeral key and key schedule, prepared while the current answer
  // streams (after its first piece was handed out): off the next request's time to first token.
  let spareSender: PreparedChunkedSender | undefined;
  let preparing = false;
  const prepareSpare = () => {
    if (spareSender || preparing) return;
    preparing = true;
    prepareChunkedSender(key).then(
      (s) => {
        spareSender = s;
        preparing = false;
      },
      () => {
        preparing = false;
      },
    );
  };
  const utf8 = new TextEncoder();
  const utf8Decoder = new TextDecoder();
  let receiptOptions: CallReceiptOptions | undefined;
  if (options.receipts) {
    const { via = "relay", daBaseUrl, ...rest } = options.receipts;
    if (via === "direct" && !daBaseUrl) throw new OhttpError('receipts: via "direct" needs daBaseUrl.');
    const keeper = rest.keeper ?? new MemoryReceiptKeeper();
    receiptOptions =
      via === "direct"
        ? { ...rest, daBaseUrl: daBaseUrl!, keeper }
        : {
            ...rest,
            daBaseUrl: new URL(daBaseUrl ?? "/da", "http://gateway.invalid").pathname,
            keeper,
            fetch: (url, init) => lookupViaRelay(String(url), init?.signal ?? undefined),
          };
  }
  /** A fetch for the receipt look-up that sends it encapsulated, through the relay. */
  async function lookupViaRelay(url: string, signal?: AbortSignal): Promise<Response> {
    const r = await send(
      "GET",
      new URL(url, "http://gateway.invalid").pathname,
      { accept: "application/json" },
      undefined,
      signal ? { signal } : undefined,
      false,
    );
    return new Response(r.body.length ? (r.body as Uint8Array<ArrayBuffer>) : null, {
      status: r.status,
      headers: r.headers as [string, string][],
    });
  }

  // A request of the gateway's DA routes (e.g. the user's own look-up) is not a served call: no receipt.
  const daPath =
    receiptOptions && `${new URL(receiptOptions.daBaseUrl, "http://gateway.invalid").pathname.replace(/\/+$/, "")}/`;
  function request(
    method: string,
    target: string,
    headers?: OhttpHeaders,
    body?: string | Uint8Array,
    requestOptions?: OhttpRequestOptions,
  ): Promise<OhttpClientResponse> {
    const isDa =
      daPath !== undefined && new URL(target, options.origin ?? "http://gateway.invalid").pathname.startsWith(daPath);
    return send(method, target, headers, body, requestOptions, !isDa);
  }

  async function send(
    method: string,
    target: string,
    headers: OhttpHeaders | undefined,
    body: string | Uint8Array | undefined,
    requestOptions: OhttpRequestOptions | undefined,
    wantReceipt: boolean,
  ): Promise<OhttpClientResponse> {
    let url: URL | undefined;
    if (!(target.startsWith("/") && !options.origin)) {
      try {
        url = new URL(target, options.origin);
      } catch {
        throw new OhttpError(
          `OHTTP request target ${JSON.stringify(target)} is neither an absolute URL nor a path starting with "/".`,
        );
      }
    }
    const given: BhttpField[] = Array.isArray(headers)
      ? (headers as BhttpFields).slice()
      : Object.entries(headers ?? {});
    const fields = given.filter(([n]) => n.toLowerCase() !== "date");
    const content = typeof body === "string" ? utf8.encode(body) : (body ?? new Uint8Array(0));
    const sendOnce = async (date: string) => {
      const bhttp = encodeRequest({
        method,
        scheme: url ? url.protocol.slice(0, -1) : "https",
        authority: url ? url.host : "",
        path: url ? url.pathname + url.search : target,
        headers: [...fields, ["date", date]],
        content,
      });
      const { encapsulatedRequest, context } = await encapsulateRequest(key, bhttp);
      const res = await post(options.relayUrl, RELAY_HEADERS, encapsulatedRequest, requestOptions?.signal);
      if (res.status !== 200 || res.contentType?.split(";")[0]?.trim().toLowerCase() !== MEDIA_TYPE_OHTTP_RESPONSE) {
        throw new OhttpRelayError(res.status, res.contentType);
      }
      return {
        encapsulatedRequest,
        encapsulatedResponse: res.body,
        response: decodeResponse(await decapsulateResponse(context, res.body)),
      };
    };

    // A caller's own date is kept (and never corrected); otherwise ours, from our clock.
    const callerDate = given.find(([n]) => n.toLowerCase() === "date")?.[1];
    let sent = await sendOnce(callerDate ?? new Date(now()).toUTCString());
    const serverDate = callerDate === undefined ? refusedDateOf(sent.response) : undefined;
    if (serverDate !== undefined) {
      // RFC 9458 §6.5.2: our clock is off from the gateway's. Retry once, freshly encrypted, dated
      // by the gateway's (authenticated: it came inside the encryption) date; never reused later.
      sent = await sendOnce(new Date(serverDate).toUTCString());
    }
    const { encapsulatedRequest, encapsulatedResponse, response } = sent;
    // Hashed on first read: only a user who looks up their receipt needs them, not every call.
    let requestHash: Hex | undefined;
    let responseHash: Hex | undefined;
    // Only an answered call has a receipt (the gateway records usage for answers, not refusals).
    let receipt: Promise<SignedCallReceipt> | undefined;
    if (receiptOptions && wantReceipt && response.status === 200) {
      receipt = awaitCallReceipt({ encapsulatedRequest, encapsulatedResponse }, receiptOptions);
      receipt.catch(() => {}); // not awaited is not unhandled; awaiting it still rejects
    }
    return {
      status: response.status,
      headers: response.headers,
      body: response.content,
      response,
      encapsulatedRequest,
      encapsulatedResponse,
      ...(receipt ? { receipt } : {}),
      get requestHash() {
        return (requestHash ??= keccak256Hex(encapsulatedRequest));
      },
      get responseHash() {
        return (responseHash ??= keccak256Hex(encapsulatedResponse));
      },
      text: () => utf8Decoder.decode(response.content),
      json: <T>() => JSON.parse(utf8Decoder.decode(response.content)) as T,
    };
  }

  async function stream(
    method: string,
    target: string,
    headers?: OhttpHeaders,
    body?: string | Uint8Array,
    requestOptions?: OhttpRequestOptions,
  ): Promise<OhttpStreamResponse> {
    const given: BhttpField[] = Array.isArray(headers)
      ? (headers as BhttpFields).slice()
      : Object.entries(headers ?? {});
    if (given.some(([n]) => n.toLowerCase() === "date")) return streamOnce(method, target, given, body, requestOptions);
    const first = await streamOnce(
      method,
      target,
      [...given, ["date", new Date(now()).toUTCString()]],
      body,
      requestOptions,
    );
    if (first.status !== 400) return first;
    // A refused date comes back as a small problem: read it, and retry once with the gateway's
    // date as `request` does (RFC 9458 §6.5.2); anything else is given back as it was.
    const parts: Uint8Array[] = [];
    for await (const p of first.body) parts.push(p);
    let n = 0;
    for (const p of parts) n += p.length;
    const content = new Uint8Array(n);
    n = 0;
    for (const p of parts) {
      content.set(p, n);
      n += p.length;
    }
    const serverDate = refusedDateOf({
      informational: [],
      status: first.status,
      headers: first.headers,
      content,
      trailers: [],
    });
    if (serverDate !== undefined)
      return streamOnce(method, target, [...given, ["date", new Date(serverDate).toUTCString()]], body, requestOptions);
    return {
      ...first,
      body: (async function* () {
        if (content.length) yield content;
      })(),
    };
  }

  async function streamOnce(
    method: string,
    target: string,
    given: BhttpField[],
    body: string | Uint8Array | undefined,
    requestOptions: OhttpRequestOptions | undefined,
  ): Promise<OhttpStreamResponse> {
    let url: URL | undefined;
    if (!(target.startsWith("/") && !options.origin)) url = new URL(target, options.origin);
    const bhttp = encodeRequest({
      method,
      scheme: url ? url.protocol.slice(0, -1) : "https",
      authority: url ? url.host : "",
      path: url ? url.pathname + url.search : target,
      headers: given,
      content: typeof body === "string" ? utf8.encode(body) : (body ?? new Uint8Array(0)),
    });
    const sender = spareSender;
    spareSender = undefined;
    const { encapsulatedRequest, sealer } = await encapsulateChunkedRequest(
      key,
      bhttp,
      sender ? { sender } : undefined,
    );
    const res = await streamPostOf()(
      options.relayUrl,
      RELAY_CHUNKED_HEADERS,
      encapsulatedRequest,
      requestOptions?.signal,
    );
    if (
      res.status !== 200 ||
      res.contentType?.split(";")[0]?.trim().toLowerCase() !== MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE
    ) {
      res.cancel();
      throw new OhttpRelayError(res.status, res.contentType);
    }
    const opener = sealer.responseOpener();
    const decoder = new BhttpResponseStreamDecoder();
    const hasher = keccak_256.create();
    const it = res.body[Symbol.asyncIterator]();
    const queue: BhttpStreamEvent[] = [];
    let ended = false;
    /** Reads one piece from the network into `queue`; false once the message is over. */
    const more = async (): Promise<boolean> => {
      if (ended) return false;
      const n = await it.next();
      if (n.done) {
        ended = true;
        queue.push(...decoder.push(await opener.end()), ...decoder.end());
        return true;
      }
      hasher.update(n.value);
      for (const pt of await opener.push(n.value)) queue.push(...decoder.push(pt));
      return true;
    };
    let head: Extract<BhttpStreamEvent, { type: "head" }> | undefined;
    try {
      while (!head) {
        const e = queue.shift();
        if (e?.type === "head") head = e;
        else if (!e && !(await more())) throw new OhttpError("OHTTP stream ended without a response head.");
      }
    } catch (e) {
      res.cancel();
      throw e;
    }
    let settle!: { resolve: (v: Awaited<OhttpStreamResponse["done"]>) => void; reject: (e: unknown) => void };
    const done = new Promise<Awaited<OhttpStreamResponse["done"]>>((resolve, reject) => {
      settle = { resolve, reject };
    });
    done.catch(() => {});
    let trailers: BhttpFields = [];
    async function* content(): AsyncGenerator<Uint8Array> {
      let finished = false;
      try {
        for (;;) {
          for (let e = queue.shift(); e; e = queue.shift()) {
            if (e.type === "content") {
              yield e.data;
              prepareSpare();
            } else if (e.type === "trailers") trailers = e.trailers;
          }
          if (!(await more()) && queue.length === 0) break;
        }
        finished = true;
        settle.resolve({ responseHash: `0x${bytesToHex(hasher.digest())}`, bytes: opener.bytesIn, trailers });
      } catch (e) {
        settle.reject(e);
        throw e;
      } finally {
        if (!finished) {
          res.cancel();
          settle.reject(new OhttpError("OHTTP stream abandoned before its final chunk."));
        }
      }
    }
    // Hashed on first read, not before the first token is handed out.
    let requestHash: Hex | undefined;
    const requestHashOf = () => (requestHash ??= keccak256Hex(encapsulatedRequest));
    let receipt: Promise<SignedCallReceipt> | undefined;
    if (receiptOptions && head.status === 200) {
      const ro = receiptOptions;
      receipt = done.then((d) => awaitCallReceipt({ requestHash: requestHashOf(), responseHash: d.responseHash }, ro));
      receipt.catch(() => {});
    }
    return {
      status: head.status,
      headers: head.headers,
      body: content(),
      encapsulatedRequest,
      get requestHash() {
        return requestHashOf();
      },
      done,
      ...(receipt ? { receipt } : {}),
    };
  }

  return {
    keyConfig: key.config,
    keyConfigHash: hash,
    request,
    stream,
    ...(receiptOptions ? { receipts: receiptOptions.keeper } : {}),
  };
}

/** The gateway's date when `res` is its refusal of our request's date (problem type `#date`). */
function refusedDateOf(res: BhttpResponse): number | undefined {
  if (res.status !== 400 || getField(res.headers, "content-type")?.split(";")[0]?.trim() !== "application/problem+json")
    return undefined;
  try {
    if ((JSON.parse(new TextDecoder().decode(res.content)) as { type?: unknown }).type !== PROBLEM_DATE)
      return undefined;
  } catch {
    return undefined;
  }
  const t = Date.parse(getField(res.headers, "date") ?? "");
  return Number.isFinite(t) ? t : undefined;
}
