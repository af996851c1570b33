/**
 * Fetches what a gateway publishes for validators (gateway/http.ts): the whole batch at its
 * `daURI` (`GET /batches/:batchSeq`: header, signature, receipts in callSeq order including void
 * leaves; bigints as decimal strings) and single enclave-signed receipts (`GET /receipts/:callSeq`).
 * Answers are parsed with zod; nothing in them is trusted until `verifyBatch` recomputed it.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import { addressSchema, receiptSchema, uintSchema, type Receipt } from "../sdk/types.js";
import { DaMalformedError, DaUnavailableError } from "./errors.js";

const daReceiptSchema = z.discriminatedUnion("kind", [
  // The receipt fields are the SDK's; the DA adds `kind` and may leave `gateway` implicit.
  receiptSchema.extend({ kind: z.literal("served"), gateway: addressSchema("gateway").optional() }),
  z.object({ kind: z.literal("void"), callSeq: uintSchema(64, "callSeq"), gateway: addressSchema("gateway").optional() }),
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

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
  } catch (cause) {
    throw new DaUnavailableError({ url, reason: (cause as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : "request failed", cause });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new DaUnavailableError({ url, reason: `HTTP ${res.status}` });
  }
  try {
    return await res.json();
  } catch (cause) {
    throw new DaMalformedError({ url, reason: `body is not JSON (${(cause as Error).message})` });
  }
}

function issueText(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.join(".") || "(root)"}: ${i.message}`;
}

/** GET `daURI`: the batch's leaves in callSeq order. */
export async function fetchDaBatch(daURI: string, timeoutMs: number): Promise<DaBatch> {
  const parsed = daBatchSchema.safeParse(await getJson(daURI, timeoutMs));
  if (!parsed.success) throw new DaMalformedError({ url: daURI, reason: issueText(parsed.error) });
  const gateway = parsed.data.gateway;
  return {
    gateway,
    leaves: parsed.data.receipts.map((r): DaLeaf =>
      r.kind === "void"
        ? { kind: "void", gateway: r.gateway ?? gateway, callSeq: r.callSeq }
        : {
            kind: "served",
            receipt: {
              gateway: r.gateway ?? gateway, callSeq: r.callSeq, modelId: r.modelId, requestHash: r.requestHash,
              responseHash: r.responseHash, inputTokens: r.inputTokens, outputTokens: r.outputTokens, servedAt: r.servedAt,
            },
          },
    ),
  };
}

const signedReceiptSchema = z.object({
  receipt: z.object({ kind: z.enum(["served", "void"]).optional() }).passthrough(),
  receiptSignature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, { error: "receiptSignature: expected a 65-byte hex signature" }).nullable().optional(),
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
export async function fetchSignedReceipt(gatewayBase: string, callSeq: bigint, timeoutMs: number): Promise<SignedReceipt | undefined> {
  const url = `${gatewayBase}/receipts/${callSeq}`;
  const raw = await getJson(url, timeoutMs);
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
