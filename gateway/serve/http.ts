/**
 * The hook's HTTP endpoint (Hono): receipts with status and inclusion proofs for users, whole
 * batches for validators (this is the header's daURI), Prometheus metrics and health. Parameters
 * are validated before any lookup: bad input is a 400 with a message, unknown ids a 404.
 */
import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { serve, type ServerType } from "@hono/node-server";
import type { ReceiptView, SettlementHook } from "../hook.js";
import { jsonSafe } from "../json.js";
import { NotDurableError } from "../errors.js";
import { ByteBudget, PublicLimiter, SendPacer, clientAddress, type PublicLimits, type SendPace } from "./rateLimit.js";

const utf8 = new TextEncoder();

/**
 * What the DA routes read: the hook itself, or a DA worker's reader of the store (./daWorker.ts).
 * `receipt` may answer `{ durable: false }` alone for a callSeq recorded but not durable yet, and
 * may answer later (a DA process asks the hook whether a callSeq it lacks was handed out).
 * `/metrics` and `/health` are served only where they are given.
 */
export type DaSource = Pick<
  SettlementHook,
  "gateway" | "log" | "receiptSignature" | "batchBody" | "predecessorBatch"
> & {
  receipt(
    callSeq: number,
  ): ReceiptView | { durable: false } | undefined | Promise<ReceiptView | { durable: false } | undefined>;
  /** `/batches/:n` as the bytes to send, when the source keeps them (the DA worker); else built from `batchBody`. */
  batchAnswer?(batchSeq: number): Uint8Array | undefined;
  /** A predecessor's whole batch as the bytes to send; else built from `predecessorBatch`. */
  predecessorBatchAnswer?(account: string, batchSeq: number): Uint8Array | undefined;
  /**
   * Seconds until the source may sign `r` (0: now, and counted): a budget on the signing work
   * strangers can ask for (the DA worker's), for everyone and per `client` address; a signature
   * it holds already is free.
   */
  signatureWait?(r: { callSeq: bigint; leaf: string }, client?: string): number;
} & Partial<Pick<SettlementHook, "metrics" | "health">>;
/** Default bounds of `/batches/:n`, on top of the endpoint's: 5/s per address (burst 10), 50/s in all, 4 at once. */
export const BATCH_LIMITS: PublicLimits = {
  perClient: { rate: 5, burst: 10 },
  global: { rate: 50, burst: 50 },
  maxInFlight: 4,
};
/** Default byte budget of `/batches/:n` for all clients together: 32 MiB/s, burst 64 MiB. */
export const BATCH_BYTES = { rate: 32 * 2 ** 20, burst: 64 * 2 ** 20 };
const CLOSE = utf8.encode("}");
const UINT = /^(0|[1-9][0-9]{0,15})$/;

function parseId(c: Context, name: string): number | Response {
  const raw = c.req.param(name) ?? "";
  if (!UINT.test(raw) || !Number.isSafeInteger(Number(raw))) {
    return c.json(
      {
        error: "bad_request",
        message: `${name}: expected a non-negative decimal integer (at most 2^53-1), got ${JSON.stringify(raw.slice(0, 40))}`,
      },
      400,
    );
  }
  return Number(raw);
}

/**
 * The answer for one receipt: 200 with the enclave's signature once the receipt is durable, a 409
 * (Retry-After) before. No signature ever leaves before the group commit that holds the receipt:
 * a crash voids every callSeq that is not durable, and a signature over its receipt would let
 * anyone prove "equivocation" against an honest gateway.
 */
export async function receiptResponse(c: Context, hook: DaSource, seq: number): Promise<Response | undefined> {
  const a = await receiptAnswer(hook, seq, clientAddress(c));
  return a && c.json(a.body as object, a.status, a.headers);
}

/** {@link receiptResponse} without a Hono context (status, JSON body, headers), e.g. to answer inside OHTTP. */
export async function receiptAnswer(
  hook: DaSource,
  seq: number,
  client?: string,
): Promise<{ status: 200 | 409 | 429; body: unknown; headers: Record<string, string> } | undefined> {
  const v = await hook.receipt(seq);
  if (!v) return undefined;
  if (!v.durable) return notDurable(seq);
  let signature: string | null = null;
  if (v.receipt.kind === "served") {
    const wait = hook.signatureWait?.(v.receipt, client) ?? 0;
    if (wait > 0) return tooManySignatures(wait);
    try {
      signature = await hook.receiptSignature(v.receipt);
    } catch (e) {
      if (e instanceof NotDurableError) return notDurable(seq);
      throw e;
    }
  }
  return { status: 200, body: jsonSafe({ ...v, receiptSignature: signature }), headers: {} };
}

