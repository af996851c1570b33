/**
 * The validator's HTTP endpoint (Hono): its recorded verdict signatures for peers
 * (`GET /verdicts/:headerHash` → `{ verdict, signer, sig }`), user-reported signed receipts
 * (`POST /equivocations` → a `challengeEquivocation` when they prove equivocation), Prometheus
 * metrics and health. Only what the signing record holds is ever served.
 */
import { Hono } from "hono";
import { serve, type ServerType } from "@hono/node-server";
import { z } from "zod";
import type { Hex } from "viem";
import { receiptSchema } from "../sdk/types.js";
import type { SigningRecord } from "./signingRecord.js";
import type { ValidatorMetrics } from "./metrics.js";
import type { SignedReceipt } from "./da.js";
import { ValidatorError } from "./errors.js";

const HEADER_HASH = /^0x[0-9a-fA-F]{64}$/;
const reportSchema = z.object({
  receipt: receiptSchema,
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, { error: "signature: expected a 65-byte hex signature" }),
});

export interface ValidatorAppDeps {
  signing: SigningRecord;
  metrics: ValidatorMetrics;
  health: () => { ok: boolean } & Record<string, unknown>;
  challenge: (signed: SignedReceipt) => Promise<Hex>;
  onError: (err: Error, path: string) => void;
}

export function createValidatorApp(d: ValidatorAppDeps): Hono {
  const app = new Hono();

  app.get("/verdicts/:headerHash", (c) => {
    const h = c.req.param("headerHash");
    if (!HEADER_HASH.test(h)) return c.json({ error: "bad_request", message: "headerHash: expected 0x followed by 64 hex characters" }, 400);
    const v = d.signing.get(h as Hex);
    if (!v) return c.json({ error: "not_found", message: `no verdict signed for ${h}` }, 404);
    return c.json({ verdict: v.verdict, signer: v.signer, sig: v.sig });
  });

  app.post("/equivocations", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: "bad_request", message: "body: expected JSON { receipt, signature }" }, 400);
    }
    const parsed = reportSchema.safeParse(body);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return c.json({ error: "bad_request", message: `${i.path.join(".")}: ${i.message}` }, 400);
    }
    try {
      const txHash = await d.challenge({ receipt: parsed.data.receipt, signature: parsed.data.signature as Hex });
      return c.json({ txHash });
    } catch (e) {
      if (e instanceof ValidatorError) return c.json({ error: e.name, message: e.shortMessage }, 422);
      throw e;
    }
  });

  app.get("/metrics", async (c) => c.body(await d.metrics.registry.metrics(), 200, { "content-type": d.metrics.registry.contentType }));
  app.get("/health", (c) => {
    const h = d.health();
    return c.json(JSON.parse(JSON.stringify(h, (_k, x) => (typeof x === "bigint" ? x.toString() : x))), h.ok ? 200 : 503);
  });
  app.notFound((c) => c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    d.onError(err, c.req.path);
    return c.json({ error: "internal", message: "internal error" }, 500);
  });
  return app;
}

/** Serves `app`; resolves with the bound port and a close function. */
export function listen(app: Hono, port: number, hostname: string): Promise<{ server: ServerType; port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
      resolve({ server, port: info.port, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
    server.once("error", reject);
  });
}
