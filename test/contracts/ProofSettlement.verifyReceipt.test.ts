/**
 * ProofSettlement.verifyReceipt: what a user or auditor asks, "was my call settled?". v2 answers with the
 * batch's status (only Finalized is final) for a receipt of the header's gateway, inside its callSeq
 * range, proven into the stored root; None (0) otherwise. The leaf is always hashed on-chain from the
 * receipt's fields.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { concat, getAddress, keccak256, toHex, type Hex } from "viem";
import { processProof } from "../../sdk/merkle.js";
import { receiptLeaf } from "../../sdk/index.js";
import {
  ENCLAVE_A,
  ENCLAVE_B,
  MEASUREMENT_B,
  PARAMS,
  approveEnclave,
  Status,
  attest,
  baseFixture,
  finalize,
  randomReceipts,
  registerEnclave,
  reject,
  submitBatch,
  windowEnd,
  type Batch,
  type Ctx,
  type Receipt,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);

/** Two consecutive batches of A (callSeqs 0..7 and 8..11). */
async function twoBatchesFixture(): Promise<{ ctx: Ctx; b0: Batch; b1: Batch }> {
  const ctx = await baseFixture(viem);
  const b0 = await submitBatch(ctx, { count: 8 });
  const b1 = await submitBatch(ctx, { count: 4 });
  return { ctx, b0, b1 };
}

const verify = (ctx: Ctx, b: Batch, r: Receipt, proof: readonly Hex[]) =>
  ctx.settlement.read.verifyReceipt([b.header, r, proof]);

