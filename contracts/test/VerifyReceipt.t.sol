// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {
    BatchHeader, BatchRef, BatchStatus, CompactSignature, EquivocationProof, ModelUsage, Receipt
} from "../Types.sol";
import {IProofSettlement} from "../interfaces/IProofSettlement.sol";
import {ProofpathTestBase} from "./utils/ProofpathTestBase.sol";
import {TestMerkle} from "./utils/TestMerkle.sol";

/// @title VerifyReceiptTest
/// @notice Fuzzes `ProofSettlement.verifyReceipt` over real settled batches: trees of 1-16 fuzzed
/// receipts (some leaves void) are built here with `Hashing`, the header is signed by the enclave key
/// (vm.sign over `headerDigest`, packed {r, vs}) and submitted. Every leaf verifies; a change of one
/// receipt field, one proof element, the proof's length, or an inner node passed off as a leaf does not.
contract VerifyReceiptTest is ProofpathTestBase {
    uint256 private constant GATEWAY_PK = 0x6A7E;
    address private constant OPERATOR = address(0x0BE7);
    uint256 private constant MAX_LEAVES = 16;
    bytes32 private constant MODEL_A = keccak256("llama-3.1-8b");
    bytes32 private constant MODEL_B = keccak256("qwen-2.5-7b");

    address private gateway;

    /// @dev One settled batch as the tests see it.
    struct Settled {
        BatchHeader header;
        Receipt[] receipts; // receipts[i] is leaf i (for void leaves only gateway/callSeq are meaningful)
        bool[] isVoid;
        bytes32[] leaves;
        bytes32[][] tree; // TestMerkle levels
    }

    function setUp() public {
        _deployProofpath(_defaultInit());
        gateway = _registerGateway(GATEWAY_PK, OPERATOR, MIN_BOND);
        token.mint(address(this), 1e30);
        token.approve(address(settlement), type(uint256).max);
        settlement.deposit(gateway, 1e27);
    }

    // ================================================================== building batches

    /// @dev Builds, signs and submits a batch of `n` (1..16) leaves from fuzzed receipts: leaf i is void
    /// when bit i of `voidMask` is set, else `raw[i]` with gateway/callSeq fixed and the model one of two.
    function _settle(Receipt[MAX_LEAVES] memory raw, uint256 n, uint256 voidMask) private returns (Settled memory s) {
        n = _bound(n, 1, MAX_LEAVES);
        (uint64 first, uint64 batchSeq) = settlement.nextSeqs(gateway);
        s.receipts = new Receipt[](n);
        s.isVoid = new bool[](n);
        s.leaves = new bytes32[](n);
        ModelUsage memory a = ModelUsage(MODEL_A, 0, 0, 0);
        ModelUsage memory b = ModelUsage(MODEL_B, 0, 0, 0);
        for (uint256 i; i < n; ++i) {
            Receipt memory r = raw[i];
            r.gateway = gateway;
            r.callSeq = first + uint64(i);
            s.receipts[i] = r;
            if (voidMask & (1 << i) != 0) {
                s.isVoid[i] = true;
                s.leaves[i] = this.voidLeafExt(gateway, r.callSeq);
                continue;
            }
            r.modelId = uint256(r.modelId) & 1 == 0 ? MODEL_A : MODEL_B;
            ModelUsage memory u = r.modelId == MODEL_A ? a : b;
            u.calls += 1;
            u.inputTokens += r.inputTokens;
            u.outputTokens += r.outputTokens;
            s.leaves[i] = this.receiptLeafExt(r);
        }
        // MODEL_A / MODEL_B in ascending order, entries without calls left out
        (ModelUsage memory lo, ModelUsage memory hi) = MODEL_A < MODEL_B ? (a, b) : (b, a);
        uint256 entries = (lo.calls != 0 ? 1 : 0) + (hi.calls != 0 ? 1 : 0);
        ModelUsage[] memory usage = new ModelUsage[](entries);
        uint256 k;
        if (lo.calls != 0) usage[k++] = lo;
        if (hi.calls != 0) usage[k++] = hi;

        s.tree = TestMerkle.build(s.leaves);
        s.header = BatchHeader({
            gateway: gateway,
            batchSeq: batchSeq,
            firstCallSeq: first,
            count: uint32(n),
            root: TestMerkle.root(s.tree),
            usage: usage,
            fee: settlement.computeFee(usage),
            firstServedAt: 1_700_000_000_000,
            lastServedAt: 1_700_000_009_999,
            daURI: "https://gateway.example/batches"
        });
        settlement.submitBatch(s.header, _signHeader(GATEWAY_PK, s.header));
    }

    /// @dev A void-only batch of `count` leaves, so later batches start at a non-zero callSeq.
    function _settleVoidPrefix(uint256 count) private {
        count = _bound(count, 0, MAX_LEAVES);
        if (count == 0) return;
        (uint64 first, uint64 batchSeq) = settlement.nextSeqs(gateway);
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            leaves[i] = this.voidLeafExt(gateway, first + uint64(i));
        }
        BatchHeader memory h = BatchHeader(
            gateway, batchSeq, first, uint32(count), TestMerkle.root(TestMerkle.build(leaves)), new ModelUsage[](0), 0, 0, 0, ""
        );
        settlement.submitBatch(h, _signHeader(GATEWAY_PK, h));
    }

    function _firstServed(Settled memory s) private pure returns (uint256) {
        for (uint256 i; i < s.isVoid.length; ++i) {
            if (!s.isVoid[i]) return i;
        }
        return type(uint256).max;
    }

    function _copy(Receipt memory r) private pure returns (Receipt memory) {
        return Receipt(
            r.gateway, r.callSeq, r.modelId, r.requestHash, r.responseHash, r.inputTokens, r.outputTokens, r.servedAt
        );
    }

    // ================================================================== every leaf verifies

    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_verifyReceipt_trueForEveryServedLeaf(
        Receipt[MAX_LEAVES] memory raw,
        uint256 n,
        uint16 voidMask,
        uint256 prefix
    ) public {
        _settleVoidPrefix(prefix);
        Settled memory s = _settle(raw, n, voidMask);
        for (uint256 i; i < s.leaves.length; ++i) {
            bytes32[] memory proof = TestMerkle.proof(s.tree, i);
            _assertTrue(MerkleProof.verify(proof, s.header.root, s.leaves[i]), "test tree is consistent");
            bool ok = _verifies(s.header, s.receipts[i], proof);
            // A void leaf is not a receipt: no receipt at its callSeq is settled.
            _assertTrue(ok == !s.isVoid[i], "verifyReceipt true exactly for served leaves");
        }
    }

    // ================================================================== one change -> false

    /// @notice Changing any one field of a settled receipt (to any other value) makes verifyReceipt false.
    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_verifyReceipt_falseForAnyChangedField(
        Receipt[MAX_LEAVES] memory raw,
        uint256 n,
        uint256 index,
        uint256 field,
        uint256 flip
    ) public {
        Settled memory s = _settle(raw, n, 0);
        index = index % s.leaves.length;
        bytes32[] memory proof = TestMerkle.proof(s.tree, index);
        Receipt memory r = _copy(s.receipts[index]);
        _assertTrue(_verifies(s.header, r, proof), "unchanged receipt verifies");

        field = field % 8;
        if (field == 0) r.gateway = address(uint160(r.gateway) ^ uint160(_bound(flip, 1, type(uint160).max)));
        else if (field == 1) r.callSeq ^= uint64(_bound(flip, 1, type(uint64).max));
        else if (field == 2) r.modelId ^= bytes32(_bound(flip, 1, type(uint256).max));
        else if (field == 3) r.requestHash ^= bytes32(_bound(flip, 1, type(uint256).max));
        else if (field == 4) r.responseHash ^= bytes32(_bound(flip, 1, type(uint256).max));
        else if (field == 5) r.inputTokens ^= uint32(_bound(flip, 1, type(uint32).max));
        else if (field == 6) r.outputTokens ^= uint32(_bound(flip, 1, type(uint32).max));
        else r.servedAt ^= uint64(_bound(flip, 1, type(uint64).max));
        _assertTrue(!_verifies(s.header, r, proof), "changed receipt does not verify");
    }

    /// @notice Changing one proof element, dropping one, or appending one makes verifyReceipt false.
    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_verifyReceipt_falseForTamperedProof(
        Receipt[MAX_LEAVES] memory raw,
        uint256 n,
        uint256 index,
        uint256 element,
        bytes32 flip,
        bytes32 extra
    ) public {
        n = _bound(n, 2, MAX_LEAVES); // a single-leaf tree has an empty proof
        Settled memory s = _settle(raw, n, 0);
        index = index % s.leaves.length;
        bytes32[] memory proof = TestMerkle.proof(s.tree, index);
        Receipt memory r = s.receipts[index];
        _assertTrue(_verifies(s.header, r, proof), "untampered proof verifies");

        element = element % proof.length;
        if (flip == 0) flip = bytes32(uint256(1));
        proof[element] ^= flip;
        _assertTrue(!_verifies(s.header, r, proof), "changed element");
        proof[element] ^= flip;

        bytes32[] memory shorter = new bytes32[](proof.length - 1);
        for (uint256 i; i < shorter.length; ++i) {
            shorter[i] = proof[i];
        }
        _assertTrue(!_verifies(s.header, r, shorter), "dropped last element");

        bytes32[] memory longer = new bytes32[](proof.length + 1);
        for (uint256 i; i < proof.length; ++i) {
            longer[i] = proof[i];
        }
        longer[proof.length] = extra;
        _assertTrue(!_verifies(s.header, r, longer), "appended element");
    }

    /// @notice The second-preimage attempt: an inner node with its (shorter) proof is accepted by a bare
    /// `MerkleProof.verify`, but verifyReceipt hashes the leaf itself from a receipt, so no receipt built
    /// from the node (or its two children) verifies.
    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_verifyReceipt_falseForInnerNodeAsLeaf(
        Receipt[MAX_LEAVES] memory raw,
        uint256 n,
        uint256 index,
        Receipt memory shell
    ) public {
        n = _bound(n, 2, MAX_LEAVES);
        Settled memory s = _settle(raw, n, 0);
        index = index % s.leaves.length;
        bytes32[] memory full = TestMerkle.proof(s.tree, index);
        // Climb from `index` to the first height where it was actually paired (odd nodes move up alone).
        uint256 height;
        uint256 pos = index;
        uint256 width = n;
        uint256 used; // proof elements consumed below the inner node
        while (used == 0) {
            if ((pos ^ 1) < width) used = 1;
            pos /= 2;
            width = (width + 1) / 2;
            ++height;
        }
        bytes32 inner = s.tree[height][pos];
        bytes32[] memory upper = new bytes32[](full.length - used);
        for (uint256 i; i < upper.length; ++i) {
            upper[i] = full[i + used];
        }
        _assertTrue(MerkleProof.verify(upper, s.header.root, inner), "a bare verifier takes the inner node");

        // Receipts an attacker could build around the node: its children as the two hash fields, or the
        // node itself, at the leaf's callSeq.
        bytes32 leftChild = s.tree[height - 1][pos * 2];
        bytes32 rightChild = s.tree[height - 1][pos * 2 + 1];
        shell.gateway = gateway;
        shell.callSeq = s.receipts[index].callSeq;
        shell.requestHash = leftChild < rightChild ? leftChild : rightChild;
        shell.responseHash = leftChild < rightChild ? rightChild : leftChild;
        _assertTrue(!_verifies(s.header, shell, upper), "children as receipt fields");
        _assertTrue(!_verifies(s.header, shell, full), "children as receipt fields, full proof");
        shell.requestHash = inner;
        shell.responseHash = inner;
        _assertTrue(!_verifies(s.header, shell, upper), "node as receipt fields");
        _assertTrue(inner == Hashes.commutativeKeccak256(leftChild, rightChild), "node is the hash of its children");
    }

    // ================================================================== header and status

    /// @notice verifyReceipt is false for a header that differs from the stored one, for a receipt outside
    /// the batch's callSeq range, and for an unknown batch.
    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_verifyReceipt_falseForWrongHeaderOrRange(
        Receipt[MAX_LEAVES] memory raw,
        uint256 n,
        uint256 index,
        uint256 prefix,
        bytes32 otherRoot
    ) public {
        _settleVoidPrefix(prefix);
        Settled memory s = _settle(raw, n, 0);
        index = index % s.leaves.length;
        bytes32[] memory proof = TestMerkle.proof(s.tree, index);
        Receipt memory r = s.receipts[index];
        _assertTrue(_verifies(s.header, r, proof), "baseline");

        vm.assume(otherRoot != s.header.root);
        BatchHeader memory forged = s.header;
        bytes32 realRoot = forged.root;
        forged.root = otherRoot;
        _assertTrue(!_verifies(forged, r, proof), "header with another root");
        forged.root = realRoot;

        // The same header shifted by one callSeq: the stored hash no longer matches.
        forged.firstCallSeq += 1;
        _assertTrue(!_verifies(forged, r, proof), "header with another firstCallSeq");
        forged.firstCallSeq -= 1;

        forged.batchSeq += 1;
        _assertTrue(!_verifies(forged, r, proof), "batch not submitted");
        forged.batchSeq -= 1;

        // A receipt outside [firstCallSeq, firstCallSeq + count) is never in the batch.
        Receipt memory outside = _copy(r);
        outside.callSeq = s.header.firstCallSeq + s.header.count;
        _assertTrue(!_verifies(s.header, outside, proof), "callSeq past the batch");
        if (s.header.firstCallSeq != 0) {
            outside.callSeq = s.header.firstCallSeq - 1;
            _assertTrue(!_verifies(s.header, outside, proof), "callSeq before the batch");
        }
    }

    /// @notice `verifyReceipt` reports the batch's status: Submitted, then Attested, then Finalized (only
    /// that one is final); a batch rejected by quorum or by an equivocation proof (against a receipt or a
    /// void leaf) reports Rejected.
    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_verifyReceipt_followsBatchStatus(
        Receipt[MAX_LEAVES] memory raw,
        uint256 n,
        uint16 voidMask,
        uint256 index,
        uint256 path
    ) public {
        Settled memory s = _settle(raw, n, voidMask);
        uint256 served = _firstServed(s);
        vm.assume(served != type(uint256).max);
        bytes32[] memory proof = TestMerkle.proof(s.tree, served);
        Receipt memory r = s.receipts[served];
        bytes32 headerHash = this.hashHeaderExt(s.header);
        path = path % 4;

        if (path == 0) {
            // Submitted -> Attested -> Finalized: still verifies.
            BatchRef[] memory refs = new BatchRef[](1);
            refs[0] = BatchRef(gateway, s.header.batchSeq, headerHash);
            bytes32[] memory hashes = new bytes32[](1);
            hashes[0] = headerHash;
            _assertTrue(settlement.verifyReceipt(s.header, r, proof) == BatchStatus.Submitted, "submitted");
            settlement.attest(refs, _quorumSigs(settlement.verdictDigest(1, hashes), 0x0E));
            _assertTrue(settlement.verifyReceipt(s.header, r, proof) == BatchStatus.Attested, "attested");
            vm.warp(block.timestamp + 1 hours);
            BatchHeader[] memory hs = new BatchHeader[](1);
            hs[0] = s.header;
            settlement.finalize(hs, _signers(0x0E));
            (BatchStatus st,,,,) = settlement.batch(gateway, s.header.batchSeq);
            _assertTrue(st == BatchStatus.Finalized, "finalized");
            _assertTrue(settlement.verifyReceipt(s.header, r, proof) == BatchStatus.Finalized, "finalized verifies");
        } else if (path == 1) {
            BatchHeader[] memory hs = new BatchHeader[](1);
            hs[0] = s.header;
            bytes32[] memory hashes = new bytes32[](1);
            hashes[0] = headerHash;
            settlement.reject(hs, _quorumSigs(settlement.verdictDigest(2, hashes), 0x15));
            _assertTrue(settlement.verifyReceipt(s.header, r, proof) == BatchStatus.Rejected, "rejected");
        } else {
            _equivocate(s, index % s.leaves.length);
            (BatchStatus st,,,,) = settlement.batch(gateway, s.header.batchSeq);
            _assertTrue(st == BatchStatus.Rejected, "equivocation rejects");
            _assertTrue(!_verifies(s.header, r, proof), "equivocated batch does not verify");
            _assertTrue(registry.enclave(gateway).bond == 0, "bond slashed");
        }
    }

    /// @dev The enclave signed a second receipt for the callSeq of leaf `index`; prove it on-chain.
    function _equivocate(Settled memory s, uint256 index) private {
        Receipt memory settledR = s.receipts[index];
        Receipt memory signedR = _copy(settledR);
        signedR.responseHash = keccak256(abi.encode(settledR.responseHash, "equivocated"));
        CompactSignature memory sig = _signCompact(GATEWAY_PK, _receiptDigest(signedR));
        this.challengeAsTest(
            s.header, EquivocationProof(signedR, sig, settledR, s.isVoid[index], TestMerkle.proof(s.tree, index))
        );
    }

    /// @dev A fixed five-leaf batch, its receipt 2, and a receipt the enclave also signed for callSeq 2.
    function _fixedBatch() private returns (Settled memory s, Receipt memory settledR, Receipt memory signedR) {
        Receipt[MAX_LEAVES] memory raw;
        for (uint256 i; i < MAX_LEAVES; ++i) {
            raw[i].requestHash = keccak256(abi.encode("req", i));
            raw[i].inputTokens = uint32(100 + i);
        }
        s = _settle(raw, 5, 0);
        settledR = s.receipts[2];
        signedR = _copy(settledR);
        signedR.outputTokens += 1;
    }

    /// @notice The settled receipt itself, a signature by another key, or a wrong proof is not an equivocation.
    function test_challengeEquivocation_rejectsNonEquivocation() public {
        (Settled memory s, Receipt memory settledR, Receipt memory signedR) = _fixedBatch();
        bytes32[] memory proof = TestMerkle.proof(s.tree, 2);

        CompactSignature memory sameSig = _signCompact(GATEWAY_PK, _receiptDigest(settledR));
        vm.expectRevert(IProofSettlement.SettlementNotEquivocation.selector);
        this.challengeAsTest(s.header, EquivocationProof(settledR, sameSig, settledR, false, proof));

        CompactSignature memory otherKeySig = _signCompact(0xBAD, _receiptDigest(signedR));
        vm.expectRevert(
            abi.encodeWithSelector(
                IProofSettlement.SettlementInvalidReceiptSignature.selector, gateway, vm.addr(0xBAD)
            )
        );
        this.challengeAsTest(s.header, EquivocationProof(signedR, otherKeySig, settledR, false, proof));

        CompactSignature memory sig = _signCompact(GATEWAY_PK, _receiptDigest(signedR));
        proof[0] ^= bytes32(uint256(1));
        vm.expectRevert(IProofSettlement.SettlementInvalidProof.selector);
        this.challengeAsTest(s.header, EquivocationProof(signedR, sig, settledR, false, proof));
    }

    /// @notice Receipts outside the batch or at another callSeq, and high-s receipt signatures, are refused.
    function test_challengeEquivocation_rejectsMisplacedOrHighS() public {
        (Settled memory s, Receipt memory settledR, Receipt memory signedR) = _fixedBatch();
        CompactSignature memory sig = _signCompact(GATEWAY_PK, _receiptDigest(signedR));

        // The settled receipt must sit at the signed receipt's callSeq.
        Receipt memory elsewhere = s.receipts[3];
        vm.expectRevert(
            abi.encodeWithSelector(IProofSettlement.SettlementReceiptOutOfBatch.selector, gateway, elsewhere.callSeq)
        );
        this.challengeAsTest(s.header, EquivocationProof(signedR, sig, elsewhere, false, TestMerkle.proof(s.tree, 3)));

        // A high-s signature is refused before recovery (malleability guard).
        CompactSignature memory twin = _highS(sig);
        vm.expectRevert(
            abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, bytes32(uint256(twin.vs) & ((1 << 255) - 1)))
        );
        this.challengeAsTest(s.header, EquivocationProof(signedR, twin, settledR, false, TestMerkle.proof(s.tree, 2)));

        Receipt memory outside = _copy(signedR);
        outside.callSeq = s.header.firstCallSeq + s.header.count;
        vm.expectRevert(
            abi.encodeWithSelector(IProofSettlement.SettlementReceiptOutOfBatch.selector, gateway, outside.callSeq)
        );
        this.challengeAsTest(s.header, EquivocationProof(outside, sig, settledR, false, TestMerkle.proof(s.tree, 2)));
    }

    /// @notice Commits to the challenge, then reveals it a block later (one external call, so
    /// `expectRevert` applies to the reveal's outcome).
    function challengeAsTest(BatchHeader calldata h, EquivocationProof calldata e) external {
        bytes32 salt = keccak256("salt");
        settlement.commitChallenge(
            keccak256(abi.encode(address(this), this.hashHeaderExt(h), this.receiptHashExt(e.signedReceipt), salt))
        );
        vm.roll(block.number + 1);
        settlement.challengeEquivocation(h, e, salt, new address[](0));
    }
}
