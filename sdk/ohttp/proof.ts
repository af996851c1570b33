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
import { recoverReceiptSigner, type SettlementDomain } from "../eip712.js";
import { batchHeaderSchema, receiptSchema, type BatchHeader, type Receipt } from "../types.js";
import { OhttpError } from "./keyConfig.js";

export const BATCH_STATUS = ["None", "Submitted", "Attested", "Finalized", "Rejected"] as const;
export type BatchStatusName = (typeof BATCH_STATUS)[number];

export interface CallReceipt {
  receipt: Receipt;
  /**
   * The enclave's EIP-712 signature over `receipt` (domain: chainId + settlement), served only once
   * the receipt is durable. This is the user's evidence: with it, a settled leaf that differs at
   * the same callSeq is provable equivocation (`npx proofpath verify-receipt`).
   */
  receiptSignature?: Hex;
  /** Present once the receipt is in a sealed batch. */
  header?: BatchHeader;
  proof?: Hex[];
}

/** The gateway has no receipt for the call, or one that does not commit to the user's bytes. Not retryable. */
export class OhttpReceiptError extends OhttpError {
  override name = "OhttpReceiptError";
}

/** The receipt's signature is missing or is not the gateway key's under the settlement's EIP-712 domain. Not retryable. */
export class OhttpReceiptSignatureError extends OhttpReceiptError {
  override name = "OhttpReceiptSignatureError";
  constructor(
    message: string,
    readonly signer?: Address,
  ) {
    super(message);
  }
}

export interface FetchCallReceiptOptions {
  fetch?: typeof fetch;
  /**
   * The settlement's EIP-712 domain (`settlementDomain(chainId, ProofSettlement)`). When given, the
   * answer must carry a signature that recovers to `receipt.gateway` under it, or
   * `OhttpReceiptSignatureError` is thrown.
   */
  domain?: SettlementDomain;
  /** When given, the receipt must be this gateway's (the enclave key the client trusts). */
  gateway?: Address;
  signal?: AbortSignal;
}

/** One look-up: the receipt (durable and signed), or why not yet. */
export type CallReceiptLookup =
  | { state: "durable"; found: CallReceipt }
  /** 409 not_durable: recorded, its group commit has not landed; the gateway signs nothing before. */
  | { state: "not_durable"; retryAfterMs: number }
  /** 404: not recorded yet (the receipt is recorded once the answer is on the wire) or not remembered. */
  | { state: "not_found" };

const SIG_RE = /^0x[0-9a-fA-F]{130}$/;

/**
 * One look-up of the receipt of the call whose encapsulated request hashes to `requestHash` at the
 * gateway's DA endpoint (`daBaseUrl`, e.g. `https://gw.example/da`): `durable` with the signed
 * receipt, `not_durable` (409, with the gateway's Retry-After) or `not_found` (404).
 */
