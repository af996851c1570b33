/**
 * Quorum aggregation, "first to reach k".
 *
 * Design: every validator signs each batch on its own, a verdict over the one-element list
 * `[headerHash]`, and serves it at `GET /verdicts/:headerHash`. Each validator polls its peers for
 * their signature on the batches it has signed itself; any validator that holds k signatures for
 * its own verdict (checked by recovering each signer and matching the on-chain validator set)
 * sorts them by signer and submits `attest([batch], sigs)` or `reject([header], sigs)`.
 *
 * Why per-batch signatures: a quorum signature covers the exact list in the digest, so signatures
 * over one-element lists can always be combined, whatever subset of batches each validator has
 * seen, and no round of proposals (with its leader, timeouts and view changes) is needed. The
 * price is one transaction per batch: k signature checks are not amortized over many batches the
 * way one `attest` over 16 header hashes amortizes them (snapshots/gas.json). Future work: a
 * round in which the rank-0 validator proposes the list of all batches it can attest, peers sign
 * that list if they would sign each element, and one `attest` covers them; the per-batch
 * signatures stay as the fallback.
 *
 * To keep k validators from all sending the same transaction, each waits `rank × stagger` after
 * reaching k, where rank orders the validator set by keccak(headerHash ‖ validator) (a different
 * leader per batch), then re-reads the batch status. A lost race costs at most a simulation: an
 * already attested/rejected batch is a status to observe, not an error.
 */
import { encodePacked, keccak256, recoverAddress, type Address, type Hex } from "viem";
import { z } from "zod";
import { fromCompactSignature } from "../sdk/eip712.js";
import { sortBySigner, verdictDigest, type CompactSig } from "../sdk/approvals.js";
import { addressSchema } from "../sdk/types.js";
import type { Verdict } from "./signingRecord.js";

const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/)
  .transform((s) => s as Hex);
export const verdictResponseSchema = z.object({
  verdict: z.union([z.literal(1), z.literal(2)]),
  signer: addressSchema("signer"),
  sig: z.object({ r: hex32, vs: hex32 }),
});
export type VerdictResponse = z.infer<typeof verdictResponseSchema>;

/** A peer's signature for `headerHash`, or undefined when it has none (404) or answered nonsense. */
export async function fetchPeerVerdict(
  peer: string,
  headerHash: Hex,
  timeoutMs: number,
): Promise<VerdictResponse | undefined> {
  const res = await fetch(`${peer.replace(/\/+$/, "")}/verdicts/${headerHash}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) throw new Error(`peer ${peer} answered HTTP ${res.status}`);
  const parsed = verdictResponseSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`peer ${peer} sent a malformed verdict: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** The signer of a verdict signature over `[headerHash]` (what the contract will recover). */
export async function recoverVerdictSigner(p: {
  chainId: number;
  settlement: Address;
  verdict: Verdict;
  headerHash: Hex;
  sig: CompactSig;
}): Promise<Address> {
  const digest = verdictDigest(p.chainId, p.settlement, p.verdict, [p.headerHash]);
  return recoverAddress({ hash: digest, signature: fromCompactSignature(p.sig) });
}

/**
 * Keeps the signatures for `verdict` whose recovered signer is a distinct member of `validators`,
 * sorted ascending by signer (the order `ValidatorSet.verifyQuorum` requires).
 */
export async function quorumFrom(p: {
  chainId: number;
  settlement: Address;
  verdict: Verdict;
  headerHash: Hex;
  validators: readonly Address[];
  candidates: readonly { signer: Address; verdict: Verdict; sig: CompactSig }[];
}): Promise<{ signers: Address[]; sigs: CompactSig[] }> {
  const members = new Set(p.validators.map((v) => v.toLowerCase()));
  const seen = new Map<string, { signer: Address; sig: CompactSig }>();
  for (const c of p.candidates) {
    if (c.verdict !== p.verdict) continue;
    let signer: Address;
    try {
      signer = await recoverVerdictSigner({
        chainId: p.chainId,
        settlement: p.settlement,
        verdict: p.verdict,
        headerHash: p.headerHash,
        sig: c.sig,
      });
    } catch {
      continue;
    }
    // The claimed signer must be the real one, and a validator: a peer cannot vouch for others.
    if (signer.toLowerCase() !== c.signer.toLowerCase() || !members.has(signer.toLowerCase())) continue;
    seen.set(signer.toLowerCase(), { signer, sig: c.sig });
  }
  const pairs = [...seen.values()];
  const sorted = [...pairs].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
  return { signers: sorted.map((x) => x.signer), sigs: sortBySigner(pairs) };
}

/** This validator's position in the submission order for `headerHash` (0 = goes first). */
export function submitRank(headerHash: Hex, self: Address, validators: readonly Address[]): number {
  const key = (v: Address) => BigInt(keccak256(encodePacked(["bytes32", "address"], [headerHash, v])));
  const order = [...validators].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const i = order.findIndex((v) => v.toLowerCase() === self.toLowerCase());
  return i < 0 ? validators.length : i;
}
