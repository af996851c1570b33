/**
 * The enclave side of the privacy boundary (RFC 9458 gateway + target in one process):
 *
 *   GET  /ohttp-keys   the key config list (`application/ohttp-keys`); its keccak256 is what the
 *                      enclave's registry entry binds (`enclave(key).keyConfigHash`)
 *   POST /ohttp        `message/ohttp-req` → decapsulate, replay check, Binary HTTP decode, the
 *                      backend handler (./backend.ts), encode, encapsulate → `message/ohttp-res`;
 *                      `message/ohttp-chunked-req` (draft-ietf-ohai-chunked-ohttp-08) is answered
 *                      with `message/ohttp-chunked-res`, sealed chunk by chunk as the handler
 *                      produces them (an indeterminate-length Binary HTTP response). The receipt is
 *                      recorded once the whole answer is on the wire, with requestHash/responseHash
 *                      over the two ciphertexts the user holds (a stream's hashed as it is sent; a
 *                      stream cut off before its final chunk gets no receipt)
 *   GET  /da/receipts/by-request/:requestHash   the receipt (and proof, once batched) of a call;
 *                      also answered inside OHTTP (an encapsulated GET of that path via the relay),
 *                      so the user's client can fetch its receipt without showing the gateway who asks
 *
 * Errors before the request is open (size, media type, key id, ciphertext, replay) are problem
 * responses (4xx; 503 when the replay cache cannot record); after it is open, the answer — including
 * errors and the refusal of a missing or out-of-window `date` — travels encrypted (outer 200).
 */
import { Hono, type Context } from "hono";
import type { Logger } from "pino";
import type { ServerResponse } from "node:http";
import { keccak256Hex } from "../../sdk/hashing.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  MEDIA_TYPE_OHTTP_CHUNKED_REQUEST,
  MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE,
  MEDIA_TYPE_OHTTP_KEYS,
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
  OhttpReplayError,
  OhttpReplayGuard,
  decapsulateChunkedRequest,
  decapsulateRequest,
  decodeRequest,
  encodeContentChunk,
  encodeResponseEnd,
  encodeResponseHead,
  encapsulateResponse,
  encodeResponse,
  getField,
  importServerKeys,
  type BhttpRequest,
  type ChunkedRequestOpener,
  type OhttpKeyPair,
  type OhttpResponderContext,
  type OhttpReplayGuardOptions,
  type OhttpServerKeys,
} from "../../sdk/ohttp/index.js";
import type { SettlementHook } from "../hook.js";
import { receiptAnswer, receiptResponse } from "../serve/http.js";
import { PublicLimiter, type PublicLimits } from "../serve/rateLimit.js";
import type { CallUsage, OhttpBackend, OhttpInnerResponse } from "./backend.js";
import { MEDIA_TYPE_PROBLEM, dateProblem, problem, problemOf, type Problem } from "./problem.js";
import { ReplayStore, type ReplayStoreOptions } from "./replayStore.js";
import { ReceiptIndex } from "./receiptIndex.js";
import { DEFAULT_MAX_BODY_BYTES, readBodyLimited, requestHeader } from "./body.js";
import { RESPONSE_ALREADY_SENT, writeNode } from "./nodeResponse.js";

export interface OhttpGatewayOptions {
  /** The enclave's OHTTP key pair(s); the private keys never leave this process. */
  keys: OhttpKeyPair | readonly OhttpKeyPair[];
  /** What answers the decrypted requests (e.g. the demo's `chatBackend(model)`). */
  backend: OhttpBackend;
  /** Records receipts (and serves the by-request lookup); without it the gateway only answers. */
  hook?: SettlementHook;
  logger: Logger;
  /** Largest encapsulated request accepted, in bytes (413 above). Default 1 MiB. */
  maxBodyBytes?: number;
  /** A shared guard, or options for a new one (default: 60 s window, 100k entries). */
  replay?: OhttpReplayGuard | OhttpReplayGuardOptions;
  /**
   * Where the replay cache is kept across restarts (node:sqlite). Without it the cache is in memory
   * only and a restart forgets it: set it whenever the gateway answers real traffic.
   */
  replayStore?: ReplayStoreOptions;
  /** requestHash → callSeq entries kept for the lookup. Default 200k. */
  indexEntries?: number;
  /** Bounds for the public GET routes (/ohttp-keys, /da/receipts/by-request/:h); see PublicLimiter. */
  limits?: PublicLimits | PublicLimiter;
}

