/**
 * The checks of `proofpath verify-receipt`, for Node and browsers alike (viem + `fetch`, no Node
 * built-ins): the CLI (scripts/verifyReceipt.ts) and the dashboard's verify page
 * (indexer/src/api/verifyPage.ts) run this same code. A user checks their own call from the
 * enclave-signed receipt they hold, against the chain and, where needed, the batch the gateway
 * published at the header's daURI.
 *
 * Checks, in order (the first that fails decides):
 *   1. the input is a receipt with a 65-byte signature                       else bad-input
 *   2. the signature is the receipt's gateway key's, EIP-712 under
 *      (chainId, settlement)                                                  else bad-input
 *   3. that key is an enclave of this deployment                              else bad-input
 *   4. it was approved, unexpired, not deactivated or slashed, on a
 *      non-revoked measurement when the call was served                       else invalid
 *   5. a settled batch (BatchSubmitted, still the stored header) covers the
 *      callSeq                                                                else fraud when the
 *      account is closed below it (orphaned: the receipt itself is the proof), else pending: not
 *      sealed / not submitted
 *   6. the receipt is proven in that header (input proof, the gateway's, or
 *      one rebuilt from the DA) — verifyReceipt gives the status:
 *        Finalized → final; Submitted / Attested → pending; Rejected → rejected
 *   7. not proven: the DA's leaf at that callSeq differs from the signed
 *      receipt → fraud (with the evidence a challenge needs); DA unusable →
 *      inconclusive
 * A signature that is not the gateway's is bad input, not fraud: anyone can write such a file, so it
 * proves nothing against the gateway and nothing can be checked for it.
 */
import { BaseError } from "./errors.js";
import type { Address, Hex, PublicClient } from "viem";
import { proofSettlementAbi } from "./abis.js";
import { hashHeader, receiptLeaf } from "./hashing.js";
import {
  createReadClient,
  isSignedByGateway,
  leafOfBatchLeaf,
  pickReceipt,
  type BatchLeaf,
  type BatchStatus,
  type KeyAt,
  type OnChainBatch,
  type ReadClient,
  type ReadDeployment,
} from "./readClient.js";
import { batchHeaderSchema, hex32Schema, type BatchHeader, type Receipt } from "./types.js";

/** Verdicts and the CLI's exit code of each. */
export const VERDICT_EXIT = {
  final: 0,
  fraud: 1,
  rejected: 1,
  invalid: 1,
  "bad-input": 2,
  pending: 3,
  inconclusive: 4,
} as const;
export type Verdict = keyof typeof VERDICT_EXIT;

