/**
 * The validator's HTTP endpoint (Hono): its recorded verdict signatures for peers
 * (`GET /verdicts/:headerHash` → `{ verdict, signer, sig }`), user-reported signed receipts
 * (`POST /equivocations` → a `challengeEquivocation` when they prove equivocation), enclave
 * approvals (`POST /approvals` → this validator's `EnclaveApproval` signature once the enclave's
 * attestation verifies, see approval.ts), Prometheus metrics and health. Of verdicts, only what the
 * signing record holds is ever served.
 *
 * Data availability (the validator as DA committee, receiptStore.ts / daServe.ts):
 * `GET /da/batches/:gateway/:batchSeq` (the gateway's `/batches` shape) and
 * `GET /da/receipts/:gateway/:callSeq` (`{ headerHash, header, index, root, leaf, leafHash, proof }`)
 * serve what this validator attested, after the gateway is gone. Bounded by a token bucket per
 * client and overall plus a cap in flight (429 with Retry-After).
 */
import { Hono, type Context } from "hono";
import { serve, type ServerType } from "@hono/node-server";
import { z } from "zod";
import type { Hex } from "viem";
import { addressSchema, receiptSchema, uintSchema } from "../sdk/types.js";
import type { SigningRecord } from "./signingRecord.js";
import type { ValidatorMetrics } from "./metrics.js";
import type { SignedReceipt } from "./da.js";
import { DaBusyError, ValidatorError } from "./errors.js";
import type { DaServer } from "./daServe.js";
import { PublicLimiter, type PublicLimits } from "../gateway/serve/rateLimit.js";
import { AttestationError } from "./attestation/errors.js";
import type { EnclaveApproval } from "./approval.js";

const HEADER_HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^(0|[1-9][0-9]{0,18})$/;
/** Default bounds of `/da/*`: 20/s per address (burst 40), 200/s in all, 16 at once. */
export const DA_LIMITS: PublicLimits = {
  perClient: { rate: 20, burst: 40 },
  global: { rate: 200, burst: 200 },
  maxInFlight: 16,
};
/** Bounds of POST /equivocations and /approvals (each may cost a batch fetch or an attestation check). */
export const POST_LIMITS: PublicLimits = {
  perClient: { rate: 10, burst: 50 },
  global: { rate: 50, burst: 100 },
  maxInFlight: 8,
};
const reportSchema = z.object({
  receipt: receiptSchema,
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, { error: "signature: expected a 65-byte hex signature" }),
});

// The document as base64 or 0x-hex; 64 KiB is the attestation decoder's own input limit.
const MAX_DOCUMENT_BYTES = 64 * 1024;
const approvalSchema = z.object({
  enclave: addressSchema("enclave"),
  document: z
    .string({ error: "expected the attestation document as base64 or 0x-hex" })
    .min(1)
    .max(2 * MAX_DOCUMENT_BYTES + 2),
  // Every approval of one quorum must cover the same deadline, so the operator proposes it.
  deadline: uintSchema(64, "deadline").optional(),
  // The enclave's 65-byte uncompressed public key: needed when the document binds the key by
  // nitriding user_data (SHA-256 of the public key); checked against the enclave address.
  publicKey: z
    .string()
    .regex(/^0x04[0-9a-fA-F]{128}$/, {
      error: "publicKey: expected 0x04 followed by 128 hex characters (uncompressed secp256k1)",
    })
    .optional(),
});

function documentBytes(s: string): Uint8Array | undefined {
  if (s.startsWith("0x")) return /^0x([0-9a-fA-F]{2})+$/.test(s) ? Buffer.from(s.slice(2), "hex") : undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  const b = Buffer.from(s, "base64");
  return b.length > 0 && b.length <= MAX_DOCUMENT_BYTES ? b : undefined;
}

/** The request's JSON body parsed by `schema`, or the 400 that names the first bad field. */
async function jsonBody<T>(
  c: Context,
  schema: z.ZodType<T>,
  shape: string,
): Promise<{ success: true; data: T } | { success: false; response: Response }> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return { success: false, response: c.json({ error: "bad_request", message: `body: expected JSON ${shape}` }, 400) };
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return { success: true, data: parsed.data };
  const i = parsed.error.issues[0]!;
  return {
    success: false,
    response: c.json({ error: "bad_request", message: `${i.path.join(".") || "body"}: ${i.message}` }, 400),
  };
}

export interface ValidatorAppDeps {
  signing: SigningRecord;
  metrics: ValidatorMetrics;
  health: () => { ok: boolean } & Record<string, unknown>;
  challenge: (signed: SignedReceipt) => Promise<Hex>;
  approve: (enclave: Hex, document: Uint8Array, deadline?: bigint, publicKey?: Hex) => Promise<EnclaveApproval>;
  onError: (err: Error, path: string) => void;
  /** The receipts this validator holds (absent: no `/da` routes). */
  da?: DaServer;
  daLimits?: PublicLimits;
  postLimits?: PublicLimits;
}

