/**
 * Fetches what a gateway publishes for validators (gateway/serve/http.ts): the whole batch at its
 * `daURI` (`GET /batches/:batchSeq`: header, signature, receipts in callSeq order including void
 * leaves; bigints as decimal strings) and single enclave-signed receipts (`GET /receipts/:callSeq`).
 * Every GET goes through boundedGet.ts (bytes, time, redirects, addresses); the batch's byte
 * budget follows its header's `count`, the JSON's nesting is bounded before it is parsed and the
 * receipts are counted before zod looks at them. Nothing in an answer is trusted until
 * `verifyBatch` recomputed it.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import { addressSchema, receiptSchema, uintSchema, type Receipt } from "../sdk/types.js";
import type { BoundedGet } from "./boundedGet.js";
import { parseBoundedJson } from "./boundedJson.js";
import { DaMalformedError, DaTooDeepError, DaTooManyReceiptsError } from "./errors.js";

/** A batch JSON is 4 levels deep (body, receipts, receipt; header, usage, entry); room for extras. */
export const DA_MAX_JSON_DEPTH = 16;
/** Room in a batch's byte budget for everything that is not a receipt (header, usage, signature). */
export const DA_BUDGET_SLACK_BYTES = 64 * 1024;
/** Byte budget of one signed receipt answer (`/receipts/:callSeq`). */
export const RECEIPT_MAX_BYTES = 16 * 1024;

/** Bytes a batch of `count` receipts may take: `bytesPerReceipt` each plus slack, at most `maxBytes`. */
export function daBudget(count: number, o: { bytesPerReceipt: number; maxBytes: number }): number {
  return Math.min(o.maxBytes, count * o.bytesPerReceipt + DA_BUDGET_SLACK_BYTES);
}

const daReceiptSchema = z.discriminatedUnion("kind", [
  // The receipt fields are the SDK's; the DA adds `kind` and may leave `gateway` implicit.
  receiptSchema.extend({ kind: z.literal("served"), gateway: addressSchema("gateway").optional() }),
  z.object({
    kind: z.literal("void"),
    callSeq: uintSchema(64, "callSeq"),
    gateway: addressSchema("gateway").optional(),
  }),
]);

const daBatchSchema = z.object({
  gateway: addressSchema("gateway"),
  receipts: z.array(daReceiptSchema, { error: "receipts: expected an array" }),
});

/** One leaf of a batch as published: a served receipt or a void callSeq. */
export type DaLeaf = { kind: "served"; receipt: Receipt } | { kind: "void"; gateway: Address; callSeq: bigint };

export interface DaBatch {
  gateway: Address;
  leaves: DaLeaf[];
}

async function getJson(http: BoundedGet, url: string, maxBytes: number): Promise<unknown> {
  const parsed = parseBoundedJson(await http.get(url, maxBytes), DA_MAX_JSON_DEPTH);
  if (parsed.ok) return parsed.value;
  throw parsed.tooDeep
    ? new DaTooDeepError({ url, reason: parsed.reason })
    : new DaMalformedError({ url, reason: parsed.reason });
}

function issueText(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.join(".") || "(root)"}: ${i.message}`;
}

/** GET `daURI`: the leaves of a batch of `count` receipts in callSeq order, within `maxBytes`. */
export async function fetchDaBatch(
  http: BoundedGet,
  daURI: string,
  p: { count: number; maxBytes: number },
): Promise<DaBatch> {
  return daBatchFromJson(await getJson(http, daURI, p.maxBytes), daURI, p.count);
}

/** The leaves of a parsed `/batches` answer (`url`: where it came from, for errors). */
export function daBatchFromJson(raw: unknown, daURI: string, count: number): DaBatch {
  const p = { count };
  const receipts = (raw as { receipts?: unknown } | null)?.receipts;
  if (Array.isArray(receipts) && receipts.length > p.count) {
    throw new DaTooManyReceiptsError({
      url: daURI,
      reason: `${receipts.length} receipts for a header of count ${p.count}`,
    });
  }
  const parsed = daBatchSchema.safeParse(raw);
  if (!parsed.success) throw new DaMalformedError({ url: daURI, reason: issueText(parsed.error) });
  const gateway = parsed.data.gateway;
  return {
    gateway,
    leaves: parsed.data.receipts.map(
      (r): DaLeaf =>
        r.kind === "void"
          ? { kind: "void", gateway: r.gateway ?? gateway, callSeq: r.callSeq }
          : {
              kind: "served",
              receipt: {
                gateway: r.gateway ?? gateway,
                callSeq: r.callSeq,
                modelId: r.modelId,
                requestHash: r.requestHash,
                responseHash: r.responseHash,
                inputTokens: r.inputTokens,
                outputTokens: r.outputTokens,
                servedAt: r.servedAt,
              },
            },
    ),
  };
}

const signedReceiptSchema = z.object({
  receipt: z.object({ kind: z.enum(["served", "void"]).optional() }).passthrough(),
  receiptSignature: z
    .string()
    .regex(/^0x[0-9a-fA-F]{130}$/, { error: "receiptSignature: expected a 65-byte hex signature" })
    .nullable()
    .optional(),
});

/** A receipt with the enclave's EIP-712 signature over it, as a user holds it. */
export interface SignedReceipt {
  receipt: Receipt;
  signature: Hex;
}

/**
 * GET `{gatewayBase}/receipts/:callSeq`: the enclave-signed receipt, or undefined when the gateway
 * has no signed served receipt for that callSeq (void, unknown).
 */
export async function fetchSignedReceipt(
  http: BoundedGet,
  gatewayBase: string,
  callSeq: bigint,
): Promise<SignedReceipt | undefined> {
  const url = `${gatewayBase}/receipts/${callSeq}`;
  const raw = await getJson(http, url, RECEIPT_MAX_BYTES);
  const parsed = signedReceiptSchema.safeParse(raw);
  if (!parsed.success) throw new DaMalformedError({ url, reason: issueText(parsed.error) });
  if (parsed.data.receipt.kind === "void" || !parsed.data.receiptSignature) return undefined;
  const receipt = receiptSchema.safeParse(parsed.data.receipt);
  if (!receipt.success) throw new DaMalformedError({ url, reason: issueText(receipt.error) });
  return { receipt: receipt.data, signature: parsed.data.receiptSignature as Hex };
}

/** The gateway's HTTP base from a daURI of the form `{base}/batches/{batchSeq}`; undefined otherwise. */
export function gatewayBaseOf(daURI: string): string | undefined {
  const m = /^(https?:\/\/.+)\/batches\/[0-9]+\/?$/.exec(daURI);
  return m ? m[1] : undefined;
}
