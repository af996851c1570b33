/**
 * The demo TEE gateway (Hono): `POST /v1/chat/completions` answered by a pluggable backend, the
 * receipt recorded once the response has been written to the socket, and the hook's DA/proof
 * endpoint mounted under `/da` (so each header's daURI is `${publicUrl}/da/batches/<n>`).
 */
import { Hono } from "hono";
import type { Logger } from "pino";
import type { ServerResponse } from "node:http";
import { createHookApp } from "../serve/http.js";
import { PublicLimiter, type PublicLimits } from "../serve/rateLimit.js";
import type { SettlementHook } from "../hook.js";
import type { ModelBackend } from "./backend.js";
import { BadChatRequest, handleChat } from "./fastPath.js";
import type { OhttpGateway } from "../ohttp/enclave.js";
import { DEFAULT_MAX_BODY_BYTES, readBodyLimited } from "../ohttp/body.js";

export interface DemoGatewayOptions {
  backend: ModelBackend;
  /** Without a hook the gateway only serves (e.g. as an upstream model server). */
  hook?: SettlementHook;
  logger: Logger;
  /** OHTTP routes (/ohttp-keys, /ohttp, /da/receipts/by-request/:h) from `createOhttpGateway`. */
  ohttp?: OhttpGateway;
  /** Largest chat request body, in bytes (413 above). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Bounds for the public read routes (/da/*, /health); one limiter for all of them. */
  limits?: PublicLimits | PublicLimiter;
  /**
   * Serve the hook's DA routes under /da on this app (default true). False when a DA worker serves
   * them (`startDaServer`): hostile DA traffic then never takes a turn of this event loop.
   */
  daInline?: boolean;
}

export function createDemoApp(o: DemoGatewayOptions): Hono<{ Bindings: { outgoing?: ServerResponse } }> {
  const app = new Hono<{ Bindings: { outgoing?: ServerResponse } }>();

  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  app.post("/v1/chat/completions", async (c) => {
    // Read from the Node request (body.ts): a Web Request per call cost CPU and left AbortSignal
    // listeners and finalization-registry cells that only a full GC clears.
    const body = await readBodyLimited(c, maxBody);
    if (!body)
      return c.json(
        { error: { type: "invalid_request_error", message: `request body larger than ${maxBody} bytes` } },
        413,
      );
    let result;
    try {
      result = await handleChat(body, o.backend);
    } catch (e) {
      if (e instanceof BadChatRequest)
        return c.json({ error: { type: "invalid_request_error", message: e.shortMessage } }, 400);
      o.logger.error({ err: (e as Error).message }, "backend failed");
      return c.json({ error: { type: "backend_error", message: "the model backend failed" } }, 502);
    }
    const { responseBytes, call } = result;
    const hook = o.hook;
    if (hook) {
      // Off the fast path: record once the answer is on the wire (or on the next turn without a socket).
      const record = () => {
        try {
          const r = hook.record(call);
          // `digest` is hashed on first read: only when it is logged.
          if (o.logger.isLevelEnabled("debug"))
            o.logger.debug({ callSeq: String(r.callSeq), digest: r.digest }, "receipt recorded");
        } catch (e) {
          o.logger.error({ err: (e as Error).message }, "recording the receipt failed");
        }
      };
      const out = c.env?.outgoing;
      if (out) out.once("finish", record);
      else setImmediate(record);
    }
    return c.body(responseBytes as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/json" });
  });

  if (o.ohttp) app.route("/", o.ohttp.app);
  const limiter = o.limits instanceof PublicLimiter ? o.limits : new PublicLimiter(o.limits);
  if (o.hook && o.daInline !== false) app.route("/da", createHookApp(o.hook, limiter));
  app.get("/health", limiter.middleware(), (c) => c.json({ ok: true, gateway: o.hook?.gateway ?? null }));
  app.notFound((c) => c.json({ error: { type: "not_found", message: `no route ${c.req.method} ${c.req.path}` } }, 404));
  return app;
}