export interface OhttpGateway {
  app: Hono<{ Bindings: { outgoing?: ServerResponse } }>;
  /** The `application/ohttp-keys` body served at /ohttp-keys. */
  keyConfigList: Uint8Array;
  guard: OhttpReplayGuard;
  index: ReceiptIndex;
  /** Commits the replay cache's last writes and closes it (after the server stopped). */
  close(): void;
}

const BY_REQUEST = "/da/receipts/by-request/";
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const utf8 = new TextEncoder();

type Inner = OhttpInnerResponse;

function innerError(status: number, type: string, message: string): Inner {
  return {
    status,
    headers: { "content-type": "application/json" },
    body: utf8.encode(JSON.stringify({ error: { type, message } })),
  };
}

/** A body the handler streamed, joined (for the single-shot format, which seals it whole). */
async function wholeBody(body: Inner["body"]): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

function problemResponse(c: Context, p: Problem): Response {
  return c.body(JSON.stringify(p), p.status, { "content-type": MEDIA_TYPE_PROBLEM, "cache-control": "no-store" });
}

/** A refused date, answered inside the encryption with the gateway's own date (RFC 9458 §6.5.2). */
function dateRefusal(detail: string, nowMs: number): Uint8Array {
  return encodeResponse({
    status: 400,
    headers: [
      ["content-type", MEDIA_TYPE_PROBLEM],
      ["date", new Date(nowMs).toUTCString()],
      ["cache-control", "no-store"],
    ],
    content: utf8.encode(JSON.stringify(dateProblem(detail))),
  });
}

