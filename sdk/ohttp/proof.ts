/**
 * The user's side of the proof path, with nothing but what the user holds: the encapsulated request
 * and response bytes of their own call.
 *
 *   keccak256(request), keccak256(response)
 *     → the gateway's receipt for that requestHash (/da/receipts/by-request/:requestHash)
 *     → check the receipt commits to both ciphertexts
 *     → ProofSettlement.verifyReceipt(header, receipt, proof) on-chain: the batch's status, or None
 */
import { keccak256, type Address, type Hex, type PublicClient } from "viem";
import { proofSettlementAbi } from "../abis.js";
import { batchHeaderSchema, receiptSchema, type BatchHeader, type Receipt } from "../types.js";
import { OhttpError } from "./keyConfig.js";

export const BATCH_STATUS = ["None", "Submitted", "Attested", "Finalized", "Rejected"] as const;
export type BatchStatusName = (typeof BATCH_STATUS)[number];

export interface CallReceipt {
  receipt: Receipt;
  /** Present once the receipt is in a sealed batch. */
  header?: BatchHeader;
  proof?: Hex[];
}

/** The gateway has no receipt for the call, or one that does not commit to the user's bytes. */
export class OhttpReceiptError extends OhttpError {
  override name = "OhttpReceiptError";
}

/**
 * Looks up the receipt of the call whose encapsulated request hashes to `requestHash` at the
 * gateway's DA endpoint (`daBaseUrl`, e.g. `https://gw.example/da`). Undefined when not (yet) there:
 * 404, or 409 while the receipt is recorded but not durable (the gateway signs nothing before).
 */
export async function fetchCallReceipt(daBaseUrl: string, requestHash: Hex, fetchImpl: typeof fetch = globalThis.fetch): Promise<CallReceipt | undefined> {
  const res = await fetchImpl(`${daBaseUrl.replace(/\/+$/, "")}/receipts/by-request/${requestHash}`);
  if (res.status === 404 || res.status === 409) return undefined;
  if (!res.ok) throw new OhttpReceiptError(`receipt lookup returned HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const v = (await res.json()) as { receipt: Record<string, unknown>; header?: unknown; proof?: Hex[] };
  const { gateway, callSeq, modelId, requestHash: rq, responseHash, inputTokens, outputTokens, servedAt } = v.receipt;
  const receipt = receiptSchema.parse({ gateway, callSeq, modelId, requestHash: rq, responseHash, inputTokens, outputTokens, servedAt });
  return {
    receipt,
    ...(v.header ? { header: batchHeaderSchema.parse(v.header) } : {}),
    ...(v.proof ? { proof: v.proof } : {}),
  };
}

export interface CallProofStatus {
  /** The receipt is proven a leaf of the batch stored on-chain (in any status, Rejected included). */
  included: boolean;
  /** The batch's status: Submitted (not yet checked), Attested (a validator quorum holds the receipts,
   *  challenge window running), Finalized (final) or Rejected; None when not included. */
  status: BatchStatusName;
  /** Only Finalized is final: the call is settled and can no longer be undone. */
  final: boolean;
  receipt: Receipt;
  header: BatchHeader;
}

/**
 * Checks on-chain that the user's call is settled: the receipt commits to keccak256 of both of the
 * user's ciphertexts, and `verifyReceipt` accepts it with its proof under the stored header.
 */
export async function verifyCallOnChain(
  client: Pick<PublicClient, "readContract">,
  settlement: Address,
  mine: { encapsulatedRequest: Uint8Array; encapsulatedResponse: Uint8Array },
  found: CallReceipt,
): Promise<CallProofStatus> {
  const { receipt, header, proof } = found;
  if (receipt.requestHash.toLowerCase() !== keccak256(mine.encapsulatedRequest)) throw new OhttpReceiptError("the receipt's requestHash is not keccak256 of your encapsulated request");
  if (receipt.responseHash.toLowerCase() !== keccak256(mine.encapsulatedResponse)) throw new OhttpReceiptError("the receipt's responseHash is not keccak256 of your encapsulated response");
  if (!header || !proof) throw new OhttpReceiptError(`receipt ${receipt.callSeq} is not in a sealed batch yet`);
  const code = await client.readContract({ address: settlement, abi: proofSettlementAbi, functionName: "verifyReceipt", args: [header, receipt, proof] });
  const status = BATCH_STATUS[Number(code)] ?? "None";
  return { included: status !== "None", status, final: status === "Finalized", receipt, header };
}
