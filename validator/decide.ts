/**
 * Decides a validator's verdict on one submitted batch: fetch its leaves from the daURI, recompute
 * everything (verifyBatch.ts) under the fee schedule in force when it was submitted, and spot-check a few enclave-signed
 * receipts at the gateway for equivocation. Receipts that stay unavailable past the DA deadline
 * (counted from the on-chain submission time) make the verdict a rejection.
 */
import { encodePacked, keccak256, type Address, type Hex } from "viem";
import type { Logger } from "pino";
import type { BatchHeader } from "../sdk/types.js";
import type { ValidatorChain } from "./chain.js";
import type { BoundedGet } from "./boundedGet.js";
import { fetchDaBatch, fetchSignedReceipt, gatewayBaseOf, type DaBatch } from "./da.js";
import {
  DaFetchParkedError,
  DaMalformedError,
  DaUnavailableError,
  DaUriInvalidError,
  NotEquivocationError,
} from "./errors.js";
import { buildEquivocationProof, type EquivocationProof } from "./equivocation.js";
import type { Verdict } from "./signingRecord.js";
import { verifyBatch, type BatchCheck } from "./verifyBatch.js";

export type Decision =
  | { kind: "verdict"; verdict: Verdict; reason: string; da?: DaBatch; check?: BatchCheck }
  /** A signed receipt contradicts the batch: challenge instead of voting. */
  | { kind: "equivocation"; proof: EquivocationProof }
  /** Receipts unavailable, deadline not reached: retry, at the latest at `deadlineAt` (unix seconds). */
  | { kind: "wait"; error: DaUnavailableError | DaMalformedError; deadlineAt: number };

export interface DecideParams {
  chain: ValidatorChain;
  chainId: number;
  self: Address;
  header: BatchHeader;
  headerHash: Hex;
  submittedAt: bigint;
  /** Block of the batch's `BatchSubmitted` log: its fee is checked against the schedule in force there. */
  submittedBlock: bigint;
  nowSec: number;
  daDeadlineSec: number;
  /** The validator's bounded GET (boundedGet.ts). */
  http: BoundedGet;
  /** Byte budget of this batch's DA body (da.ts `daBudget`). */
  daMaxBytes: number;
  /** Why the header's daURI can never be fetched (e.g. not valid UTF-8): rejected at once. */
  daUriInvalid?: string | undefined;
  /** A fetch of this batch was in progress when the process died (state.ts): never fetched again. */
  parked?: boolean;
  receiptSamples: number;
  log: Logger;
}

/** Indices of up to `n` served leaves, chosen per (batch, validator) so validators check different ones. */
export function sampleIndices(headerHash: Hex, self: Address, servedIdx: readonly number[], n: number): number[] {
  if (n >= servedIdx.length) return [...servedIdx];
  const pool = [...servedIdx];
  const out: number[] = [];
  let seed = BigInt(keccak256(encodePacked(["bytes32", "address"], [headerHash, self])));
  while (out.length < n) {
    const j = Number(seed % BigInt(pool.length));
    out.push(pool.splice(j, 1)[0]!);
    seed = BigInt(keccak256(encodePacked(["uint256"], [seed])));
  }
  return out;
}

export async function decide(p: DecideParams): Promise<Decision> {
  const h = p.header;
  // The header hash binds the daURI: one that can never be fetched is a rejection now, by every validator.
  if (p.daUriInvalid !== undefined) return { kind: "verdict", verdict: 2, reason: "da_uri_invalid" };
  const deadlineAt = Number(p.submittedAt) + p.daDeadlineSec;
  if (p.parked) {
    // Fetching it again could kill the process again: it is treated as withheld.
    if (p.nowSec >= deadlineAt) return { kind: "verdict", verdict: 2, reason: "da_fetch_crashed" };
    return {
      kind: "wait",
      error: new DaFetchParkedError({
        url: h.daURI,
        reason: "a fetch was in progress when the validator died; not fetched again",
      }),
      deadlineAt,
    };
  }
  let da: DaBatch;
  try {
    da = await fetchDaBatch(p.http, h.daURI, { count: h.count, maxBytes: p.daMaxBytes });
  } catch (e) {
    if (e instanceof DaUriInvalidError) return { kind: "verdict", verdict: 2, reason: "da_uri_invalid" };
    if (!(e instanceof DaUnavailableError || e instanceof DaMalformedError)) throw e;
    if (p.nowSec >= deadlineAt) return { kind: "verdict", verdict: 2, reason: "da_unavailable" };
    return { kind: "wait", error: e, deadlineAt };
  }
  // The schedule `submitBatch` priced the header with, not today's: a fee change after submission
  // must not turn an honest batch in flight into a rejection (issue 17, attack 4).
  const { rate, modelRates } = await p.chain.feeScheduleAtSubmission({
    headerHash: p.headerHash,
    blockNumber: p.submittedBlock,
    modelIds: h.usage.map((u) => u.modelId),
  });
  const check = verifyBatch({ header: h, leaves: da.leaves, rate, modelRates });
  if (!check.ok) {
    p.log.warn(
      { gateway: h.gateway, batchSeq: String(h.batchSeq), mismatches: check.mismatches },
      "batch contradicts its receipts: rejecting",
    );
    return { kind: "verdict", verdict: 2, reason: check.mismatches.map((m) => m.what).join(","), da, check };
  }

  const base = p.receiptSamples > 0 ? gatewayBaseOf(h.daURI) : undefined;
  if (base) {
    const served = da.leaves.flatMap((l, i) => (l.kind === "served" ? [i] : []));
    for (const i of sampleIndices(p.headerHash, p.self, served, p.receiptSamples)) {
      const callSeq = h.firstCallSeq + BigInt(i);
      let signed;
      try {
        signed = await fetchSignedReceipt(p.http, base, callSeq);
      } catch (e) {
        // The receipts endpoint is a spot check, not part of the DA promise: its absence is no verdict.
        p.log.debug({ callSeq: String(callSeq), err: (e as Error).message }, "receipt spot check failed");
        continue;
      }
      if (!signed) continue;
      try {
        const proof = await buildEquivocationProof({
          chainId: p.chainId,
          settlement: p.chain.settlement,
          header: h,
          leaves: da.leaves,
          signed,
          tree: check.tree,
        });
        return { kind: "equivocation", proof };
      } catch (e) {
        if (!(e instanceof NotEquivocationError)) throw e;
      }
    }
  }
  return { kind: "verdict", verdict: 1, reason: "verified", da, check };
}
