/**
 * sdk/merkle.ts against @openzeppelin/merkle-tree (off-chain) and OpenZeppelin MerkleProof through
 * HashingHarness (on-chain). On-chain checks are collected during the property runs and sent in
 * batches (`verifyMany`) so thousands of them cost a handful of eth_calls.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import fc from "fast-check";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { bytesToHex, getAddress, hexToBytes, type Hex } from "viem";
import {
  buildTree,
  processProof,
  receiptLeaf,
  treeFromNodes,
  verifyProof,
  voidLeaf,
  type Receipt,
} from "../../sdk/index.js";

const { viem } = await network.create();
const harness = await viem.deployContract("HashingHarness");

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b));
// Duplicated leaves and repeated bytes exercise the sorted-pair tie and equal-prefix paths.
const leavesArb = fc.oneof(
  // Mostly small trees (OpenZeppelin's pure-JS reference is slow), every fifth up to 70 leaves.
  { weight: 3, arbitrary: fc.array(bytes32, { minLength: 1, maxLength: 70 }) },
  { weight: 1, arbitrary: fc.array(bytes32, { minLength: 1, maxLength: 70, size: "max" }) },
  {
    weight: 1,
    arbitrary: fc.array(
      fc.constantFrom<Hex>(`0x${"00".repeat(32)}`, `0x${"00".repeat(31)}01`, `0x${"ff".repeat(32)}`),
      { minLength: 1, maxLength: 20 },
    ),
  },
);

interface OnChainCheck {
  proof: Hex[];
  root: Hex;
  leaf: Hex;
  expected: boolean;
  what: string;
}

/** Runs the collected checks through MerkleProof.verifyCalldata in chunks; returns how many ran. */
async function verifyOnChain(checks: OnChainCheck[], chunk = 400): Promise<number> {
  for (let i = 0; i < checks.length; i += chunk) {
    const part = checks.slice(i, i + chunk);
    const ok = await harness.read.verifyMany([
      part.map((c) => c.proof),
      part.map((c) => c.root),
      part.map((c) => c.leaf),
    ]);
    part.forEach((c, j) => assert.equal(ok[j], c.expected, `on-chain verifyCalldata disagrees: ${c.what}`));
  }
  return checks.length;
}

function flipBit(hex: Hex, bit: number): Hex {
  const b = hexToBytes(hex);
  b[bit >> 3]! ^= 1 << (bit & 7);
  return bytesToHex(b);
}