export function createValidatorApp(d: ValidatorAppDeps): Hono {
  const app = new Hono();
  const daLimiter = new PublicLimiter(d.daLimits ?? DA_LIMITS);
  const postLimiter = new PublicLimiter(d.postLimits ?? POST_LIMITS);
  app.use("/da/*", daLimiter.middleware());
  app.use("/equivocations", postLimiter.middleware());
  app.use("/approvals", postLimiter.middleware());

  const daParams = (c: Context, seqName: string): { gateway: Hex; seq: bigint } | Response => {
    const gateway = c.req.param("gateway") ?? "";
    const seq = c.req.param(seqName) ?? "";
    if (!ADDRESS.test(gateway))
      return c.json({ error: "bad_request", message: "gateway: expected a 20-byte hex address" }, 400);
    if (!UINT.test(seq))
      return c.json({ error: "bad_request", message: `${seqName}: expected a non-negative decimal integer` }, 400);
    return { gateway: gateway as Hex, seq: BigInt(seq) };
  };
  if (d.da) {
    const da = d.da;
    app.get("/da/batches/:gateway/:batchSeq", (c) => {
      const p = daParams(c, "batchSeq");
      if (p instanceof Response) return p;
      const body = da.batchBody(p.gateway, p.seq);
      if (!body)
        return c.json({ error: "not_found", message: `this validator holds no batch ${p.seq} of ${p.gateway}` }, 404);
      return c.body(body as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "application/json",
        "content-length": String(body.length),
      });
    });
    app.get("/da/receipts/:gateway/:callSeq", (c) => {
      const p = daParams(c, "callSeq");
      if (p instanceof Response) return p;
      const r = da.receipt(p.gateway, p.seq);
      if (!r)
        return c.json(
          { error: "not_found", message: `this validator holds no batch of ${p.gateway} with callSeq ${p.seq}` },
          404,
        );
      return c.json(r);
    });
  }

  app.get("/verdicts/:headerHash", (c) => {
    const h = c.req.param("headerHash");
    if (!HEADER_HASH.test(h))
      return c.json({ error: "bad_request", message: "headerHash: expected 0x followed by 64 hex characters" }, 400);
    const v = d.signing.get(h as Hex);
    if (!v) return c.json({ error: "not_found", message: `no verdict signed for ${h}` }, 404);
    return c.json({ verdict: v.verdict, signer: v.signer, sig: v.sig });
  });

  app.post("/equivocations", async (c) => {
    const parsed = await jsonBody(c, reportSchema, "{ receipt, signature }");
    if (!parsed.success) return parsed.response;
    try {
      const txHash = await d.challenge({ receipt: parsed.data.receipt, signature: parsed.data.signature as Hex });
      return c.json({ txHash });
    } catch (e) {
      if (e instanceof DaBusyError)
        return c.json({ error: e.name, message: e.shortMessage }, 429, { "retry-after": "1" });
      if (e instanceof ValidatorError) return c.json({ error: e.name, message: e.shortMessage }, 422);
      throw e;
    }
  });

  app.post("/approvals", async (c) => {
    const parsed = await jsonBody(c, approvalSchema, "{ enclave, document, deadline?, publicKey? }");
    if (!parsed.success) return parsed.response;
    const doc = documentBytes(parsed.data.document);
    if (!doc)
      return c.json(
        { error: "bad_request", message: `document: expected base64 or 0x-hex of 1 to ${MAX_DOCUMENT_BYTES} bytes` },
        400,
      );
    try {
      const a = await d.approve(
        parsed.data.enclave,
        doc,
        parsed.data.deadline,
        parsed.data.publicKey as Hex | undefined,
      );
      return c.json({
        signer: a.signer,
        sig: a.sig,
        nonce: a.nonce.toString(),
        deadline: a.deadline.toString(),
        measurement: a.measurement,
        attestationHash: a.attestationHash,
      });
    } catch (e) {
      // `reasons`: why each way of binding failed (e.g. AttestationKeyNotBoundError), when known.
      if (e instanceof AttestationError || e instanceof ValidatorError) {
        return c.json(
          { error: e.name, message: e.shortMessage, ...(e.metaMessages?.length ? { reasons: e.metaMessages } : {}) },
          422,
        );
      }
      throw e;
    }
  });

  app.get("/metrics", async (c) =>
    c.body(await d.metrics.registry.metrics(), 200, { "content-type": d.metrics.registry.contentType }),
  );
  app.get("/health", (c) => {
    const h = d.health();
    return c.json(
      JSON.parse(JSON.stringify(h, (_k, x) => (typeof x === "bigint" ? x.toString() : x))),
      h.ok ? 200 : 503,
    );
  });
  app.notFound((c) => c.json({ error: "not_found", message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    d.onError(err, c.req.path);
    return c.json({ error: "internal", message: "internal error" }, 500);
  });
  return app;
}

/** Serves `app`; resolves with the bound port and a close function. */
export function listen(
  app: Hono,
  port: number,
  hostname: string,
): Promise<{ server: ServerType; port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
      resolve({ server, port: info.port, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
    server.once("error", reject);
  });
}