export interface VerifyReceiptParameters {
  client: PublicClient;
  deployment: ReadDeployment & { chainId: number };
  /** The gateway's DA base, asked for the header and proof when the input has none. */
  da?: string;
  /** For DA requests (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

export interface VerifyReport {
  verdict: Verdict;
  reason: string;
  waitingFor?: "sealing" | "submission" | "attestation" | "finalization" | "window";
  receipt?: Receipt;
  checks: {
    signature?: { ok: boolean; signer?: Address; domain?: { chainId: number; settlement: Address } };
    key?: KeyAt;
    batch?: {
      batchSeq: string;
      firstCallSeq: string;
      count: number;
      headerHash: Hex;
      tx: Hex;
      daURI: string;
      status: BatchStatus;
      windowEnd: string;
      attestationId: number;
    };
    inclusion?: { proven: boolean; source?: "input" | "gateway" | "da"; settledLeaf?: Hex; receiptLeaf?: Hex };
  };
}

/** What a challenge of a fraud verdict needs (the CLI turns it into commit + reveal calldata). */
export type FraudEvidence = EquivocationEvidence | OrphanEvidence;

/** The batch settled at the receipt's callSeq holds another leaf: `challengeEquivocation`. */
export interface EquivocationEvidence {
  kind: "equivocation";
  chainId: number;
  settlement: Address;
  header: BatchHeader;
  headerHash: Hex;
  leaves: BatchLeaf[];
  settledLeaf: BatchLeaf;
  onchain: OnChainBatch;
  nowSec: bigint;
  signature: Hex;
  readClient: ReadClient;
}

/** The account closed below the receipt's callSeq, so nothing will settle it: `challengeOrphanedReceipt`. */
export interface OrphanEvidence {
  kind: "orphaned";
  chainId: number;
  settlement: Address;
  /** The closed account's end: callSeqs below it are settled. */
  nextCallSeq: bigint;
  /** The key's bond is gone (taken by another proof, or withdrawn): nothing is left to win. */
  slashed: boolean;
  signature: Hex;
}

export interface VerifyReceiptReturnType {
  report: VerifyReport;
  /** Set on a fraud verdict only. */
  fraud?: FraudEvidence;
}

/** The RPC's chain is not the deployment's: a usage error, not a verdict. Not retryable. */
export class ChainMismatchError extends BaseError {
  override name = "ChainMismatchError";
}

export interface VerifyInput {
  receipt: Receipt;
  signature: Hex;
  header?: BatchHeader;
  proof?: Hex[];
  batchSeq?: bigint;
}

/** The receipt file is not a receipt (the verdict `bad-input`). Not retryable. */
export class BadReceiptInputError extends BaseError {
  override name = "BadReceiptInputError";
}

/** Parses the JSON a user holds: `receipt` + `receiptSignature`, optionally `header`, `proof`, `batchSeq`. */
export function parseReceiptInput(text: string): VerifyInput {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BadReceiptInputError(`not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new BadReceiptInputError('expected a JSON object with "receipt" and "receiptSignature"');
  const o = raw as Record<string, unknown>;
  if (typeof o.receipt !== "object" || o.receipt === null) throw new BadReceiptInputError('missing "receipt"');
  if ((o.receipt as { kind?: unknown }).kind === "void")
    throw new BadReceiptInputError("the receipt is void: that callSeq was never served");
  let receipt: Receipt;
  try {
    receipt = pickReceipt(o.receipt);
  } catch (e) {
    const issue = (e as { issues?: { message: string }[] }).issues?.[0]?.message;
    throw new BadReceiptInputError(`receipt: ${issue ?? (e as Error).message}`);
  }
  const sig = o.receiptSignature ?? o.signature;
  if (typeof sig !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(sig))
    throw new BadReceiptInputError(
      'missing "receiptSignature" (the enclave\'s 65-byte EIP-712 signature, 0x + 130 hex)',
    );
  const input: VerifyInput = { receipt, signature: sig as Hex };
  if (o.header !== undefined && o.header !== null) {
    const h = batchHeaderSchema.safeParse(o.header);
    if (!h.success) throw new BadReceiptInputError(`header: ${h.error.issues[0]!.message}`);
    input.header = h.data;
  }
  if (o.proof !== undefined && o.proof !== null) {
    if (!Array.isArray(o.proof)) throw new BadReceiptInputError("proof: expected an array of bytes32");
    try {
      input.proof = o.proof.map((p) => hex32Schema("proof").parse(p));
    } catch {
      throw new BadReceiptInputError("proof: expected an array of bytes32 hex strings");
    }
  }
  if (typeof o.batchSeq === "number" || typeof o.batchSeq === "string") {
    try {
      input.batchSeq = BigInt(o.batchSeq);
    } catch {
      /* a hint only */
    }
  }
  return input;
}

export const isoOfUnixSec = (unixSec: bigint) => new Date(Number(unixSec) * 1000).toISOString();

function statusVerdict(
  r: VerifyReport,
  status: BatchStatus,
  onchain: OnChainBatch,
  window: number,
  nowSec: bigint,
): VerifyReport {
  const b = r.checks.batch!.batchSeq;
  switch (status) {
    case "Finalized":
      return { ...r, verdict: "final", reason: `batch ${b} is Finalized: the call is settled for good` };
    case "Submitted":
      return {
        ...r,
        verdict: "pending",
        waitingFor: "attestation",
        reason: `batch ${b} is Submitted: waiting for a validator quorum to attest it (then a ${window} s challenge window)`,
      };
    case "Attested":
      if (onchain.windowEnd > nowSec)
        return {
          ...r,
          verdict: "pending",
          waitingFor: "window",
          reason: `batch ${b} is Attested: waiting for the challenge window to end at ${isoOfUnixSec(onchain.windowEnd)}, then for anyone to finalize it`,
        };
      return {
        ...r,
        verdict: "pending",
        waitingFor: "finalization",
        reason: `batch ${b} is Attested and its window ended at ${isoOfUnixSec(onchain.windowEnd)}: waiting for anyone to finalize it`,
      };
    case "Rejected":
      return { ...r, verdict: "rejected", reason: `batch ${b} was Rejected: this call will never be final` };
    default:
      return { ...r, verdict: "inconclusive", reason: `batch ${b} has no status on-chain` };
  }
}

/**
 * Runs every check on `text` (the receipt JSON) against the chain and returns the verdict with its
 * evidence. Throws {@link ChainMismatchError} when the client's chain is not the deployment's; any
 * other throw is a chain or network failure mid-way, which decides nothing (treat as inconclusive).
 *
 * @example
 * const { report } = await verifyReceipt(text, { client, deployment });
 * report.verdict; // "final" | "pending" | "fraud" | ...
 */
export async function verifyReceipt(text: string, o: VerifyReceiptParameters): Promise<VerifyReceiptReturnType> {
  let input: VerifyInput;
  try {
    input = parseReceiptInput(text);
  } catch (e) {
    if (e instanceof BadReceiptInputError) return { report: { verdict: "bad-input", reason: e.message, checks: {} } };
    throw e;
  }
  const { receipt } = input;
  const pub = o.client;
  const rc: ReadClient = createReadClient({
    client: pub,
    deployment: o.deployment,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const r: VerifyReport = { verdict: "inconclusive", reason: "", receipt, checks: {} };
  const done = (report: VerifyReport): VerifyReceiptReturnType => ({ report });
  let chainId: number;
  try {
    chainId = await pub.getChainId();
  } catch (e) {
    return done({ ...r, reason: `cannot reach the chain: ${(e as Error).message.split("\n")[0]}` });
  }
  if (chainId !== o.deployment.chainId)
    throw new ChainMismatchError(`the RPC is chain ${chainId}, the deployment is on chain ${o.deployment.chainId}`);

  // 2. The enclave's signature.
  const domain = await rc.domain();
  const sig = await isSignedByGateway(domain, receipt, input.signature);
  r.checks.signature = {
    ok: sig.ok,
    ...(sig.signer ? { signer: sig.signer } : {}),
    domain: { chainId, settlement: rc.settlement },
  };
  if (!sig.ok) {
    return done({
      ...r,
      verdict: "bad-input",
      reason: `the signature is not the gateway key's: it recovers to ${sig.signer ?? "nothing"}, not ${receipt.gateway} (EIP-712, chain ${chainId}, settlement ${rc.settlement})`,
    });
  }

  // 3-4. The key, when the call was served.
  const key = await rc.keyAt(receipt.gateway, receipt.servedAt);
  r.checks.key = key;
  if (!key.registered) return done({ ...r, verdict: "bad-input", reason: key.reason! });
  if (!key.ok) return done({ ...r, verdict: "invalid", reason: key.reason! });

  // 5. The settled batch of this callSeq (its header from the chain, whatever the input claims).
  let gw: Awaited<ReturnType<ReadClient["fetchReceipt"]>>;
  let gwError: string | undefined;
  if (o.da && (!input.header || !input.proof)) {
    try {
      gw = await rc.fetchReceipt(o.da, receipt.callSeq);
    } catch (e) {
      gwError = (e as Error).message;
    }
  }
  const hint = input.header?.batchSeq ?? input.batchSeq ?? gw?.batchSeq ?? gw?.header?.batchSeq;
  let settled = await rc.settledBatchOf(receipt.gateway, receipt.callSeq, hint);
  if (!settled && hint !== undefined) settled = await rc.settledBatchOf(receipt.gateway, receipt.callSeq);
  if (!settled) {
    const { nextCallSeq } = await rc.nextSeqs(receipt.gateway);
    if (receipt.callSeq < nextCallSeq)
      return done({
        ...r,
        reason: `callSeq ${receipt.callSeq} is below the next settled callSeq ${nextCallSeq} but no stored batch covers it (a reorg?)`,
      });
    // A closed account settles nothing more: the key signed this call and it never will be.
    const account = await rc.accountState(receipt.gateway);
    if (account.closed)
      return {
        report: {
          ...r,
          verdict: "fraud",
          reason:
            `the gateway's account is closed at callSeq ${nextCallSeq}: callSeq ${receipt.callSeq}, which its key signed, will never be settled, and the receipt itself proves it` +
            (account.slashed
              ? " (the key's bond was already taken by another proof)"
              : account.bond === 0n
                ? " (but its bond was already withdrawn: there is nothing left to take)"
                : " (the key's bond pays)"),
        },
        fraud: {
          kind: "orphaned",
          chainId,
          settlement: rc.settlement,
          nextCallSeq,
          slashed: account.slashed || account.bond === 0n,
          signature: input.signature,
        },
      };
    const sealed = input.header ?? gw?.header;
    if (sealed)
      return done({
        ...r,
        verdict: "pending",
        waitingFor: "submission",
        reason: `sealed by the gateway into batch ${sealed.batchSeq}, not settled on-chain yet (the chain expects callSeq ${nextCallSeq} next): waiting for the gateway to submit it`,
      });
    const seen = gw ? ` (the gateway reports it ${gw.status})` : gwError ? ` (the gateway's DA: ${gwError})` : "";
    return done({
      ...r,
      verdict: "pending",
      waitingFor: "sealing",
      reason: `not in a settled batch yet${seen}: the chain expects callSeq ${nextCallSeq} next; waiting for the gateway to seal and submit it`,
    });
  }
  const { header, headerHash } = settled;
  const onchain = await rc.batch(receipt.gateway, header.batchSeq);
  r.checks.batch = {
    batchSeq: String(header.batchSeq),
    firstCallSeq: String(header.firstCallSeq),
    count: header.count,
    headerHash,
    tx: settled.txHash,
    daURI: header.daURI,
    status: onchain.status,
    windowEnd: String(onchain.windowEnd),
    attestationId: onchain.attestationId,
  };
  const window = Number(
    await pub.readContract({ address: rc.settlement, abi: proofSettlementAbi, functionName: "challengeWindow" }),
  );
  const nowSec = (await pub.getBlock()).timestamp;

  // 6. Proven in the settled header? Proofs from the input, then the gateway's.
  const candidates: { source: "input" | "gateway"; proof: Hex[] }[] = [];
  if (input.proof && (!input.header || hashHeader(input.header) === headerHash))
    candidates.push({ source: "input", proof: input.proof });
  if (gw?.proof && (!gw.header || hashHeader(gw.header) === headerHash))
    candidates.push({ source: "gateway", proof: gw.proof });
  for (const c of candidates) {
    const status = await rc.receiptStatus(header, receipt, c.proof);
    if (status !== "None") {
      r.checks.inclusion = { proven: true, source: c.source };
      return done(statusVerdict(r, status, onchain, window, nowSec));
    }
  }

  // 7. Not proven by what we were given: ask the batch's own data what is settled at this callSeq.
  let leaves: BatchLeaf[];
  let proof: Hex[];
  let settledLeaf: BatchLeaf;
  try {
    ({ leaves, proof, leaf: settledLeaf } = await rc.proofFromDa(header, receipt.callSeq));
  } catch (e) {
    r.checks.inclusion = { proven: false };
    return done({
      ...r,
      reason: `the receipt is not proven in settled batch ${header.batchSeq} by the proof given, and its data cannot be used to tell what is settled at callSeq ${receipt.callSeq}: ${(e as Error).message}`,
    });
  }
  const mine = receiptLeaf(receipt);
  const theirs = leafOfBatchLeaf(settledLeaf);
  if (theirs === mine) {
    const status = await rc.receiptStatus(header, receipt, proof);
    r.checks.inclusion = { proven: status !== "None", source: "da" };
    if (status === "None")
      return done({ ...r, reason: `the batch's data proves the receipt, but verifyReceipt does not accept it` });
    return done(statusVerdict(r, status, onchain, window, nowSec));
  }

  // Fraud: the enclave signed `receipt` for this callSeq and settled another leaf.
  r.checks.inclusion = { proven: false, source: "da", settledLeaf: theirs, receiptLeaf: mine };
  const what = settledLeaf.kind === "void" ? "a void leaf" : "a different receipt";
  return {
    report: {
      ...r,
      verdict: "fraud",
      reason: `batch ${header.batchSeq} (${onchain.status}) settles ${what} at callSeq ${receipt.callSeq}, not the receipt the enclave signed: the gateway equivocated`,
    },
    fraud: {
      kind: "equivocation",
      chainId,
      settlement: rc.settlement,
      header,
      headerHash,
      leaves,
      settledLeaf,
      onchain,
      nowSec,
      signature: input.signature,
      readClient: rc,
    },
  };
}