describe("sdk/merkle", function () {
  this.timeout(180_000); // property runs; seconds when idle, but CI boxes are shared

  it("test_buildTree_randomLeaves_rootsAndProofsEqualOpenZeppelinOffAndOnChain", async () => {
    const onChain: OnChainCheck[] = [];
    fc.assert(
      fc.property(leavesArb, fc.nat(), (leaves, pick) => {
        const tree = buildTree(leaves);
        const oz = SimpleMerkleTree.of(leaves, { sortLeaves: false });
        assert.equal(tree.root, oz.root);
        // Flat-bytes input builds the identical tree.
        const flat = new Uint8Array(leaves.length * 32);
        leaves.forEach((l, i) => flat.set(hexToBytes(l), i * 32));
        assert.deepEqual(buildTree(flat).nodes, tree.nodes);
        // Same node array as OpenZeppelin's, so every proof (a walk over it) is the same too.
        const ozNodes = oz.dump().tree;
        assert.equal(ozNodes.length, tree.nodes.length / 32);
        ozNodes.forEach((n, k) => assert.equal(bytesToHex(tree.nodes.subarray(k * 32, k * 32 + 32)), n));
        for (let i = 0; i < leaves.length; i++) {
          assert.equal(tree.leaf(i), leaves[i]);
          assert.ok(verifyProof(tree.root, leaves[i]!, tree.proof(i)));
        }
        // OpenZeppelin's (slow, pure-JS, self-verifying) getProof and verify, and the chain:
        // first, last and a random leaf of every tree.
        for (const i of new Set([0, leaves.length - 1, pick % leaves.length])) {
          const proof = tree.proof(i);
          assert.deepEqual(proof, oz.getProof(i));
          assert.ok(SimpleMerkleTree.verify(tree.root, leaves[i]!, proof));
          onChain.push({
            proof,
            root: tree.root,
            leaf: leaves[i]!,
            expected: true,
            what: `leaf ${i} of ${leaves.length}`,
          });
        }
      }),
      { numRuns: 1000 },
    );
    const n = await verifyOnChain(onChain);
    assert.ok(n >= 1000);
  });

  it("test_buildTree_nonPowerOfTwoUpTo1025Leaves_equalsOpenZeppelin", () => {
    for (const n of [2, 3, 255, 256, 257, 1000, 1025]) {
      const leaves = fc.sample(bytes32, n);
      const tree = buildTree(leaves);
      const oz = SimpleMerkleTree.of(leaves, { sortLeaves: false });
      assert.equal(tree.root, oz.root);
      for (const i of [0, 1 % n, n >> 1, n - 1]) assert.deepEqual(tree.proof(i), oz.getProof(i));
    }
  });

  it("test_attack_flipsBitOfLeafOrProofElement_verifyFailsOffAndOnChain", async () => {
    const onChain: OnChainCheck[] = [];
    fc.assert(
      fc.property(
        fc.array(bytes32, { minLength: 2, maxLength: 64, size: "max" }),
        fc.nat(),
        fc.nat({ max: 255 }),
        fc.nat(),
        (leaves, pick, bit, pickProof) => {
          const tree = buildTree(leaves);
          const i = pick % leaves.length;
          const proof = tree.proof(i);
          const badLeaf = flipBit(leaves[i]!, bit);
          assert.equal(verifyProof(tree.root, badLeaf, proof), false);
          assert.equal(SimpleMerkleTree.verify(tree.root, badLeaf, proof), false);
          // SDK: every proof element; OpenZeppelin and the chain: one random element per run.
          for (let k = 0; k < proof.length; k++) {
            assert.equal(
              verifyProof(
                tree.root,
                leaves[i]!,
                proof.map((p, m) => (m === k ? flipBit(p, bit) : p)),
              ),
              false,
            );
          }
          const j = pickProof % proof.length;
          const badProof = proof.map((p, k) => (k === j ? flipBit(p, bit) : p));
          assert.equal(verifyProof(tree.root, leaves[i]!, badProof), false);
          assert.equal(SimpleMerkleTree.verify(tree.root, leaves[i]!, badProof), false);
          const badRoot = flipBit(tree.root, bit);
          assert.equal(verifyProof(badRoot, leaves[i]!, proof), false);
          onChain.push(
            { proof, root: tree.root, leaf: badLeaf, expected: false, what: `flipped leaf bit ${bit}` },
            {
              proof: badProof,
              root: tree.root,
              leaf: leaves[i]!,
              expected: false,
              what: `flipped proof[${j}] bit ${bit}`,
            },
            { proof, root: tree.root, leaf: leaves[i]!, expected: true, what: "control" },
          );
        },
      ),
      { numRuns: 1000 },
    );
    const n = await verifyOnChain(onChain);
    assert.ok(n >= 2000);
  });

  it("test_processProof_hexOrBytes_equalsMerkleProofProcessProof", async () => {
    const leaves = fc.sample(bytes32, 37);
    const tree = buildTree(leaves);
    for (const i of [0, 5, 36]) {
      assert.equal(
        await harness.read.processProof([tree.proof(i), leaves[i]!]),
        processProof(leaves[i]!, tree.proof(i)),
      );
      assert.equal(
        processProof(
          hexToBytes(leaves[i]!),
          tree.proof(i).map((p) => hexToBytes(p)),
        ),
        tree.root,
      );
    }
  });

  it("test_buildTree_receiptAndVoidLeaves_hashingSolLeavesAndProofsAgree", async () => {
    const gateway = getAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const firstCallSeq = 1000n;
    const receipts: Receipt[] = [];
    const leaves: Hex[] = [];
    for (let i = 0; i < 40; i++) {
      const callSeq = firstCallSeq + BigInt(i);
      if (i % 7 === 3) {
        leaves.push(voidLeaf(gateway, callSeq)); // allocated, never served
        continue;
      }
      const [modelId, requestHash, responseHash] = fc.sample(bytes32, 3) as [Hex, Hex, Hex];
      const r: Receipt = {
        gateway,
        callSeq,
        modelId,
        requestHash,
        responseHash,
        inputTokens: 10 * i,
        outputTokens: 3 * i,
        servedAt: 1_732_540_000_000n + BigInt(i),
      };
      receipts.push(r);
      leaves.push(receiptLeaf(r));
    }
    const onChainLeaves = await harness.read.receiptLeaves([receipts]);
    assert.deepEqual(
      onChainLeaves,
      leaves.filter((_, i) => i % 7 !== 3),
    );
    const tree = buildTree(leaves);
    const checks = leaves.map((leaf, i) => ({
      proof: tree.proof(i),
      root: tree.root,
      leaf,
      expected: true,
      what: `callSeq ${firstCallSeq + BigInt(i)}`,
    }));
    await verifyOnChain(checks);
  });

  it("test_attack_innerNodeAsLeafSecondPreimage_rawVerifyAcceptsSoContractsHashReceiptsThemselves", async () => {
    // Node 1 (left child of the root) is keccak of a sorted 64-byte pair, not a receipt leaf; yet
    // with the proof [node 2] it "verifies" against the root, off-chain and on-chain. A contract
    // that accepted caller-supplied leaves would thus accept a fake "receipt". ProofSettlement
    // instead computes Hashing.leaf(Hashing.hashReceipt(r)) from the receipt: reaching an inner
    // node would need a receipt whose double keccak equals it, i.e. a keccak preimage.
    const tree = buildTree(fc.sample(bytes32, 8));
    const node = (k: number): Hex => bytesToHex(tree.nodes.subarray(k * 32, k * 32 + 32));
    const inner = node(1);
    assert.equal(verifyProof(tree.root, inner, [node(2)]), true);
    assert.equal(SimpleMerkleTree.verify(tree.root, inner, [node(2)]), true);
    assert.equal(await harness.read.verifyCalldata([[node(2)], tree.root, inner]), true);
    // It is not a leaf of the tree: leaf-to-root proofs never pass through it as a leaf.
    for (let i = 0; i < tree.count; i++) assert.notEqual(tree.leaf(i), inner);
  });

  it("test_buildTree_oneOrZeroLeavesBadIndicesAndWorkerNodes_edgeCasesHold", () => {
    const [only] = fc.sample(bytes32, 1) as [Hex];
    const single = buildTree([only]);
    assert.equal(single.root, only);
    assert.deepEqual(single.proof(0), []);
    assert.ok(verifyProof(only, only, []));
    assert.equal(single.root, SimpleMerkleTree.of([only], { sortLeaves: false }).root);
    assert.throws(() => buildTree([]), /non-zero/);
    assert.throws(() => buildTree(new Uint8Array(0)), /non-zero/);
    assert.throws(() => buildTree(new Uint8Array(33)), /32-byte/);
    assert.throws(() => buildTree(["0x12"]), /leaves\[0\]/);
    const tree = buildTree(fc.sample(bytes32, 10));
    assert.throws(() => tree.proof(10), RangeError);
    assert.throws(() => tree.proof(-1), RangeError);
    // A worker builds, transfers `nodes`; the receiver wraps them without rehashing.
    const copy = treeFromNodes(tree.nodes.slice());
    assert.equal(copy.root, tree.root);
    assert.equal(copy.count, 10);
    assert.deepEqual(copy.proof(7), tree.proof(7));
    assert.deepEqual(
      Buffer.from(tree.proofBytes(7)).toString("hex"),
      tree
        .proof(7)
        .map((p) => p.slice(2))
        .join(""),
    );
    assert.throws(() => treeFromNodes(new Uint8Array(64)), RangeError);
  });

  it("test_buildTree_8192Leaves_under500Ms", () => {
    const leaves = new Uint8Array(8192 * 32);
    for (let i = 0; i < leaves.length; i++) leaves[i] = (i * 131 + 7) & 255;
    buildTree(leaves); // warm-up
    const t = performance.now();
    buildTree(leaves);
    const ms = performance.now() - t;
    assert.ok(ms < 500, `buildTree(8192) took ${ms.toFixed(1)} ms`);
  });
});
