/**
 * The OHTTP relay (RFC 9458 §2 "Oblivious Relay Resource"), its own Hono server: it knows who asks
 * (the client's connection) and forwards only what is asked — an opaque `message/ohttp-req` — to
 * the enclave's /ohttp, so the enclave never learns who asked.
 *
 * Identity is stripped by construction, not by a deny-list: the upstream request is built from
 * scratch with exactly three headers (content-type, content-length, a fixed user-agent) — no
 * X-Forwarded-For / Forwarded / X-Real-IP, cookies, Authorization, client user-agent or anything
 * else the client sent. Responses come back with only content-type (and the body). Logs carry
 * sizes, status and timing, never an address or a header value.
 *
 * Chunked OHTTP (`message/ohttp-chunked-req`, draft-ietf-ohai-chunked-ohttp-08) is forwarded under
 * the same policy, plus the draft's fixed `incremental: ?1`; its response is passed on chunk by
 * chunk as it arrives, never buffered: the client's connection is read only as fast as the client
 * reads (back-pressure reaches the gateway), and a client that leaves closes the upstream request.
 * One log line per call either way, written when the stream ends.
 */
import type { ServerResponse } from "node:http";
import { Hono, type Context } from "hono";
import pino, { type Logger } from "pino";
import {
  MEDIA_TYPE_OHTTP_CHUNKED_REQUEST,
  MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE,
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
} from "../../sdk/ohttp/index.js";
import {
  createNodePost,
  createNodeStreamPost,
  type PostResponse,
  type StreamResponse,
} from "../../sdk/ohttp/transport.js";
import { MEDIA_TYPE_PROBLEM, problem } from "./problem.js";
import { DEFAULT_MAX_BODY_BYTES, readBodyLimited, requestHeader } from "./body.js";
import { RESPONSE_ALREADY_SENT, writeNode } from "./nodeResponse.js";

export const RELAY_USER_AGENT = "proofpath-ohttp-relay/1";

/**
 * The relay's logger: pino writing asynchronously in 4 KiB chunks to `dest` (a path or a file
 * descriptor; default stdout), so a log line costs the relay no write(2) of its own per call.
 * Trade-off: lines still buffered are lost if the process is killed (a normal exit flushes them).
 */
export function createRelayLogger(dest: string | number = 1, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name: "ohttp-relay", level }, pino.destination({ dest, sync: false, minLength: 4096 }));
}

/** The only headers the gateway sees from the relay (built from scratch: no client identity). */
const UPSTREAM_HEADERS = { "content-type": MEDIA_TYPE_OHTTP_REQUEST, "user-agent": RELAY_USER_AGENT };
const UPSTREAM_CHUNKED_HEADERS = {
  "content-type": MEDIA_TYPE_OHTTP_CHUNKED_REQUEST,
  "user-agent": RELAY_USER_AGENT,
  incremental: "?1",
};

export interface RelayOptions {
  /** Base URL of the enclave gateway; requests go to `${gatewayUrl}/ohttp`. */
  gatewayUrl: string;
  /** Largest encapsulated request forwarded, in bytes (413 above). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Upstream timeout. Default 60 s. */
  timeoutMs?: number;
  logger?: Logger;
}