describe("ProofSettlement.verifyReceipt", () => {
  it("test_verifyReceipt_batchSubmittedAttestedFinalized_everyReceiptSubmittedThenAttestedThenFinalized", async () => {
    const { ctx, b0 } = await loadFixture(twoBatchesFixture);
    const check = async (status: number) => {
      for (let i = 0; i < b0.receipts.length; i++)
        assert.equal(await verify(ctx, b0, b0.receipts[i]!, b0.tree.proof(i)), status, `receipt ${i}`);
    };
    await check(Status.Submitted);
    await attest(ctx, [b0]);
    await check(Status.Attested);
    await networkHelpers.time.increaseTo(await windowEnd(ctx, b0));
    await finalize(ctx, [b0]);
    await check(Status.Finalized);
  });

  it("test_verifyReceipt_anyReceiptFieldTampered_none", async () => {
    const { ctx, b0 } = await loadFixture(twoBatchesFixture);
    const r = b0.receipts[5]!;
    const proof = b0.tree.proof(5);
    const tampered: Receipt[] = [
      { ...r, modelId: keccak256(toHex("another model")) },
      { ...r, requestHash: keccak256(toHex("another request")) },
      { ...r, responseHash: keccak256(toHex("another response")) },
      { ...r, inputTokens: r.inputTokens + 1 },
      { ...r, outputTokens: r.outputTokens - 1 },
      { ...r, servedAt: r.servedAt + 1n },
      { ...r, callSeq: r.callSeq + 1n },
    ];
    for (const t of tampered)
      assert.equal(
        await verify(ctx, b0, t, proof),
        Status.None,
        JSON.stringify(t, (_, v) => (typeof v === "bigint" ? String(v) : v)),
      );
  });

  it("test_verifyReceipt_wrongTruncatedPaddedOrEmptyProof_none", async () => {
    const { ctx, b0 } = await loadFixture(twoBatchesFixture);
    const r = b0.receipts[1]!;
    const proof = b0.tree.proof(1);
    assert.equal(await verify(ctx, b0, r, b0.tree.proof(2)), Status.None);
    assert.equal(await verify(ctx, b0, r, proof.slice(0, -1)), Status.None);
    assert.equal(await verify(ctx, b0, r, [...proof, keccak256(toHex("extra"))]), Status.None);
    assert.equal(await verify(ctx, b0, r, []), Status.None);
  });

  it("test_verifyReceipt_receiptOutsideHeaderCallSeqRange_noneEvenWhenLeafInTree", async () => {
    const { ctx, b0, b1 } = await loadFixture(twoBatchesFixture);
    // A real receipt of batch 1 checked against batch 0's header, and the other way round.
    assert.equal(await verify(ctx, b0, b1.receipts[0]!, b1.tree.proof(0)), Status.None);
    assert.equal(await verify(ctx, b1, b0.receipts[7]!, b0.tree.proof(7)), Status.None);
    // A batch whose tree holds an extra leaf beyond `count`: that leaf is proven into the root but not settled.
    const receipts = randomReceipts(A, 12n, 4);
    const beyond = { ...receipts[3]!, callSeq: 16n };
    const b2 = await submitBatch(ctx, { receipts: [...receipts.slice(0, 3), beyond], count: 4 });
    assert.equal(processProof(receiptLeaf(beyond), b2.tree.proof(3)), b2.header.root);
    assert.equal(await verify(ctx, b2, beyond, b2.tree.proof(3)), Status.None);
  });

  it("test_verifyReceipt_receiptOfAnotherGateway_noneEvenWhenLeafInTree", async () => {
    const { ctx, b0 } = await loadFixture(twoBatchesFixture);
    await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
    await approveEnclave(ctx, ENCLAVE_B);
    await ctx.settlement.write.deposit([ENCLAVE_B.address, PARAMS.deposit], { account: ctx.operator });
    const bB = await submitBatch(ctx, { key: ENCLAVE_B, count: 4 });
    // B's real receipt: true under B's header, false under A's.
    assert.equal(await verify(ctx, bB, bB.receipts[0]!, bB.tree.proof(0)), Status.Submitted);
    assert.equal(await verify(ctx, b0, bB.receipts[0]!, bB.tree.proof(0)), Status.None);
    // A settles a leaf naming B as gateway: it is in A's root, yet it does not count as B's (or A's) call.
    const receipts = randomReceipts(A, 12n, 4);
    const framed = { ...receipts[2]!, gateway: getAddress(ENCLAVE_B.address) };
    receipts[2] = framed;
    const b2 = await submitBatch(ctx, { receipts });
    assert.equal(processProof(receiptLeaf(framed), b2.tree.proof(2)), b2.header.root);
    assert.equal(await verify(ctx, b2, framed, b2.tree.proof(2)), Status.None);
  });

  it("test_verifyReceipt_batchRejected_rejected", async () => {
    const { ctx, b0 } = await loadFixture(twoBatchesFixture);
    await reject(ctx, [b0]);
    assert.equal(await verify(ctx, b0, b0.receipts[0]!, b0.tree.proof(0)), Status.Rejected);
    assert.equal(await verify(ctx, b0, b0.receipts[0]!, b0.tree.proof(1)), Status.None);
  });

  it("test_verifyReceipt_headerNeverStored_none", async () => {
    const { ctx, b0, b1 } = await loadFixture(twoBatchesFixture);
    const r = b0.receipts[0]!;
    assert.equal(
      await verify(ctx, { ...b0, header: { ...b0.header, daURI: "https://elsewhere" } }, r, b0.tree.proof(0)),
      Status.None,
    );
    assert.equal(
      await verify(ctx, { ...b0, header: { ...b0.header, batchSeq: 2n } }, r, b0.tree.proof(0)),
      Status.None,
    );
    // Batch 1's header with batch 0's seq: the stored slot is batch 0's, the hash does not match.
    assert.equal(
      await verify(ctx, { ...b1, header: { ...b1.header, batchSeq: 0n } }, b1.receipts[0]!, b1.tree.proof(0)),
      Status.None,
    );
  });

  it("test_verifyReceipt_innerNodeAsLeaf_passesRawMerkleProofButNone", async () => {
    const { ctx, b0 } = await loadFixture(twoBatchesFixture);
    const harness = await viem.deployContract("HashingHarness");
    const [l0, l1] = [b0.tree.leaf(0), b0.tree.leaf(1)];
    // Leaves 0 and 1 are siblings; their parent is keccak256 of the 64 sorted bytes.
    const [lo, hi] = BigInt(l0) < BigInt(l1) ? [l0, l1] : [l1, l0];
    const inner = keccak256(concat([lo, hi]));
    const shortened = b0.tree.proof(0).slice(1);
    assert.equal(processProof(inner, shortened), b0.header.root);
    // Plain OpenZeppelin MerkleProof with a caller-supplied leaf accepts the inner node...
    assert.equal(await harness.read.verifyCalldata([shortened, b0.header.root, inner]), true);
    // ...but verifyReceipt hashes the receipt itself (double-hashed leaf), so no receipt maps to that node.
    assert.equal(await harness.read.receiptLeaf([b0.receipts[0]!]), l0);
    for (const r of [b0.receipts[0]!, b0.receipts[1]!]) assert.equal(await verify(ctx, b0, r, shortened), Status.None);
  });
});