function tooManySignatures(wait: number) {
  const s = Math.max(1, Math.ceil(wait));
  return {
    status: 429 as const,
    body: {
      error: "rate_limited",
      message: `the gateway is signing too many receipts for strangers; retry after ${s} s`,
    },
    headers: { "retry-after": String(s), "cache-control": "no-store" },
  };
}

function notDurable(seq: number) {
  return {
    status: 409 as const,
    body: {
      error: "not_durable",
      message: `callSeq ${seq} is recorded but not durable yet (its group commit has not landed); retry in a moment. The enclave signs a receipt only once it is durable.`,
    },
    headers: { "retry-after": "1", "cache-control": "no-store" },
  };
}

/**
 * Hono app serving `hook`; mount it in the gateway (e.g. `app.route("/da", createHookApp(hook))`).
 * Every route is public and unauthenticated, so every route is bounded (`limits`, or a shared
 * {@link PublicLimiter}): per-address and global token buckets, requests in flight, URL length;
 * refusals are 429/414 with Retry-After. Answers are cheap on the event loop: a batch's receipts
 * are serialized once on the worker and cached, a receipt's signature is made once (on the worker)
 * and cached. With `pace`, whole batches kept as bytes (`batchAnswer`, `predecessorBatchAnswer`) are
 * written in chunks at that shared rate ({@link SendPacer}).
 */
