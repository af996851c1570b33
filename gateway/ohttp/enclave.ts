/**
 * The enclave side of the privacy boundary (RFC 9458 gateway + target in one process):
 *
 *   GET  /ohttp-keys   the key config list (`application/ohttp-keys`); its keccak256 is what the
 *                      enclave's registry entry binds (`enclave(key).keyConfigHash`)
 *   POST /ohttp        `message/ohttp-req` → decapsulate, replay check, Binary HTTP decode, the
 *                      same fast path as the plain endpoint (`answerChat`), encode, encapsulate →
 *                      `message/ohttp-res`; the receipt is recorded once the answer is on the wire,
 *                      with requestHash/responseHash over the two ciphertexts the user holds
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
import {
  MEDIA_TYPE_OHTTP_KEYS,
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
  OhttpReplayError,
  OhttpReplayGuard,
  decapsulateRequest,
  decodeRequest,
  encapsulateResponse,
  encodeResponse,
  getField,
  importServerKeys,
  type BhttpRequest,
  type OhttpKeyPair,
  type OhttpReplayGuardOptions,
  type OhttpServerKeys,
} from "../../sdk/ohttp/index.js";
import type { SettlementHook } from "../hook.js";
import { receiptAnswer, receiptResponse } from "../serve/http.js";
import { PublicLimiter, type PublicLimits } from "../serve/rateLimit.js";
import type { ModelBackend } from "../demo/backend.js";
import { BadChatRequest, answerChat, type ChatUsage } from "../demo/fastPath.js";
import { MEDIA_TYPE_PROBLEM, dateProblem, problem, problemOf, type Problem } from "./problem.js";
import { ReplayStore, type ReplayStoreOptions } from "./replayStore.js";
import { ReceiptIndex } from "./receiptIndex.js";
import { DEFAULT_MAX_BODY_BYTES, readBodyLimited, requestHeader } from "./body.js";

export interface OhttpGatewayOptions {
  /** The enclave's OHTTP key pair(s); the private keys never leave this process. */
  keys: OhttpKeyPair | readonly OhttpKeyPair[];
  backend: ModelBackend;
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

const CHAT_PATH = "/v1/chat/completions";
const BY_REQUEST = "/da/receipts/by-request/";
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const utf8 = new TextEncoder();

interface Inner {
  status: number;
  body: Uint8Array;
  usage?: ChatUsage;
  headers?: Record<string, string>;
}

function innerError(status: number, type: string, message: string): Inner {
  return { status, body: utf8.encode(JSON.stringify({ error: { type, message } })) };
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

/** Builds the OHTTP routes for the demo TEE gateway (mount with `app.route("/", gw.app)`). */
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

  /** The decrypted request → the inner answer: only the chat endpoint exists behind the boundary. */
  async function answer(req: BhttpRequest | undefined): Promise<Inner> {
    if (!req) return innerError(400, "invalid_request_error", "the decrypted request is not a valid message/bhttp");
    const path = req.path.split("?")[0]!;
    // The receipt look-up inside OHTTP: through the relay, the gateway learns which call's receipt
    // is asked for but not who asks (a direct GET would tie the user's address to the request hash).
    if (path.startsWith(BY_REQUEST)) {
      if (req.method !== "GET")
        return innerError(405, "invalid_request_error", `${req.method} ${BY_REQUEST}:requestHash: use GET`);
      return lookupInner(path.slice(BY_REQUEST.length));
    }
    if (path !== CHAT_PATH) return innerError(404, "not_found", `no route ${req.method} ${req.path}`);
    if (req.method !== "POST") return innerError(405, "invalid_request_error", `${req.method} ${CHAT_PATH}: use POST`);
    try {
      const { responseBytes, usage } = await answerChat(req.content, o.backend);
      return { status: 200, body: responseBytes, usage };
    } catch (e) {
      if (e instanceof BadChatRequest) return innerError(400, "invalid_request_error", e.shortMessage);
      log.error({ err: (e as Error).message }, "backend failed");
      return innerError(502, "backend_error", "the model backend failed");
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
    return { status: a.status, body: utf8.encode(JSON.stringify(a.body)), headers: a.headers };
  }

  app.post("/ohttp", async (c) => {
    const t0 = performance.now();
    const type = requestHeader(c, "content-type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== MEDIA_TYPE_OHTTP_REQUEST) {
      return problemResponse(
        c,
        problem(
          415,
          "media-type",
          "unsupported media type",
          `expected content-type ${MEDIA_TYPE_OHTTP_REQUEST}, got ${JSON.stringify(type ?? null)}`,
        ),
      );
    }
    const encapsulatedRequest = await readBodyLimited(c, maxBody);
    if (!encapsulatedRequest)
      return problemResponse(
        c,
        problem(413, "too-large", "OHTTP request too large", `the encapsulated request exceeds ${maxBody} bytes`),
      );

    let opened;
    try {
      opened = await decapsulateRequest(serverKeys, encapsulatedRequest);
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
          guard.check(opened.context.enc, sentAt);
          // Write-ahead: the answer below waits for this, the model does not.
          durable = replayStore?.add(opened.context.enc, sentAt).then(
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

    const inner = refusal ? undefined : await answer(req);
    const failed = await durable;
    if (failed) {
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
    const bhttpResponse = inner
      ? encodeResponse({
          status: inner.status,
          headers: [["content-type", "application/json"], ...Object.entries(inner.headers ?? {})],
          content: inner.body,
        })
      : refusal!;
    const encapsulatedResponse = await encapsulateResponse(opened.context, bhttpResponse);

    const hook = o.hook;
    const usage = inner?.usage;
    if (hook && usage) {
      // Off the fast path: once the ciphertext is on the wire, record it with the hashes the user can recompute.
      const record = () => {
        try {
          const requestHash = keccak256Hex(encapsulatedRequest);
          const r = hook.record({ ...usage, requestHash, responseHash: keccak256Hex(encapsulatedResponse) });
          index.set(requestHash, r.callSeq);
        } catch (e) {
          log.error({ err: (e as Error).message }, "recording the receipt failed");
        }
      };
      const out = c.env?.outgoing;
      if (out) out.once("finish", record);
      else setImmediate(record);
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