export async function lookupCallReceipt(
  daBaseUrl: string,
  requestHash: Hex,
  options: FetchCallReceiptOptions = {},
): Promise<CallReceiptLookup> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const res = await fetchImpl(`${daBaseUrl.replace(/\/+$/, "")}/receipts/by-request/${requestHash}`, {
    signal: options.signal,
    headers: { accept: "application/json" },
  });
  if (res.status === 404) {
    await res.body?.cancel();
    return { state: "not_found" };
  }
  if (res.status === 409) {
    const s = Number(res.headers.get("retry-after"));
    await res.body?.cancel();
    return { state: "not_durable", retryAfterMs: Number.isFinite(s) && s >= 0 ? s * 1000 : 1000 };
  }
  if (!res.ok)
    throw new OhttpReceiptError(`receipt lookup returned HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const v = (await res.json()) as {
    receipt: Record<string, unknown>;
    receiptSignature?: unknown;
    header?: unknown;
    proof?: Hex[];
  };
  if (typeof v?.receipt !== "object" || v.receipt === null)
    throw new OhttpReceiptError("receipt lookup answered without a receipt");
  const { gateway, callSeq, modelId, requestHash: rq, responseHash, inputTokens, outputTokens, servedAt } = v.receipt;
  const receipt = receiptSchema.parse({
    gateway,
    callSeq,
    modelId,
    requestHash: rq,
    responseHash,
    inputTokens,
    outputTokens,
    servedAt,
  });
  if (receipt.requestHash.toLowerCase() !== requestHash.toLowerCase())
    throw new OhttpReceiptError(`asked for the receipt of ${requestHash}, got the receipt of ${receipt.requestHash}`);
  if (options.gateway && receipt.gateway.toLowerCase() !== options.gateway.toLowerCase()) {
    throw new OhttpReceiptError(`the receipt is gateway ${receipt.gateway}'s, not ${options.gateway}'s`);
  }
  const sig =
    typeof v.receiptSignature === "string" && SIG_RE.test(v.receiptSignature) ? (v.receiptSignature as Hex) : undefined;
  if (v.receiptSignature != null && !sig)
    throw new OhttpReceiptSignatureError("receiptSignature is not a 65-byte signature (0x + 130 hex)");
  if (options.domain) {
    if (!sig) throw new OhttpReceiptSignatureError(`receipt ${receipt.callSeq} came without the enclave's signature`);
    let signer: Address | undefined;
    try {
      signer = await recoverReceiptSigner(options.domain, receipt, sig);
    } catch {
      /* unrecoverable: not the gateway's */
    }
    if (signer?.toLowerCase() !== receipt.gateway.toLowerCase()) {
      throw new OhttpReceiptSignatureError(
        `receipt ${receipt.callSeq}'s signature is not the gateway key's: it recovers to ${signer ?? "nothing"}, not ${receipt.gateway}`,
        signer,
      );
    }
  }
  return {
    state: "durable",
    found: {
      receipt,
      ...(sig ? { receiptSignature: sig } : {}),
      ...(v.header ? { header: batchHeaderSchema.parse(v.header) } : {}),
      ...(v.proof ? { proof: v.proof } : {}),
    },
  };
}

/**
 * Looks up the receipt of the call whose encapsulated request hashes to `requestHash` at the
 * gateway's DA endpoint (`daBaseUrl`, e.g. `https://gw.example/da`), with the enclave's signature.
 * Undefined when not (yet) there: 404, or 409 while the receipt is recorded but not durable (the
 * gateway signs nothing before) — "not yet"; {@link lookupCallReceipt} tells the two apart. With
 * `options.domain` the signature is checked (see {@link FetchCallReceiptOptions}).
 */
export async function fetchCallReceipt(
  daBaseUrl: string,
  requestHash: Hex,
  options: typeof fetch | FetchCallReceiptOptions = {},
): Promise<CallReceipt | undefined> {
  const o = typeof options === "function" ? { fetch: options } : options;
  const r = await lookupCallReceipt(daBaseUrl, requestHash, o);
  return r.state === "durable" ? r.found : undefined;
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
  if (receipt.requestHash.toLowerCase() !== keccak256(mine.encapsulatedRequest))
    throw new OhttpReceiptError("the receipt's requestHash is not keccak256 of your encapsulated request");
  if (receipt.responseHash.toLowerCase() !== keccak256(mine.encapsulatedResponse))
    throw new OhttpReceiptError("the receipt's responseHash is not keccak256 of your encapsulated response");
  if (!header || !proof) throw new OhttpReceiptError(`receipt ${receipt.callSeq} is not in a sealed batch yet`);
  const code = await client.readContract({
    address: settlement,
    abi: proofSettlementAbi,
    functionName: "verifyReceipt",
    args: [header, receipt, proof],
  });
  const status = BATCH_STATUS[Number(code)] ?? "None";
  return { included: status !== "None", status, final: status === "Finalized", receipt, header };
}