/** Builds the OHTTP routes of a TEE gateway (mount with `app.route("/", gw.app)`). */
export async function createOhttpGateway(o: OhttpGatewayOptions): Promise<OhttpGateway> {
  const serverKeys: OhttpServerKeys = await importServerKeys(o.keys);
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBody) || maxBody < 1) throw new RangeError("maxBodyBytes must be a positive integer");
  const guard = o.replay instanceof OhttpReplayGuard ? o.replay : new OhttpReplayGuard(o.replay);
  const replayStore =
    o.replayStore &&
    new ReplayStore(o.replayStore, () => ({ cutoff: guard.now() - guard.windowMs, floor: guard.floor }));
  if (replayStore) {
    const { entries, floor } = replayStore.load(guard.now() - guard.windowMs);
    guard.restore(entries, floor);
  }
  const index = new ReceiptIndex(o.indexEntries);
  const log = o.logger;
  const app = new Hono<{ Bindings: { outgoing?: ServerResponse } }>();
  const limiter = o.limits instanceof PublicLimiter ? o.limits : new PublicLimiter(o.limits);
  app.use("/ohttp-keys", limiter.middleware());
  app.use("/da/receipts/by-request/*", limiter.middleware());

  app.get("/ohttp-keys", (c) =>
    c.body(serverKeys.keyConfigList as Uint8Array<ArrayBuffer>, 200, {
      "content-type": MEDIA_TYPE_OHTTP_KEYS,
      "cache-control": "max-age=60",
    }),
  );

  /** The decrypted request → the inner answer: the receipt look-up, else the backend handler. */
  async function answer(req: BhttpRequest | undefined, signal: AbortSignal): Promise<Inner> {
    if (!req) return innerError(400, "invalid_request_error", "the decrypted request is not a valid message/bhttp");
    const path = req.path.split("?")[0]!;
    // The receipt look-up inside OHTTP: through the relay, the gateway learns which call's receipt
    // is asked for but not who asks (a direct GET would tie the user's address to the request hash).
    if (path.startsWith(BY_REQUEST)) {
      if (req.method !== "GET")
        return innerError(405, "invalid_request_error", `${req.method} ${BY_REQUEST}:requestHash: use GET`);
      return lookupInner(path.slice(BY_REQUEST.length));
    }
    try {
      return await o.backend.handle({
        method: req.method,
        path: req.path,
        headers: req.headers,
        content: req.content,
        signal,
      });
    } catch (e) {
      log.error({ err: (e as Error).message }, "backend failed");
      return innerError(502, "backend_error", "the backend failed");
    }
  }

  /** Records a served call (off the fast path), with the hashes the user can recompute. */
  function record(requestHash: `0x${string}`, responseHash: `0x${string}`, usage: CallUsage) {
    const hook = o.hook;
    if (!hook) return;
    try {
      const r = hook.record({ ...usage, requestHash, responseHash });
      index.set(requestHash, r.callSeq);
    } catch (e) {
      log.error({ err: (e as Error).message }, "recording the receipt failed");
    }
  }

  async function lookupInner(h: string): Promise<Inner> {
    if (!HEX32.test(h))
      return innerError(
        400,
        "bad_request",
        `requestHash: expected 0x + 64 hex digits, got ${JSON.stringify(h.slice(0, 80))}`,
      );
    const seq = index.get(h);
    const a = o.hook && seq !== undefined ? await receiptAnswer(o.hook, seq) : undefined;
    if (!a)
      return innerError(
        404,
        "not_found",
        `no recent receipt for requestHash ${h}; older receipts are listed in /da/batches/:batchSeq`,
      );
    return {
      status: a.status,
      body: utf8.encode(JSON.stringify(a.body)),
      headers: { "content-type": "application/json", ...a.headers },
    };
  }

  app.post("/ohttp", async (c) => {
    const t0 = performance.now();
    const type = requestHeader(c, "content-type")?.split(";")[0]?.trim().toLowerCase();
    const chunked = type === MEDIA_TYPE_OHTTP_CHUNKED_REQUEST;
    if (type !== MEDIA_TYPE_OHTTP_REQUEST && !chunked) {
      return problemResponse(
        c,
        problem(
          415,
          "media-type",
          "unsupported media type",
          `expected content-type ${MEDIA_TYPE_OHTTP_REQUEST} or ${MEDIA_TYPE_OHTTP_CHUNKED_REQUEST}, got ${JSON.stringify(type ?? null)}`,
        ),
      );
    }
    const encapsulatedRequest = await readBodyLimited(c, maxBody);
    if (!encapsulatedRequest)
      return problemResponse(
        c,
        problem(413, "too-large", "OHTTP request too large", `the encapsulated request exceeds ${maxBody} bytes`),
      );

    // The whole request is read before it is answered (the draft's rule for a receiver that acts
    // on a complete message: only the final chunk proves it is complete).
    let opened: { request: Uint8Array; enc: Uint8Array } & (
      | { context: OhttpResponderContext; opener?: undefined }
      | { opener: ChunkedRequestOpener; context?: undefined }
    );
    try {
      if (chunked) {
        const r = await decapsulateChunkedRequest(serverKeys, encapsulatedRequest);
        opened = { request: r.request, enc: r.opener.enc!, opener: r.opener };
      } else {
        const r = await decapsulateRequest(serverKeys, encapsulatedRequest);
        opened = { request: r.request, enc: r.context.enc, context: r.context };
      }
    } catch (e) {
      const p = problemOf(e);
      if (!p) throw e;
      log.debug({ bytes: encapsulatedRequest.length, problem: p.type }, "ohttp request refused");
      return problemResponse(c, p);
    }
    let req: BhttpRequest | undefined;
    try {
      req = decodeRequest(opened.request);
    } catch {
      req = undefined; // answered inside the encryption: the relay must not learn that the content was bad
    }
    // Replay check after successful decryption only (forged messages can't poison the cache), with
    // the client's encrypted Date so that requests older than the window are refused outright. A
    // request without one is refused: the cache forgets after the window, and only the date then
    // tells a replay apart. Date refusals go back encrypted, with our date for the client's retry.
    let durable: Promise<Error | undefined> | undefined;
    let refusal: Uint8Array | undefined;
    if (req) {
      const date = getField(req.headers, "date");
      const sentAt = date === undefined ? NaN : Date.parse(date);
      try {
        if (!Number.isFinite(sentAt)) {
          refusal = dateRefusal(
            `The request has ${date === undefined ? "no" : "an unreadable"} date field; send the current time in it.`,
            guard.now(),
          );
        } else {
          guard.check(opened.enc, sentAt);
          // Write-ahead: the answer below waits for this, the model does not.
          durable = replayStore?.add(opened.enc, sentAt).then(
            () => undefined,
            (e: Error) => e,
          );
        }
      } catch (e) {
        if (e instanceof OhttpReplayError && (e.reason === "stale" || e.reason === "future")) {
          refusal = dateRefusal(e.shortMessage, guard.now());
        } else {
          const p = problemOf(e);
          if (!p) throw e;
          log.debug({ bytes: encapsulatedRequest.length, problem: p.type }, "ohttp request refused");
          return problemResponse(c, p);
        }
      }
    }

    const abort = new AbortController();
    const inner = refusal ? undefined : await answer(req, abort.signal);
    const failed = await durable;
    if (failed) {
      abort.abort();
      log.error({ err: failed.message }, "replay store failed: refusing requests");
      return problemResponse(
        c,
        problem(
          503,
          "replay-store",
          "OHTTP replay cache unavailable",
          "The gateway cannot record requests against replay; it answers none until it can.",
        ),
      );
    }
    const out = c.env?.outgoing;
    /** Runs `f` once the answer was handed to the client's connection in full (never for a cut one). */
    const onSent = (f: () => void) => (out ? out.once("finish", f) : setImmediate(f));

    if (opened.opener) return streamAnswer(c, opened.opener, encapsulatedRequest, inner, refusal, abort, onSent, t0);

    const bhttpResponse = inner
      ? encodeResponse({
          status: inner.status,
          headers: Object.entries(inner.headers ?? {}),
          content: await wholeBody(inner.body),
        })
      : refusal!;
    const encapsulatedResponse = await encapsulateResponse(opened.context, bhttpResponse);
    if (o.hook && inner?.usage) {
      const usageOf = inner.usage;
      // Off the fast path: once the ciphertext is on the wire, record it with the hashes the user can recompute.
      onSent(() => {
        const usage = usageOf();
        if (usage) record(keccak256Hex(encapsulatedRequest), keccak256Hex(encapsulatedResponse), usage);
      });
    }
    log.debug(
      {
        bytesIn: encapsulatedRequest.length,
        bytesOut: encapsulatedResponse.length,
        innerStatus: inner?.status ?? 400,
        ms: +(performance.now() - t0).toFixed(3),
      },
      "ohttp call",
    );
    return c.body(encapsulatedResponse as Uint8Array<ArrayBuffer>, 200, {
      "content-type": MEDIA_TYPE_OHTTP_RESPONSE,
      "cache-control": "no-store",
    });
  });

  /**
   * A chunked answer: the response nonce and the sealed head at once, then one sealed chunk per
   * piece the handler yields, pulled only when the connection can take it (back-pressure reaches
   * the handler), then the final chunk. The response hash is computed over exactly these bytes as
   * they go; the receipt is recorded only if the final chunk went out and the response finished
   * (rule: a stream cut off midway, by the client, the relay or a failing handler, gets no receipt).
   * Under @hono/node-server the pieces are written straight to the Node response (each piece one
   * write, waiting for `drain` when the socket is full): a WHATWG stream in between cost every
   * piece a pull, a read and several promise hops on the time-to-first-token path.
   */
  function streamAnswer(
    c: Context,
    opener: ChunkedRequestOpener,
    encapsulatedRequest: Uint8Array,
    inner: Inner | undefined,
    refusal: Uint8Array | undefined,
    abort: AbortController,
    onSent: (f: () => void) => void,
    t0: number,
  ): Response {
    const sealer = opener.responseSealer();
    const hash = keccak_256.create();
    let bytesOut = 0;
    let complete = false;
    const emit = (b: Uint8Array) => {
      hash.update(b);
      bytesOut += b.length;
      return b;
    };
    const body = inner?.body;
    const iter = body && !(body instanceof Uint8Array) ? body[Symbol.asyncIterator]() : undefined;
    if (o.hook && inner?.usage) {
      const usageOf = inner.usage;
      onSent(() => {
        const usage = complete ? usageOf() : undefined;
        if (usage) record(keccak256Hex(encapsulatedRequest), `0x${bytesToHex(hash.digest())}`, usage);
      });
    }
    /** The framed pieces in order; `complete` once the final chunk was produced. */
    async function* pieces(): AsyncGenerator<Uint8Array> {
      const first = refusal
        ? await sealer.seal(refusal, true)
        : await sealer.seal(
            encodeResponseHead({ status: inner!.status, headers: Object.entries(inner!.headers ?? {}) }),
          );
      const head = new Uint8Array(sealer.header.length + first.length);
      head.set(sealer.header, 0);
      head.set(first, sealer.header.length);
      if (refusal) {
        complete = true;
        yield emit(head);
        return;
      }
      yield emit(head);
      if (body instanceof Uint8Array) {
        if (body.length) yield emit(await sealer.seal(encodeContentChunk(body)));
      } else {
        for (let next = await iter!.next(); !next.done; next = await iter!.next())
          if (next.value.length) yield emit(await sealer.seal(encodeContentChunk(next.value)));
      }
      const last = emit(await sealer.seal(encodeResponseEnd(), true));
      complete = true;
      yield last;
      log.debug(
        {
          bytesIn: encapsulatedRequest.length,
          bytesOut,
          innerStatus: inner?.status,
          ms: +(performance.now() - t0).toFixed(3),
        },
        "ohttp stream",
      );
    }
    const failed = (e: unknown) => {
      log.error({ err: (e as Error).message, bytesOut }, "ohttp stream failed: cut off without its final chunk");
      abort.abort();
    };
    const cancelled = () => {
      // The client (or the relay) went away: stop the handler; no final chunk, so no receipt.
      abort.abort();
      void iter?.return?.()?.catch(() => {});
      log.debug({ bytesOut }, "ohttp stream cancelled by the client");
    };
    const headers = {
      "content-type": MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE,
      "cache-control": "no-store",
      incremental: "?1",
    };
    const out = c.env?.outgoing as ServerResponse | undefined;
    if (out) {
      void writeNode(out, headers, pieces(), failed, cancelled);
      return RESPONSE_ALREADY_SENT;
    }
    const gen = pieces();
    const stream = new ReadableStream<Uint8Array>(
      {
        async pull(ctrl) {
          try {
            const n = await gen.next();
            if (n.done) ctrl.close();
            else ctrl.enqueue(n.value);
          } catch (e) {
            failed(e);
            ctrl.error(e);
          }
        },
        cancel: cancelled,
      },
      { highWaterMark: 0 },
    );
    return c.body(stream, 200, headers);
  }

  app.get("/da/receipts/by-request/:requestHash", async (c) => {
    const hook = o.hook;
    const h = c.req.param("requestHash");
    if (!HEX32.test(h))
      return c.json(
        {
          error: "bad_request",
          message: `requestHash: expected 0x + 64 hex digits, got ${JSON.stringify(h.slice(0, 80))}`,
        },
        400,
      );
    const seq = index.get(h);
    // Same answer as /da/receipts/:callSeq: a 409 until the receipt is durable, never a signature before.
    const res = hook && seq !== undefined ? await receiptResponse(c, hook, seq) : undefined;
    return (
      res ??
      c.json(
        {
          error: "not_found",
          message: `no recent receipt for requestHash ${h}; older receipts are listed in /da/batches/:batchSeq`,
        },
        404,
      )
    );
  });

  return { app, keyConfigList: serverKeys.keyConfigList, guard, index, close: () => replayStore?.close() };
}