export function createHookApp(
  hook: DaSource,
  limits: PublicLimits | PublicLimiter = {},
  batchLimits: PublicLimits | PublicLimiter = BATCH_LIMITS,
  batchBytes: { rate: number; burst: number } | ByteBudget = BATCH_BYTES,
  pace?: SendPace | SendPacer,
): Hono {
  const app = new Hono();
  const limiter = limits instanceof PublicLimiter ? limits : new PublicLimiter(limits);
  // Whole batches are up to megabytes each: a tighter budget of their own (a validator fetches each once).
  const batchLimiter = batchLimits instanceof PublicLimiter ? batchLimits : new PublicLimiter(batchLimits);
  const bytes = batchBytes instanceof ByteBudget ? batchBytes : new ByteBudget(batchBytes);
  const pacer = pace instanceof SendPacer || pace === undefined ? pace : new SendPacer(pace);
  // Receipts and batches are public once durable: any page (the dashboard's verify page) may read
  // them from a browser. No credentials, GET only; metrics and health stay same-origin.
  const publicRead = cors({ origin: "*", allowMethods: ["GET"] });
  app.use("/receipts/*", publicRead);
  app.use("/batches/*", publicRead);
  app.use("*", limiter.middleware());
  app.use("/batches/*", batchLimiter.middleware());
  app.use("/predecessors/*", batchLimiter.middleware());
  app.use("/accounts/*", publicRead);
  app.use("/accounts/*/batches/*", batchLimiter.middleware());
  app.use("/accounts/*/predecessors/*", batchLimiter.middleware());

  app.get("/receipts/:callSeq", async (c) => {
    const seq = parseId(c, "callSeq");
    if (typeof seq !== "number") return seq;
    return (
      (await receiptResponse(c, hook, seq)) ??
      c.json({ error: "not_found", message: `no receipt for callSeq ${seq} at gateway ${hook.gateway}` }, 404)
    );
  });

  const tooManyBytes = (c: Context, wait: number) => {
    const s = Math.max(1, Math.ceil(wait));
    return c.json(
      { error: "rate_limited", message: `the gateway is sending too many batch bytes; retry after ${s} s` },
      429,
      { "retry-after": String(s), "cache-control": "no-store" },
    );
  };
  const notFound = (c: Context, seq: number) =>
    c.json({ error: "not_found", message: `no batch ${seq} at gateway ${hook.gateway}` }, 404);
  /** A whole-batch answer within the byte budget; the bytes are sent as they are (paced), never copied. */
  const sendBatch = (c: Context, body: Uint8Array | ReadableStream<Uint8Array>, size: number) => {
    const wait = bytes.take(size);
    if (wait > 0) return tooManyBytes(c, wait);
    if (pacer && body instanceof Uint8Array) body = pacer.stream(body);
    return c.body(body as Uint8Array<ArrayBuffer> | ReadableStream, 200, {
      "content-type": "application/json",
      "content-length": String(size),
    });
  };
  const batch = async (c: Context, seq: number) => {
    if (hook.batchAnswer) {
      const a = hook.batchAnswer(seq);
      return a ? sendBatch(c, a, a.length) : notFound(c, seq);
    }
    const b = await hook.batchBody(seq);
    if (!b) return notFound(c, seq);
    const head = utf8.encode(b.head);
    // Streamed in three chunks: the cached receipts (up to megabytes) are written as they are, never copied.
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(head);
        ctl.enqueue(b.receipts);
        ctl.enqueue(CLOSE);
        ctl.close();
      },
    });
    return sendBatch(c, body, head.length + b.receipts.length + 1);
  };
  const predecessorBatch = (c: Context, account: string, seq: number) => {
    let body = hook.predecessorBatchAnswer?.(account, seq);
    if (!hook.predecessorBatchAnswer) {
      const b = hook.predecessorBatch(account, seq);
      if (b) body = utf8.encode(JSON.stringify(jsonSafe(b)));
    }
    if (!body)
      return c.json({ error: "not_found", message: `no batch ${seq} of predecessor ${account.slice(0, 42)}` }, 404);
    // Whole batches too: the same byte budget as `/batches/:n` (a stranger must not pull them unbounded).
    return sendBatch(c, body, body.length);
  };
  const isOwn = (account: string) => account.toLowerCase() === hook.gateway.toLowerCase();

  app.get("/batches/:batchSeq", async (c) => {
    const seq = parseId(c, "batchSeq");
    return typeof seq === "number" ? batch(c, seq) : seq;
  });

  // Batches this hook settled for a predecessor's account (key succession): their header's daURI.
  app.get("/predecessors/:account/batches/:batchSeq", (c) => {
    const seq = parseId(c, "batchSeq");
    return typeof seq === "number" ? predecessorBatch(c, c.req.param("account"), seq) : seq;
  });

  // Account-qualified DA (daBaseUrl `<base>/accounts/<key>`): a header's daURI names its account, so
  // after a key succession the successor, serving at the same base, answers for the dead key's
  // batches already on-chain too (from the predecessor's store), not only for those it re-signed.
  app.get("/accounts/:account/batches/:batchSeq", (c) => {
    const seq = parseId(c, "batchSeq");
    if (typeof seq !== "number") return seq;
    const account = c.req.param("account");
    return isOwn(account) ? batch(c, seq) : predecessorBatch(c, account, seq);
  });
  app.get("/accounts/:account/predecessors/:predecessor/batches/:batchSeq", (c) => {
    const seq = parseId(c, "batchSeq");
    if (typeof seq !== "number") return seq;
    if (!isOwn(c.req.param("account")))
      return c.json({ error: "not_found", message: `${c.req.param("account").slice(0, 42)} is not this gateway` }, 404);
    return predecessorBatch(c, c.req.param("predecessor"), seq);
  });
  app.get("/accounts/:account/receipts/:callSeq", async (c) => {
    const seq = parseId(c, "callSeq");
    if (typeof seq !== "number") return seq;
    const found = isOwn(c.req.param("account")) ? await receiptResponse(c, hook, seq) : undefined;
    return found ?? c.json({ error: "not_found", message: `no receipt for callSeq ${seq} at this account` }, 404);
  });

  const { metrics, health } = hook;
  if (metrics)
    app.get("/metrics", async (c) => {
      const body = await metrics.registry.metrics();
      return c.body(body, 200, { "content-type": metrics.registry.contentType });
    });

  if (health)
    app.get("/health", (c) => {
      const h = health();
      return c.json(h, h.ok ? 200 : 503);
    });

  app.notFound((c) => c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    hook.log.error({ err: err.message, path: c.req.path }, "http handler failed");
    return c.json({ error: "internal", message: "internal error" }, 500);
  });
  return app;
}

/** Serves `app` on `port` (0 = any free port); resolves with the server and its port. */
export function listen(
  app: { fetch: Hono["fetch"] } | Hono<any>,
  port = 0,
  hostname = "127.0.0.1",
): Promise<{ server: ServerType; port: number; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: (app as Hono).fetch, port, hostname }, (info) => {
      resolve({
        server,
        port: info.port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
