/**
 * The settlement hook as a local HTTP service, for gateways not written in TypeScript (a Python or Go
 * server records each served call with one POST). Bind it to loopback or a private socket: `POST
 * /record` takes calls on the enclave's behalf and must not be reachable by users.
 *
 *   POST /record   { modelId, requestHash, responseHash, inputTokens, outputTokens, servedAt? }
 *                  ?wait=durable: answer once the receipt is durable, with the enclave's signature
 *   GET  /status   the hook's health (chain, store, submitter, batches)
 *   /da/...        receipts, proofs and batches, as the gateway serves them (`createHookApp`), unless
 *                  `daInline: false` (the DA endpoints served by `startDaServer` on a port of their own)
 */
import { Hono } from "hono";
import { z } from "zod";
import { hex32Schema, uint32Schema } from "../../sdk/types.js";
import { InvalidCallError } from "../errors.js";
import type { SettlementHook } from "../hook.js";
import { createHookApp } from "./http.js";
import { jsonSafe } from "../json.js";

const callSchema = z.strictObject({
  modelId: hex32Schema("modelId"),
  requestHash: hex32Schema("requestHash"),
  responseHash: hex32Schema("responseHash"),
  inputTokens: uint32Schema("inputTokens"),
  outputTokens: uint32Schema("outputTokens"),
  servedAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** Largest JSON body `POST /record` reads (a call is ~300 bytes). */
const MAX_RECORD_BYTES = 4096;

export function createSidecarApp(hook: SettlementHook, o: { daInline?: boolean } = {}): Hono {
  const app = new Hono();

  app.post("/record", async (c) => {
    const length = Number(c.req.header("content-length") ?? "0");
    if (length > MAX_RECORD_BYTES)
      return c.json({ error: "too_large", message: `body: at most ${MAX_RECORD_BYTES} bytes` }, 413);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json(
        {
          error: "bad_request",
          message:
            "body: expected a JSON object { modelId, requestHash, responseHash, inputTokens, outputTokens, servedAt? }",
        },
        400,
      );
    }
    const parsed = callSchema.safeParse(body);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return c.json({ error: "bad_request", message: `${i.path.join(".") || "body"}: ${i.message}` }, 400);
    }
    let rec;
    try {
      rec = hook.record(parsed.data);
    } catch (e) {
      if (e instanceof InvalidCallError) return c.json({ error: "bad_request", message: e.shortMessage }, 400);
      throw e;
    }
    const out = { callSeq: rec.callSeq.toString(), digest: rec.digest };
    if (c.req.query("wait") !== "durable") return c.json({ ...out, durable: false }, 202);
    // The enclave signs a receipt only once it is durable: a signature over a receipt a crash could
    // lose would let anyone prove a (void-leaf) equivocation and take the bond.
    await rec.durable;
    const view = hook.receipt(Number(rec.callSeq));
    const signature = view && view.receipt.kind === "served" ? await hook.receiptSignature(view.receipt) : null;
    return c.json({ ...out, durable: true, receipt: jsonSafe(view?.receipt), receiptSignature: signature }, 200);
  });

  app.get("/status", (c) => {
    const h = hook.health();
    return c.json(h, h.ok ? 200 : 503);
  });

  if (o.daInline !== false) app.route("/da", createHookApp(hook));
  app.notFound((c) => c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    hook.log.error({ err: err.message, path: c.req.path }, "sidecar handler failed");
    return c.json({ error: "internal", message: "internal error" }, 500);
  });
  return app;
}