/** Creates the relay app: `POST /` and `POST /ohttp` forward; `GET /health`. */
export function createRelayApp(o: RelayOptions): Hono {
  const target = new URL(`${o.gatewayUrl.replace(/\/+$/, "")}/ohttp`);
  if (target.protocol !== "https:" && target.protocol !== "http:")
    throw new Error(`relay gatewayUrl must be http(s), got ${o.gatewayUrl}`);
  const targetUrl = target.href;
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const log = o.logger ?? createRelayLogger();
  // One pooled connection set to the gateway: clients' requests are mixed on it, which also hides
  // per-client connection patterns from the gateway. The relay runs on Node (./transport.ts: undici).
  const post = createNodePost({ maxSockets: 64, timeoutMs })!;
  const forward = (body: Uint8Array) => post(targetUrl, UPSTREAM_HEADERS, body);
  const streamPost = createNodeStreamPost({ maxSockets: 64, timeoutMs })!;

  const refuse = (c: Context, p: ReturnType<typeof problem>, t0: number, bytesIn: number) => {
    log.info({ bytesIn, status: p.status, ms: +(performance.now() - t0).toFixed(3) }, "relay refused");
    return c.body(JSON.stringify(p), p.status, { "content-type": MEDIA_TYPE_PROBLEM });
  };

  const handler = async (c: Context) => {
    const t0 = performance.now();
    const type = requestHeader(c, "content-type")?.split(";")[0]?.trim().toLowerCase();
    const chunked = type === MEDIA_TYPE_OHTTP_CHUNKED_REQUEST;
    if (type !== MEDIA_TYPE_OHTTP_REQUEST && !chunked) {
      return refuse(
        c,
        problem(
          415,
          "media-type",
          "unsupported media type",
          `the relay forwards only ${MEDIA_TYPE_OHTTP_REQUEST} and ${MEDIA_TYPE_OHTTP_CHUNKED_REQUEST}`,
        ),
        t0,
        0,
      );
    }
    const body = await readBodyLimited(c, maxBody);
    if (!body)
      return refuse(
        c,
        problem(413, "too-large", "OHTTP request too large", `the relay forwards at most ${maxBody} bytes`),
        t0,
        maxBody,
      );
    if (chunked) return forwardStream(c, body, t0);
    let up: PostResponse;
    try {
      up = await forward(body);
    } catch (e) {
      log.warn(
        { bytesIn: body.length, err: (e as Error).message, ms: +(performance.now() - t0).toFixed(3) },
        "gateway unreachable",
      );
      return c.body(JSON.stringify({ type: "about:blank", title: "gateway unreachable", status: 502 }), 502, {
        "content-type": MEDIA_TYPE_PROBLEM,
      });
    }
    log.info(
      { bytesIn: body.length, bytesOut: up.body.length, status: up.status, ms: +(performance.now() - t0).toFixed(3) },
      "relayed",
    );
    // Pass through only the media type the client needs to tell an answer from a problem.
    const ct =
      up.contentType === MEDIA_TYPE_OHTTP_RESPONSE || up.contentType === MEDIA_TYPE_PROBLEM
        ? up.contentType
        : "application/octet-stream";
    return c.body(up.body as Uint8Array<ArrayBuffer>, up.status as 200, { "content-type": ct });
  };

  const unreachable = (c: Context, bytesIn: number, e: unknown, t0: number) => {
    log.warn({ bytesIn, err: (e as Error).message, ms: +(performance.now() - t0).toFixed(3) }, "gateway unreachable");
    return c.body(JSON.stringify({ type: "about:blank", title: "gateway unreachable", status: 502 }), 502, {
      "content-type": MEDIA_TYPE_PROBLEM,
    });
  };

  /** A chunked exchange: the answer passes through piece by piece, pulled by the client's reads. */
  const forwardStream = async (c: Context, body: Uint8Array, t0: number) => {
    let up: StreamResponse;
    try {
      up = await streamPost(targetUrl, UPSTREAM_CHUNKED_HEADERS, body);
    } catch (e) {
      return unreachable(c, body.length, e, t0);
    }
    const ct =
      up.contentType === MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE || up.contentType === MEDIA_TYPE_PROBLEM
        ? up.contentType
        : "application/octet-stream";
    let bytesOut = 0;
    let logged = false;
    const done = (complete: boolean, err?: unknown) => {
      if (logged) return;
      logged = true;
      log.info(
        {
          bytesIn: body.length,
          bytesOut,
          status: up.status,
          ms: +(performance.now() - t0).toFixed(3),
          ...(complete ? {} : { cut: true, ...(err ? { err: (err as Error).message } : {}) }),
        },
        "relayed",
      );
    };
    const it = up.body[Symbol.asyncIterator]();
    /** The upstream pieces as they come; the log line once they end (or stop). */
    async function* pieces(): AsyncGenerator<Uint8Array> {
      let complete = false;
      try {
        for (let n = await it.next(); !n.done; n = await it.next()) {
          bytesOut += n.value.length;
          yield n.value;
        }
        complete = true;
      } catch (e) {
        done(false, e);
        throw e;
      } finally {
        if (!complete) up.cancel();
        done(complete);
      }
    }
    const headers = {
      "content-type": ct,
      ...(ct === MEDIA_TYPE_OHTTP_CHUNKED_RESPONSE ? { incremental: "?1" } : {}),
    };
    const out = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (out) {
      // The client left: close the upstream request too (`pieces` does), so the gateway stops producing.
      void writeNode(out, headers, pieces(), () => {}, up.cancel, up.status);
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
            ctrl.error(e);
          }
        },
        async cancel() {
          up.cancel();
          await gen.return(undefined);
        },
      },
      { highWaterMark: 0 },
    );
    return c.body(stream, up.status as 200, headers);
  };

  const app = new Hono();
  app.post("/", handler);
  app.post("/ohttp", handler);
  app.get("/health", (c) => c.json({ ok: true }));
  app.notFound((c) => c.json({ error: "not_found" }, 404));
  app.onError((err, c) => {
    log.error({ err: err.message }, "relay handler failed");
    return c.json({ error: "internal" }, 500);
  });
  return app;
}
