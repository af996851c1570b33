/**
 * The enclave side of the privacy boundary (RFC 9458 gateway + target in one process):
 *
 *   GET  /ohttp-keys   the key config list (`application/ohttp-keys`); its keccak256 is what the
 *                      enclave's registry entry binds (`enclave(key).keyConfigHash`)
 *   POST /ohttp        `message/ohttp-req` → decapsulate, replay check, Binary HTTP decode, the
 *                      same fast path as the plain endpoint (`answerChat`), encode, encapsulate →
 *                      `message/ohttp-res`; the receipt is recorded once the answer is on the wire,
 *                      with requestHash/responseHash over the two ciphertexts the user holds
 *   GET  /da/receipts/by-request/:requestHash   the receipt (and proof, once batched) of a call
 *
 * Errors before the request is open (size, media type, key id, ciphertext, replay) are problem
 * responses (4xx); after it is open, the answer — including errors — travels encrypted (outer 200).
 */
import { Hono, type Context } from "hono";
import type { Logger } from "pino";
import type { ServerResponse } from "node:http";
import type { Hex } from "viem";
import { keccak256Hex } from "../../sdk/hashing.js";
import {
  MEDIA_TYPE_OHTTP_KEYS, MEDIA_TYPE_OHTTP_REQUEST, MEDIA_TYPE_OHTTP_RESPONSE, OhttpReplayGuard,
  decapsulateRequest, decodeRequest, encapsulateResponse, encodeResponse, getField, importServerKeys,
  type BhttpRequest, type OhttpKeyPair, type OhttpReplayGuardOptions, type OhttpServerKeys,
} from "../../sdk/ohttp/index.js";
import type { SettlementHook } from "../hook.js";
import { jsonSafe } from "../json.js";
import type { ModelBackend } from "../demo/backend.js";
import { BadChatRequest, answerChat, type ChatUsage } from "../demo/fastPath.js";
import { MEDIA_TYPE_PROBLEM, problem, problemOf, type Problem } from "./problem.js";
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
  /** requestHash → callSeq entries kept for the lookup. Default 200k. */
  indexEntries?: number;
}

export interface OhttpGateway {
  app: Hono<{ Bindings: { outgoing?: ServerResponse } }>;
  /** The `application/ohttp-keys` body served at /ohttp-keys. */
  keyConfigList: Uint8Array;
  guard: OhttpReplayGuard;
  index: ReceiptIndex;
}

const CHAT_PATH = "/v1/chat/completions";
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const utf8 = new TextEncoder();

interface Inner {
  status: number;
  body: Uint8Array;
  usage?: ChatUsage;
}

function innerError(status: number, type: string, message: string): Inner {
  return { status, body: utf8.encode(JSON.stringify({ error: { type, message } })) };
}

function problemResponse(c: Context, p: Problem): Response {
  return c.body(JSON.stringify(p), p.status, { "content-type": MEDIA_TYPE_PROBLEM, "cache-control": "no-store" });
}

/** Builds the OHTTP routes for the demo TEE gateway (mount with `app.route("/", gw.app)`). */
export async function createOhttpGateway(o: OhttpGatewayOptions): Promise<OhttpGateway> {
  const serverKeys: OhttpServerKeys = await importServerKeys(o.keys);
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBody) || maxBody < 1) throw new RangeError("maxBodyBytes must be a positive integer");
  const guard = o.replay instanceof OhttpReplayGuard ? o.replay : new OhttpReplayGuard(o.replay);
  const index = new ReceiptIndex(o.indexEntries);
  const log = o.logger;
  const app = new Hono<{ Bindings: { outgoing?: ServerResponse } }>();

  app.get("/ohttp-keys", (c) =>
    c.body(serverKeys.keyConfigList as Uint8Array<ArrayBuffer>, 200, { "content-type": MEDIA_TYPE_OHTTP_KEYS, "cache-control": "max-age=60" }),
  );

  /** The decrypted request → the inner answer: only the chat endpoint exists behind the boundary. */
  async function answer(req: BhttpRequest | undefined): Promise<Inner> {
    if (!req) return innerError(400, "invalid_request_error", "the decrypted request is not a valid message/bhttp");
    const path = req.path.split("?")[0];
    if (path !== CHAT_PATH) return innerError(404, "not_found", `no route ${req.method} ${req.path}`);
    if (req.method !== "POST") return innerError(405, "invalid_request_error", `${req.method} ${CHAT_PATH}: use POST`);
    try {
      const { responseBytes, usage } = await answerChat(req.content, o.backend);
      return { status: 200, body: responseBytes, usage };
    } catch (e) {
      if (e instanceof BadChatRequest) return innerError(400, "invalid_request_error", e.message);
      log.error({ err: (e as Error).message }, "backend failed");
      return innerError(502, "backend_error", "the model backend failed");
    }
  }

  app.post("/ohttp", async (c) => {
    const t0 = performance.now();
    const type = requestHeader(c, "content-type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== MEDIA_TYPE_OHTTP_REQUEST) {
      return problemResponse(c, problem(415, "media-type", "unsupported media type", `expected content-type ${MEDIA_TYPE_OHTTP_REQUEST}, got ${JSON.stringify(type ?? null)}`));
    }
    const encapsulatedRequest = await readBodyLimited(c, maxBody);
    if (!encapsulatedRequest) return problemResponse(c, problem(413, "too-large", "OHTTP request too large", `the encapsulated request exceeds ${maxBody} bytes`));

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
    // the client's encrypted Date so that requests older than the window are refused outright.
    const date = req ? getField(req.headers, "date") : undefined;
    const sentAt = date === undefined ? NaN : Date.parse(date);
    try {
      guard.check(opened.context.enc, Number.isFinite(sentAt) ? sentAt : undefined);
    } catch (e) {
      const p = problemOf(e);
      if (!p) throw e;
      log.debug({ bytes: encapsulatedRequest.length, problem: p.type }, "ohttp request refused");
      return problemResponse(c, p);
    }

    const inner = await answer(req);
    const bhttpResponse = encodeResponse({ status: inner.status, headers: [["content-type", "application/json"]], content: inner.body });
    const encapsulatedResponse = await encapsulateResponse(opened.context, bhttpResponse);

    const hook = o.hook;
    const usage = inner.usage;
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
    log.debug({ bytesIn: encapsulatedRequest.length, bytesOut: encapsulatedResponse.length, innerStatus: inner.status, ms: +(performance.now() - t0).toFixed(3) }, "ohttp call");
    return c.body(encapsulatedResponse as Uint8Array<ArrayBuffer>, 200, { "content-type": MEDIA_TYPE_OHTTP_RESPONSE, "cache-control": "no-store" });
  });

  app.get("/da/receipts/by-request/:requestHash", async (c) => {
    const hook = o.hook;
    const h = c.req.param("requestHash");
    if (!HEX32.test(h)) return c.json({ error: "bad_request", message: `requestHash: expected 0x + 64 hex digits, got ${JSON.stringify(h.slice(0, 80))}` }, 400);
    const seq = index.get(h);
    const view = hook && seq !== undefined ? hook.receipt(seq) : undefined;
    if (!hook || !view) {
      return c.json({ error: "not_found", message: `no recent receipt for requestHash ${h}; older receipts are listed in /da/batches/:batchSeq` }, 404);
    }
    const signature = view.receipt.kind === "served" ? await hook.receiptSignature(view.receipt) : null;
    return c.json(jsonSafe({ ...view, receiptSignature: signature }) as object);
  });

  return { app, keyConfigList: serverKeys.keyConfigList, guard, index };
}
