/**
 * Equivocation proofs: the enclave signed receipt R for callSeq s (a user holds it, or the gateway
 * serves it at `/receipts/:callSeq`), but the settled batch holds a different leaf at s (another
 * receipt, or a void leaf). `buildEquivocationProof` checks that off-chain exactly as
 * `ProofSettlement._checkEquivocation` will, and returns the `challengeEquivocation` arguments;
 * `submitEquivocation` commits to them and reveals them a block later (sdk/challenge.ts). Success
 * rejects the batch, slashes the gateway's bond and, for an attested batch, its attesters' stakes.
 */
import type { Hex } from "viem";
import { challengeCommitment, newSalt } from "../sdk/challenge.js";
import { hashHeader, hashReceipt } from "../sdk/hashing.js";
import { buildTree, type MerkleTree } from "../sdk/merkle.js";
import { recoverReceiptSigner, settlementDomain, toCompactSignature, type CompactSignature } from "../sdk/eip712.js";
import { receiptLeaf, voidLeaf } from "../sdk/hashing.js";
import type { BatchHeader, Receipt } from "../sdk/types.js";
import type { ValidatorChain } from "./chain.js";
import type { DaLeaf, SignedReceipt } from "./da.js";
import { NotEquivocationError, TransactionRevertedError } from "./errors.js";

const ZERO32 = `0x${"00".repeat(32)}` as Hex;

export interface EquivocationProof {
  header: BatchHeader;
  signedReceipt: Receipt;
  receiptSig: CompactSignature;
  settledReceipt: Receipt;
  settledIsVoid: boolean;
  proof: Hex[];
}

/**
 * Builds the proof that `signed` contradicts the settled leaf at its callSeq. `leaves` are the
 * batch's published leaves; they must rebuild `header.root` (otherwise nothing can be proven from them).
 * Throws {@link NotEquivocationError} when the receipt does not prove equivocation.
 */
export async function buildEquivocationProof(p: {
  chainId: number;
  settlement: Hex;
  header: BatchHeader;
  leaves: readonly DaLeaf[];
  signed: SignedReceipt;
  tree?: MerkleTree | undefined;
}): Promise<EquivocationProof> {
  const { header: h, signed } = p;
  const r = signed.receipt;
  if (r.gateway.toLowerCase() !== h.gateway.toLowerCase())
    throw new NotEquivocationError({ reason: `receipt is from ${r.gateway}, batch from ${h.gateway}` });
  const index = r.callSeq - h.firstCallSeq;
  if (index < 0n || index >= BigInt(h.count))
    throw new NotEquivocationError({ reason: `callSeq ${r.callSeq} is outside batch ${h.batchSeq}` });
  const signer = await recoverReceiptSigner(settlementDomain(p.chainId, p.settlement), r, signed.signature);
  if (signer.toLowerCase() !== h.gateway.toLowerCase())
    throw new NotEquivocationError({ reason: `receipt signature recovers to ${signer}, not the gateway` });

  const tree =
    p.tree ??
    buildTree(p.leaves.map((l) => (l.kind === "served" ? receiptLeaf(l.receipt) : voidLeaf(l.gateway, l.callSeq))));
  if (tree.root !== h.root.toLowerCase())
    throw new NotEquivocationError({ reason: "the published leaves do not rebuild the settled root" });
  const settled = p.leaves[Number(index)]!;
  const settledIsVoid = settled.kind === "void";
  const settledReceipt: Receipt =
    settled.kind === "served"
      ? settled.receipt
      : {
          gateway: h.gateway,
          callSeq: r.callSeq,
          modelId: ZERO32,
          requestHash: ZERO32,
          responseHash: ZERO32,
          inputTokens: 0,
          outputTokens: 0,
          servedAt: 0n,
        };
  if (!settledIsVoid && receiptLeaf(settledReceipt) === receiptLeaf(r))
    throw new NotEquivocationError({ reason: `the settled leaf at callSeq ${r.callSeq} is the signed receipt` });
  return {
    header: h,
    signedReceipt: r,
    receiptSig: toCompactSignature(signed.signature),
    settledReceipt,
    settledIsVoid,
    proof: tree.proof(Number(index)),
  };
}

/**
 * Commits to the proof, then reveals it in `challengeEquivocation` (the commit's receipt is awaited,
 * so the reveal lands in a later block); names the attesting quorum when the batch is attested.
 * The attesters are read after the commit landed, and read again if a quorum attested the batch
 * between that read and the reveal (the reveal then reverts with the wrong attesters and the
 * commitment stays unused). Returns the reveal's transaction hash.
 */
export async function submitEquivocation(chain: ValidatorChain, e: EquivocationProof): Promise<Hex> {
  const salt = newSalt();
  await chain.send("commitChallenge", [
    challengeCommitment(chain.account.address, hashHeader(e.header), hashReceipt(e.signedReceipt), salt),
  ]);
  const evidence = {
    signedReceipt: e.signedReceipt,
    receiptSig: e.receiptSig,
    settledReceipt: e.settledReceipt,
    settledIsVoid: e.settledIsVoid,
    proof: e.proof,
  };
  for (let attempt = 0; ; attempt++) {
    const { attestationId } = await chain.batch(e.header.gateway, e.header.batchSeq);
    const attesters = attestationId !== 0 ? await chain.attesters(attestationId) : [];
    try {
      return await chain.send("challengeEquivocation", [e.header, evidence, salt, attesters]);
    } catch (err) {
      // A batch is attested once at most, so one retry with the new attesters suffices; any other
      // revert (already rejected, window closed, not a proof) is the caller's to handle.
      if (attempt > 0 || !(err instanceof TransactionRevertedError)) throw err;
      const after = await chain.batch(e.header.gateway, e.header.batchSeq);
      if (after.attestationId === attestationId) throw err;
    }
  }
}
