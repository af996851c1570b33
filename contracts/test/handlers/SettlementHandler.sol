// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {
    BatchHeader, BatchRef, BatchStatus, CompactSignature, EquivocationProof, ModelUsage, Receipt
} from "../../Types.sol";
import {OPGToken} from "../../OPGToken.sol";
import {ValidatorSet} from "../../ValidatorSet.sol";
import {GatewayRegistry} from "../../GatewayRegistry.sol";
import {ProofSettlement} from "../../ProofSettlement.sol";
import {IGatewayRegistry} from "../../interfaces/IGatewayRegistry.sol";
import {IValidatorSet} from "../../interfaces/IValidatorSet.sol";
import {ProofpathTestBase} from "../utils/ProofpathTestBase.sol";
import {TestMerkle} from "../utils/TestMerkle.sol";

/// @title SettlementHandler
/// @notice Invariant-test handler: the only contract the fuzzer calls. Each action drives one
/// protocol entry point with fuzzed, bounded inputs (valid and invalid), predicts from the handler's
/// own model whether it must succeed, and records any disagreement as a violation (reverts are not
/// failures here: `failOnRevert` is off). Ghost state (deposits, bonds, escrow, batch statuses,
/// quorum attestations and their signers, per-gateway sequences) is what `SettlementInvariantTest`
/// checks the contracts against. v2 rules checked here: windows run from attestation, challenges are
/// committed before they are revealed, finalized fees pay only the attesting signers, a bond never
/// leaves while a batch of its key is open, slashed keys never return, and a validator that signed
/// contradicting verdicts loses its stake. Key succession: a retired key never signs or is approved
/// again, only the account's current successor signs in its sequence, and a stranger never hands an
/// account on. Closed accounts: a closed account's end never moves and it is never handed on; a
/// receipt its key signed at or above the end slashes the bond, below it never does.
contract SettlementHandler is ProofpathTestBase {
    uint256 public constant N_GATEWAYS = 3;
    uint256 public constant GATEWAY_PK_BASE = 0x6A7E00;
    uint256 private constant SUCCESSOR_PK_BASE = 0x5CC000;
    uint256 private constant OPERATOR_BASE = 0x0BE700;
    bytes32 private constant MODEL_A = keccak256("llama-3.1-8b");
    bytes32 private constant MODEL_B = keccak256("qwen-2.5-7b");
    uint256 private constant MAX_LEAVES = 8;
    uint256 private constant MAX_DEPOSIT = 5e9; // about a handful of batches, so balances do run out

    address public constant WITHDRAW_SINK = address(0x5171);
    address public constant REWARD_SINK = address(0x5172);
    address public constant BOND_SINK = address(0x5173);
    address public constant CHALLENGER = address(0x5174);
    address private constant STRANGER = address(0x5175);

    /// @dev Everything the handler remembers about a batch it submitted.
    struct BatchRec {
        uint8 gw; // gateway index
        uint64 batchSeq;
        uint64 firstCallSeq;
        uint32 count;
        uint256 fee;
        uint64 since; // submission, then attestation (the window's start)
        BatchStatus status; // ghost: the status the handler's successful calls moved it to
        bool quorumAttested; // ghost: a valid validator quorum attested it
        uint8 attesterMask; // ghost: which validators signed its attestation (bit i = validatorAddrs[i])
        uint48 attestationId; // ghost: the attest call (counted from 1) that attested it
        bytes data; // abi.encode(BatchHeader, Receipt[], bool[] isVoid)
    }

    address[N_GATEWAYS] public gateways;
    address[N_GATEWAYS] public operators;

    // key succession: the key that signs for account i is its own until succeeded, then its latest successor
    uint256[N_GATEWAYS] private _successorPk; // 0: none
    bool[N_GATEWAYS] private _retired;
    // closed accounts (closeAccount): their end (nextCallSeq) must never move again
    bool[N_GATEWAYS] private _closed;
    uint64[N_GATEWAYS] private _closedEnd;
    address[] private _successorKeys;

    BatchRec[] private _batches;
    mapping(uint256 gw => uint256[] batchIds) private _batchesOf;

    uint64 public currentTime;

    // ghost money
    uint256 public ghostDeposited;
    uint256 public ghostEscrow;
    uint256 public ghostBonded;
    uint256 public ghostStaked;
    /// @notice When each finalized batch was finalized (handler clock).
    mapping(uint256 id => uint64 time) public finalizedAt;

    // ghost monotonicity of what the contract reports
    uint64[N_GATEWAYS] private _seenNextCall;
    uint64[N_GATEWAYS] private _seenNextBatch;

    // handler-side property violations (reverting would be ignored with failOnRevert = false)
    uint256 public violations;
    string public firstViolation;

    // action counters, to see what a run exercised
    mapping(bytes32 action => uint256 count) public calls;
    mapping(bytes32 action => uint256 count) public successes;

    constructor(OPGToken token_, ValidatorSet validatorSet_, GatewayRegistry registry_, ProofSettlement settlement_) {
        token = token_;
        validatorSet = validatorSet_;
        registry = registry_;
        settlement = settlement_;
        _initValidatorKeys();
        for (uint256 i; i < N_GATEWAYS; ++i) {
            gateways[i] = vm.addr(GATEWAY_PK_BASE + i);
            operators[i] = address(uint160(OPERATOR_BASE + i));
        }
        currentTime = uint64(block.timestamp);
    }

    /// @notice Records the gateways' registration bonds and the validators' stakes (made by the test's
    /// setUp) in the ghost.
    function noteInitial(uint256 bonds, uint256 stakes) external {
        require(ghostBonded == 0 && ghostStaked == 0, "once");
        (ghostBonded, ghostStaked) = (bonds, stakes);
    }

    // ================================================================== plumbing

    /// @dev Re-applies the handler's clock (robust whether or not warps persist between calls) and,
    /// after the action, checks that the contract's sequence counters never went backwards.
    modifier action(bytes32 name) {
        vm.warp(currentTime);
        ++calls[name];
        _;
        _checkSeqsMonotonic();
        _checkRetiredStayRetired();
    }

    function _violate(string memory what) private {
        if (violations == 0) firstViolation = what;
        ++violations;
    }

    function _expect(bool succeeded, bool expected, string memory what) private {
        if (succeeded != expected) _violate(what);
    }

    function _checkRetiredStayRetired() private {
        for (uint256 i; i < N_GATEWAYS; ++i) {
            if (_retired[i] && registry.isActive(gateways[i])) _violate("a retired key is active again");
        }
    }

    /// @dev The private key that signs for account `i` now.
    function _signerPk(uint256 i) private view returns (uint256) {
        return _successorPk[i] == 0 ? GATEWAY_PK_BASE + i : _successorPk[i];
    }

    /// @dev Whether the contract must accept account `i`'s header signed by `pk`: its own key while not
    /// retired and active; its successor while active, the account neither slashed nor withdrawing its bond.
    function _signs(uint256 i, uint256 pk) private view returns (bool) {
        if (pk == GATEWAY_PK_BASE + i) return !_retired[i] && registry.isActive(gateways[i]);
        if (pk != _successorPk[i] || _closed[i]) return false;
        IGatewayRegistry.Enclave memory a = registry.enclave(gateways[i]);
        return !a.slashed && a.bondUnlockAt == 0 && registry.isActive(vm.addr(pk));
    }

    function _checkSeqsMonotonic() private {
        for (uint256 i; i < N_GATEWAYS; ++i) {
            (uint64 nc, uint64 nb) = settlement.nextSeqs(gateways[i]);
            if (nc < _seenNextCall[i] || nb < _seenNextBatch[i]) _violate("nextCallSeq/nextBatchSeq decreased");
            if (_closed[i] && nc != _closedEnd[i]) _violate("a closed account settled past its end");
            (_seenNextCall[i], _seenNextBatch[i]) = (nc, nb);
        }
    }

    /// @dev True for about one seed in `n` (hashed: the fuzzer favours small and edge values).
    function oneIn(uint256 seed, uint256 n) public pure returns (bool) {
        return uint256(keccak256(abi.encode(seed, "gate"))) % n == 0;
    }

    function _gw(uint256 seed) private pure returns (uint256) {
        return seed % N_GATEWAYS;
    }

    /// @dev End of an attested batch's challenge window (it starts at attestation).
    function _windowEnd(BatchRec storage b) private view returns (uint64) {
        return b.since + settlement.challengeWindow();
    }

    /// @dev Whether a batch can still be rejected or challenged: Submitted, or Attested inside its window.
    function _challengeable(BatchRec storage b) private view returns (bool) {
        return b.status == BatchStatus.Submitted || (b.status == BatchStatus.Attested && currentTime < _windowEnd(b));
    }

    /// @dev Ghost count of a gateway's batches that are neither Finalized nor Rejected.
    function _openBatches(uint256 gw) private view returns (uint256 open) {
        uint256[] storage ids = _batchesOf[gw];
        for (uint256 k; k < ids.length; ++k) {
            BatchStatus st = _batches[ids[k]].status;
            if (st == BatchStatus.Submitted || st == BatchStatus.Attested) ++open;
        }
    }

    function _header(BatchRec storage b) private view returns (BatchHeader memory h) {
        (h,,) = abi.decode(b.data, (BatchHeader, Receipt[], bool[]));
    }

    /// @dev Moves the ghost status of a batch, and records a violation for any move that is not forward
    /// along None -> Submitted -> Attested -> Finalized, or Submitted/Attested -> Rejected.
    function _move(BatchRec storage b, BatchStatus to) private {
        BatchStatus from = b.status;
        bool legal = (from == BatchStatus.Submitted && (to == BatchStatus.Attested || to == BatchStatus.Rejected))
            || (from == BatchStatus.Attested && (to == BatchStatus.Finalized || to == BatchStatus.Rejected));
        if (!legal) _violate("illegal batch status transition");
        if (to == BatchStatus.Finalized && !b.quorumAttested) _violate("finalized without quorum attestation");
        b.status = to;
    }

    /// @dev Up to `maxN` distinct consecutive batches picked from `seed` (none before the first submission).
    /// Bits 0-1: how many (3: maxN, 2: two, else one). Bits 2-3: non-zero (three times in four) picks the
    /// newest ones, which are still inside their challenge window; zero starts at (seed >> 8) % total.
    function _pick(uint256 seed, uint256 maxN) private view returns (uint256[] memory ids) {
        uint256 total = _batches.length;
        if (total == 0) return new uint256[](0);
        uint256 n = seed & 3 == 3 ? maxN : (seed & 3 == 2 ? 2 : 1);
        if (n > maxN) n = maxN;
        if (n > total) n = total;
        ids = new uint256[](n);
        uint256 start = (seed >> 2) & 3 != 0 ? total - n : (seed >> 8) % total;
        for (uint256 i; i < n; ++i) {
            ids[i] = (start + i) % total;
        }
    }

    /// @dev Half the time (bit 4 of `seed`) up to `maxN` batches whose ghost status is `wanted`, so verdicts
    /// and finalizations meet batches they can move; otherwise `_pick`, which also yields invalid targets.
    function _pickFor(uint256 seed, uint256 maxN, BatchStatus wanted) private view returns (uint256[] memory ids) {
        if ((seed >> 4) & 1 == 0) return _pick(seed, maxN);
        uint256 total = _batches.length;
        uint256[] memory found = new uint256[](total);
        uint256 m;
        for (uint256 id; id < total; ++id) {
            if (_batches[id].status == wanted) found[m++] = id;
        }
        if (m == 0) return _pick(seed, maxN);
        uint256 n = 1 + (seed % maxN);
        if (n > m) n = m;
        ids = new uint256[](n);
        uint256 start = (seed >> 8) % m;
        for (uint256 i; i < n; ++i) {
            ids[i] = found[(start + i) % m];
        }
    }

    /// @dev Validator signatures of kind `kind` over `digest`: 0-3 a quorum candidate (3-5 signers,
    /// ascending; valid when every signer is still active and they reach `quorum()`), 4 below quorum, 5
    /// unsorted, 6 a duplicate signer, 7 a stranger's key in the set, 8 one signature with a high s
    /// (malleable form, must be refused). `mask` is the signers of a valid set.
    function _sigs(bytes32 digest, uint256 kind, uint256 seed)
        private
        view
        returns (CompactSignature[] memory sigs, bool valid, uint8 mask)
    {
        kind = kind % 9;
        uint256[5] memory masks3 = [uint256(0x07), 0x0B, 0x15, 0x1C, 0x19];
        if (kind <= 3) {
            uint256 m = seed % 3 == 0 ? 0x1F : (seed % 3 == 1 ? 0x0F : masks3[seed % 5]);
            return (_quorumSigs(digest, m), _activeQuorum(m), uint8(m));
        }
        if (kind == 4) return (_quorumSigs(digest, 0x05), false, 0);
        sigs = _quorumSigs(digest, 0x0E);
        if (kind == 5) (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
        else if (kind == 6) sigs[1] = sigs[0];
        else if (kind == 8) sigs[seed % 3] = _highS(sigs[seed % 3]);
        else sigs[seed % 3] = _signCompact(0x5EED0000 + (seed % 1000), digest);
        return (sigs, false, 0);
    }

    /// @dev Whether the validators in `mask` are all active and enough for a quorum now.
    function _activeQuorum(uint256 mask) private view returns (bool) {
        uint256 n;
        for (uint256 i; i < N_VALIDATORS; ++i) {
            if (mask & (1 << i) == 0) continue;
            if (!validatorSet.isValidator(validatorAddrs[i])) return false;
            ++n;
        }
        return n >= validatorSet.quorum();
    }

    // ================================================================== deposits

    function deposit(uint256 gwSeed, uint256 amount) external action("deposit") {
        address gw = gateways[_gw(gwSeed)];
        amount = _bound(amount, 1, MAX_DEPOSIT);
        token.mint(address(this), amount);
        token.approve(address(settlement), amount);
        uint256 before = settlement.balanceOf(gw);
        try settlement.deposit(gw, amount) {
            ++successes["deposit"];
            ghostDeposited += amount;
            if (settlement.balanceOf(gw) != before + amount) _violate("deposit did not credit the balance");
        } catch {
            _violate("deposit reverted");
        }
    }

    function requestWithdraw(uint256 gwSeed, uint256 amount, bool asStranger) external action("requestWithdraw") {
        uint256 i = _gw(gwSeed);
        uint256 balance = settlement.balanceOf(gateways[i]);
        amount = _bound(amount, 0, balance + 1);
        bool expected = !asStranger && amount != 0 && amount <= balance;
        vm.prank(asStranger ? STRANGER : operators[i]);
        try settlement.requestWithdraw(gateways[i], amount) {
            ++successes["requestWithdraw"];
            _expect(true, expected, "requestWithdraw succeeded unexpectedly");
        } catch {
            _expect(false, expected, "requestWithdraw reverted unexpectedly");
        }
    }

    function withdraw(uint256 gwSeed, bool asStranger) external action("withdraw") {
        uint256 i = _gw(gwSeed);
        (uint256 pending, uint64 unlockAt) = settlement.pendingWithdrawal(gateways[i]);
        bool expected = !asStranger && pending != 0 && currentTime >= unlockAt;
        uint256 sinkBefore = token.balanceOf(WITHDRAW_SINK);
        vm.prank(asStranger ? STRANGER : operators[i]);
        try settlement.withdraw(gateways[i], WITHDRAW_SINK) {
            ++successes["withdraw"];
            _expect(true, expected, "withdraw succeeded unexpectedly");
            if (token.balanceOf(WITHDRAW_SINK) != sinkBefore + pending) _violate("withdraw paid a different amount");
        } catch {
            _expect(false, expected, "withdraw reverted unexpectedly");
        }
    }

    // ================================================================== submission

    /// @dev A well-formed batch for gateway `i` at its next sequence numbers: 1-8 leaves (some void),
    /// receipts derived from `seed`, usage aggregated over two models, the scheduled fee.
    function _buildBatch(uint256 i, uint256 nSeed, uint256 voidMask, uint256 seed)
        private
        view
        returns (BatchHeader memory h, Receipt[] memory receipts, bool[] memory isVoid)
    {
        address gw = gateways[i];
        (uint64 first, uint64 batchSeq) = settlement.nextSeqs(gw);
        uint256 n = _bound(nSeed, 1, MAX_LEAVES);
        receipts = new Receipt[](n);
        isVoid = new bool[](n);
        bytes32[] memory leaves = new bytes32[](n);
        ModelUsage memory a = ModelUsage(MODEL_A, 0, 0, 0);
        ModelUsage memory b = ModelUsage(MODEL_B, 0, 0, 0);
        for (uint256 k; k < n; ++k) {
            uint256 rnd = uint256(keccak256(abi.encode(seed, k)));
            Receipt memory r = Receipt({
                gateway: gw,
                callSeq: first + uint64(k),
                modelId: rnd & 1 == 0 ? MODEL_A : MODEL_B,
                requestHash: keccak256(abi.encode(rnd, "request")),
                responseHash: keccak256(abi.encode(rnd, "response")),
                inputTokens: uint32((rnd >> 8) % 10_000),
                outputTokens: uint32((rnd >> 40) % 10_000),
                servedAt: uint64(currentTime) * 1000 + uint64(k)
            });
            receipts[k] = r;
            if (voidMask & (1 << k) != 0) {
                isVoid[k] = true;
                leaves[k] = this.voidLeafExt(gw, r.callSeq);
                continue;
            }
            ModelUsage memory u = r.modelId == MODEL_A ? a : b;
            u.calls += 1;
            u.inputTokens += r.inputTokens;
            u.outputTokens += r.outputTokens;
            leaves[k] = this.receiptLeafExt(r);
        }
        (ModelUsage memory lo, ModelUsage memory hi) = MODEL_A < MODEL_B ? (a, b) : (b, a);
        ModelUsage[] memory usage = new ModelUsage[]((lo.calls != 0 ? 1 : 0) + (hi.calls != 0 ? 1 : 0));
        uint256 e;
        if (lo.calls != 0) usage[e++] = lo;
        if (hi.calls != 0) usage[e++] = hi;
        h = BatchHeader({
            gateway: gw,
            batchSeq: batchSeq,
            firstCallSeq: first,
            count: uint32(n),
            root: TestMerkle.root(TestMerkle.build(leaves)),
            usage: usage,
            fee: settlement.computeFee(usage),
            firstServedAt: receipts[0].servedAt,
            lastServedAt: receipts[n - 1].servedAt,
            daURI: "https://gateway.example/batches"
        });
    }

    /// @notice A valid batch: must succeed exactly when the key is active and the balance covers the fee.
    function submitBatch(uint256 gwSeed, uint256 nSeed, uint256 voidMask, uint256 seed) external action("submitBatch") {
        uint256 i = _gw(gwSeed);
        (BatchHeader memory h, Receipt[] memory receipts, bool[] memory isVoid) = _buildBatch(i, nSeed, voidMask, seed);
        uint256 pk = _signerPk(i);
        CompactSignature memory sig = _signHeader(pk, h);
        uint256 balance = settlement.balanceOf(h.gateway);
        bool signs = _signs(i, pk);
        bool expected = signs && balance >= h.fee;
        if (!signs) ++calls["submitBatch:inactive"];
        else if (balance < h.fee) ++calls["submitBatch:poor"];
        else if (_successorPk[i] != 0) ++calls["submitBatch:successor"];
        try settlement.submitBatch(h, sig) {
            ++successes["submitBatch"];
            _expect(true, expected, "submitBatch succeeded unexpectedly");
            _batchesOf[i].push(_batches.length);
            _batches.push(
                BatchRec({
                    gw: uint8(i),
                    batchSeq: h.batchSeq,
                    firstCallSeq: h.firstCallSeq,
                    count: h.count,
                    fee: h.fee,
                    since: currentTime,
                    status: BatchStatus.Submitted,
                    quorumAttested: false,
                    attesterMask: 0,
                    attestationId: 0,
                    data: abi.encode(h, receipts, isVoid)
                })
            );
            ghostEscrow += h.fee;
            if (settlement.balanceOf(h.gateway) != balance - h.fee) _violate("submitBatch debited a different fee");
        } catch {
            _expect(false, expected, "valid submitBatch reverted unexpectedly");
        }
    }

    /// @notice An invalid batch (one defect, otherwise valid and signed): must always revert.
    function submitInvalidBatch(uint256 gwSeed, uint256 nSeed, uint256 seed, uint256 defect)
        external
        action("submitInvalidBatch")
    {
        uint256 i = _gw(gwSeed);
        (BatchHeader memory h,,) = _buildBatch(i, nSeed, 0, seed);
        uint256 signerPk = _signerPk(i);
        defect = defect % 10;
        if (defect == 0) h.batchSeq += 1;
        else if (defect == 1) h.batchSeq = h.batchSeq == 0 ? type(uint64).max : h.batchSeq - 1;
        else if (defect == 2) h.firstCallSeq += 1;
        else if (defect == 3) h.firstCallSeq = h.firstCallSeq == 0 ? 1 : h.firstCallSeq - 1;
        else if (defect == 4) h.fee += 1;
        else if (defect == 5) h.fee = h.fee == 0 ? 1 : h.fee - 1;
        else if (defect == 6) signerPk = GATEWAY_PK_BASE + ((i + 1) % N_GATEWAYS); // another gateway's key
        else if (defect == 7) h.count = (seed & 1 == 0) ? 0 : 17; // outside [1, maxBatchSize = 16]
        else if (defect == 8) (h.firstServedAt, h.lastServedAt) = (h.lastServedAt + 1, h.lastServedAt);
        // the account's retired key, else a registered key that succeeds nobody
        else signerPk = _retired[i] ? GATEWAY_PK_BASE + i : (_successorKeys.length != 0 ? SUCCESSOR_PK_BASE + 1 : 0xBAD);
        CompactSignature memory sig = _signHeader(signerPk, h);
        uint256 balance = settlement.balanceOf(h.gateway);
        try settlement.submitBatch(h, sig) {
            _violate("invalid submitBatch succeeded");
        } catch {
            if (settlement.balanceOf(h.gateway) != balance) _violate("failed submitBatch changed the balance");
        }
    }

    // ================================================================== verdicts

    function attest(uint256 pickSeed, uint256 sigKind, uint256 sigSeed) external action("attest") {
        uint256[] memory ids = _pickFor(pickSeed, 3, BatchStatus.Submitted);
        if (ids.length == 0) return;
        BatchRef[] memory refs = new BatchRef[](ids.length);
        bytes32[] memory hashes = new bytes32[](ids.length);
        bool expected = true;
        for (uint256 k; k < ids.length; ++k) {
            BatchRec storage b = _batches[ids[k]];
            hashes[k] = this.hashHeaderExt(_header(b));
            refs[k] = BatchRef(gateways[b.gw], b.batchSeq, hashes[k]);
            // Attestation has no deadline: a Submitted batch's window only starts with it.
            expected = expected && b.status == BatchStatus.Submitted;
        }
        (CompactSignature[] memory sigs, bool valid, uint8 mask) =
            _sigs(settlement.verdictDigest(1, hashes), sigKind, sigSeed);
        expected = expected && valid;
        try settlement.attest(refs, sigs) {
            ++successes["attest"];
            _expect(true, expected, "attest succeeded unexpectedly");
            for (uint256 k; k < ids.length; ++k) {
                BatchRec storage b = _batches[ids[k]];
                if (valid) b.quorumAttested = true;
                b.attesterMask = mask;
                b.attestationId = uint48(successes["attest"]);
                b.since = currentTime;
                _move(b, BatchStatus.Attested);
            }
        } catch {
            _expect(false, expected, "attest reverted unexpectedly");
        }
    }

    function reject(uint256 pickSeed, uint256 sigKind, uint256 sigSeed) external action("reject") {
        uint256[] memory ids = _pick(pickSeed, 2);
        if (ids.length == 0) return;
        BatchHeader[] memory hs = new BatchHeader[](ids.length);
        bytes32[] memory hashes = new bytes32[](ids.length);
        bool expected = true;
        for (uint256 k; k < ids.length; ++k) {
            BatchRec storage b = _batches[ids[k]];
            hs[k] = _header(b);
            hashes[k] = this.hashHeaderExt(hs[k]);
            // Submitted: any time (so escrow is never stuck); Attested: only inside the window.
            expected = expected && _challengeable(b);
        }
        (CompactSignature[] memory sigs, bool valid,) = _sigs(settlement.verdictDigest(2, hashes), sigKind, sigSeed);
        expected = expected && valid;
        uint256[] memory bondsBefore = new uint256[](ids.length);
        for (uint256 k; k < ids.length; ++k) {
            bondsBefore[k] = registry.enclave(gateways[_batches[ids[k]].gw]).bond;
        }
        try settlement.reject(hs, sigs) {
            ++successes["reject"];
            _expect(true, expected, "reject succeeded unexpectedly");
            for (uint256 k; k < ids.length; ++k) {
                BatchRec storage b = _batches[ids[k]];
                _move(b, BatchStatus.Rejected);
                ghostEscrow -= b.fee;
            }
            // Each rejection took `rejectedSlashBps` of the gateway's bond (compounding within the call).
            if (registry.enclave(gateways[_batches[ids[0]].gw]).bond >= bondsBefore[0] && bondsBefore[0] >= 10) {
                _violate("quorum rejection cost no bond");
            }
        } catch {
            _expect(false, expected, "reject reverted unexpectedly");
        }
    }

    /// @notice The enclave signs a second receipt for a settled callSeq; a challenger commits, then reveals
    /// the proof in a later block, while the batch is Submitted or inside its window.
    /// @dev Taken one time in eight only: a success slashes and bans the gateway for good.
    function challengeEquivocation(uint256 pickSeed, uint256 leafSeed) external action("challengeEquivocation") {
        if (!oneIn(leafSeed, 8)) return;
        uint256[] memory ids = _pick(pickSeed, 1);
        if (ids.length == 0) return;
        BatchRec storage b = _batches[ids[0]];
        (BatchHeader memory h, EquivocationProof memory e) = _equivocation(b, leafSeed);
        bool expected = _challengeable(b);
        address[] memory attesters = b.status == BatchStatus.Attested ? _signers(b.attesterMask) : new address[](0);
        uint256 reward = _expectedChallengeReward(h.gateway, attesters);
        uint256 challengerBefore = token.balanceOf(CHALLENGER);
        bytes32 salt = keccak256(abi.encode(leafSeed));
        vm.prank(CHALLENGER);
        settlement.commitChallenge(
            keccak256(abi.encode(CHALLENGER, this.hashHeaderExt(h), this.receiptHashExt(e.signedReceipt), salt))
        );
        vm.roll(block.number + 1);
        // Someone copying the reveal has no commitment: it must revert and leave the batch alone.
        vm.prank(STRANGER);
        try settlement.challengeEquivocation(h, e, salt, attesters) {
            _violate("uncommitted challenge succeeded");
        } catch {}
        vm.prank(CHALLENGER);
        try settlement.challengeEquivocation(h, e, salt, attesters) {
            ++successes["challengeEquivocation"];
            _expect(true, expected, "challengeEquivocation succeeded unexpectedly");
            _move(b, BatchStatus.Rejected);
            ghostEscrow -= b.fee;
            if (token.balanceOf(CHALLENGER) != challengerBefore + reward) _violate("challenger reward differs");
            IGatewayRegistry.Enclave memory en = registry.enclave(h.gateway);
            if (en.bond != 0 || !en.slashed || registry.isActive(h.gateway)) {
                _violate("equivocating key not slashed and banned");
            }
        } catch {
            _expect(false, expected, "challengeEquivocation reverted unexpectedly");
        }
    }

    /// @dev The enclave of `b` signs a second receipt for the callSeq of leaf `leafSeed % n`; the proof of it.
    function _equivocation(BatchRec storage b, uint256 leafSeed)
        private
        view
        returns (BatchHeader memory h, EquivocationProof memory e)
    {
        Receipt[] memory receipts;
        bool[] memory isVoid;
        (h, receipts, isVoid) = abi.decode(b.data, (BatchHeader, Receipt[], bool[]));
        uint256 leaf = leafSeed % receipts.length;
        Receipt memory signed_ = Receipt(
            receipts[leaf].gateway,
            receipts[leaf].callSeq,
            receipts[leaf].modelId,
            receipts[leaf].requestHash,
            keccak256(abi.encode(receipts[leaf].responseHash, "second answer")),
            receipts[leaf].inputTokens,
            receipts[leaf].outputTokens,
            receipts[leaf].servedAt
        );
        bytes32[] memory leaves = new bytes32[](receipts.length);
        for (uint256 k; k < receipts.length; ++k) {
            leaves[k] = isVoid[k] ? this.voidLeafExt(h.gateway, receipts[k].callSeq) : this.receiptLeafExt(receipts[k]);
        }
        e = EquivocationProof({
            signedReceipt: signed_,
            receiptSig: _signCompact(GATEWAY_PK_BASE + b.gw, _receiptDigest(signed_)),
            settledReceipt: receipts[leaf],
            settledIsVoid: isVoid[leaf],
            proof: TestMerkle.proof(TestMerkle.build(leaves), leaf)
        });
    }

    /// @dev The challenger's share of the slashed bond, plus the prover share of each attester's penalty
    /// (attesterSlashBps 10 %, proverRewardBps 10 %, as deployed by the test base).
    function _expectedChallengeReward(address gw, address[] memory attesters) private view returns (uint256 reward) {
        reward = (registry.enclave(gw).bond * CHALLENGER_REWARD_BPS) / 10_000;
        for (uint256 k; k < attesters.length; ++k) {
            IValidatorSet.Validator memory v = validatorSet.validator(attesters[k]);
            if (v.status == IValidatorSet.ValidatorStatus.Active || v.status == IValidatorSet.ValidatorStatus.Exiting) {
                reward += (((uint256(v.stake) * 1_000) / 10_000) * 1_000) / 10_000;
            }
        }
    }

    /// @notice Finalizes picked batches with the signers of the first one's attestation: must succeed only
    /// when all are Attested by that same attestation and past their windows; then only those signers
    /// are credited, each the same share.
    function finalize(uint256 pickSeed) external action("finalize") {
        uint256[] memory ids = _pickFor(pickSeed, 3, BatchStatus.Attested);
        if (ids.length == 0) return;
        BatchHeader[] memory hs = new BatchHeader[](ids.length);
        bool expected = true;
        uint8 mask = _batches[ids[0]].attesterMask;
        uint48 id0 = _batches[ids[0]].attestationId;
        uint256 total;
        for (uint256 k; k < ids.length; ++k) {
            BatchRec storage b = _batches[ids[k]];
            hs[k] = _header(b);
            total += b.fee;
            expected = expected && b.status == BatchStatus.Attested && currentTime >= _windowEnd(b)
                && b.attestationId == id0;
        }
        address[] memory attesters = _signers(mask);
        uint256[N_VALIDATORS] memory owedBefore;
        for (uint256 v; v < N_VALIDATORS; ++v) {
            owedBefore[v] = settlement.rewardsOwed(validatorAddrs[v]);
        }
        try settlement.finalize(hs, attesters) {
            ++successes["finalize"];
            _expect(true, expected, "finalize succeeded unexpectedly");
            for (uint256 k; k < ids.length; ++k) {
                BatchRec storage b = _batches[ids[k]];
                _move(b, BatchStatus.Finalized);
                finalizedAt[ids[k]] = currentTime;
                ghostEscrow -= b.fee;
            }
            uint256 share = attesters.length == 0 ? 0 : ((total * 6_000) / 10_000) / attesters.length;
            for (uint256 v; v < N_VALIDATORS; ++v) {
                uint256 gained = settlement.rewardsOwed(validatorAddrs[v]) - owedBefore[v];
                if (gained != (mask & (1 << v) != 0 ? share : 0)) _violate("finalize paid a validator that did not sign");
            }
        } catch {
            _expect(false, expected, "finalize reverted unexpectedly");
        }
    }

    function claimRewards(uint256 validatorSeed) external action("claimRewards") {
        address v = validatorAddrs[validatorSeed % N_VALIDATORS];
        uint256 owed = settlement.rewardsOwed(v);
        uint256 sinkBefore = token.balanceOf(REWARD_SINK);
        vm.prank(v);
        try settlement.claimRewards(REWARD_SINK) returns (uint256 amount) {
            ++successes["claimRewards"];
            _expect(true, owed != 0, "claimRewards succeeded with nothing owed");
            if (amount != owed || token.balanceOf(REWARD_SINK) != sinkBefore + owed) _violate("claim paid wrong amount");
            if (settlement.rewardsOwed(v) != 0) _violate("claim left rewards owed");
        } catch {
            _expect(false, owed != 0, "claimRewards reverted unexpectedly");
        }
    }

    // ================================================================== registry (bonds, activity)

    /// @notice A validator quorum re-approves a key (heartbeat): allowed unless its bond is short or locked
    /// or the key was slashed; an approval signed for the nonce before a deactivation never works.
    /// @dev Half the time approves the first inactive gateway, so keys come back after expiry or slashing.
    function approveGateway(uint256 gwSeed) external action("approveGateway") {
        uint256 i = _gw(gwSeed);
        if (oneIn(gwSeed, 2)) {
            for (uint256 k = N_GATEWAYS; k > 0; --k) {
                if (!registry.isActive(gateways[k - 1])) i = k - 1;
            }
        }
        // Half the time a succeeded account's successor (it needs heartbeats too), else the account's key.
        bool successor = _successorPk[i] != 0 && oneIn(gwSeed >> 8, 2);
        address gw = successor ? vm.addr(_successorPk[i]) : gateways[i];
        IGatewayRegistry.Enclave memory e = registry.enclave(gw);
        bool retired = !successor && _retired[i]; // approveEnclave refuses a retired key forever
        bool expected = e.bond >= MIN_BOND && e.bondUnlockAt == 0 && !e.slashed && !retired && _activeQuorum(0x07);
        uint64 deadline = currentTime + 1 hours;
        try registry.approveEnclave(gw, deadline, _quorumSigs(registry.approvalDigest(gw, deadline), 0x07)) {
            ++successes["approveGateway"];
            _expect(true, expected, "approveEnclave succeeded unexpectedly");
        } catch {
            _expect(false, expected, "approveEnclave reverted unexpectedly");
        }
    }

    /// @dev Half the time tops up the gateway with the smallest bond (refused for a slashed key).
    function addBond(uint256 gwSeed, uint256 amount) external action("addBond") {
        uint256 i = _gw(gwSeed);
        if (oneIn(gwSeed, 2)) {
            for (uint256 k; k < N_GATEWAYS; ++k) {
                if (registry.enclave(gateways[k]).bond < registry.enclave(gateways[i]).bond) i = k;
            }
        }
        address gw = gateways[i];
        amount = _bound(amount, MIN_BOND / 2, 2 * MIN_BOND);
        token.mint(address(this), amount);
        token.approve(address(registry), amount);
        bool slashed = registry.enclave(gw).slashed;
        try registry.addBond(gw, amount) {
            ++successes["addBond"];
            ghostBonded += amount;
            if (slashed) _violate("a slashed key took a new bond");
        } catch {
            if (!slashed) _violate("addBond reverted");
        }
    }

    /// @dev Taken one time in sixteen only: it deactivates the key until the bond is withdrawn and re-posted,
    /// and taken every time it would leave the gateways inactive for most of a run.
    function requestBondWithdraw(uint256 gwSeed) external action("requestBondWithdraw") {
        if (!oneIn(gwSeed, 16)) return;
        uint256 i = _gw(gwSeed);
        bool expected = registry.enclave(gateways[i]).bond != 0;
        vm.prank(operators[i]);
        try registry.requestBondWithdraw(gateways[i]) {
            ++successes["requestBondWithdraw"];
            _expect(true, expected, "requestBondWithdraw succeeded unexpectedly");
            if (registry.isActive(gateways[i])) _violate("bond withdrawal left the key active");
            if (_retired[i] && !_closed[i]) {
                // A retired account's bond request closes it for good (it must not reopen once the bond is out).
                (uint64 end,) = settlement.nextSeqs(gateways[i]);
                (_closed[i], _closedEnd[i]) = (true, end);
            }
        } catch {
            _expect(false, expected, "requestBondWithdraw reverted unexpectedly");
        }
    }

    function withdrawBond(uint256 gwSeed) external action("withdrawBond") {
        uint256 i = _gw(gwSeed);
        IGatewayRegistry.Enclave memory e = registry.enclave(gateways[i]);
        // Never while a batch of the key can still be challenged.
        bool expected = e.bondUnlockAt != 0 && e.bond != 0 && currentTime >= e.bondUnlockAt && _openBatches(i) == 0;
        uint256 sinkBefore = token.balanceOf(BOND_SINK);
        vm.prank(operators[i]);
        try registry.withdrawBond(gateways[i], BOND_SINK) {
            ++successes["withdrawBond"];
            _expect(true, expected, "withdrawBond succeeded unexpectedly");
            if (token.balanceOf(BOND_SINK) != sinkBefore + e.bond) _violate("withdrawBond paid a different amount");
        } catch {
            _expect(false, expected, "withdrawBond reverted unexpectedly");
        }
    }

    // ================================================================== key succession

    /// @notice The operator hands account `i` to a fresh enclave key: the key signing for it now is
    /// retired (never to sign or be approved again) and the successor signs in the account's sequence.
    /// A stranger's attempt, and handing an account on past a successor that is not retired, always
    /// revert. Taken one time in eight.
    function succeedGateway(uint256 gwSeed) external action("succeedGateway") {
        if (!oneIn(gwSeed, 8)) return;
        uint256 i = _gw(gwSeed);
        address account = gateways[i];
        uint256 pk = SUCCESSOR_PK_BASE + _successorKeys.length + 1;
        address successor = _registerSuccessor(pk, operators[i]);
        vm.prank(STRANGER);
        try registry.succeed(account, successor) {
            _violate("a stranger handed an account on");
        } catch {}
        IGatewayRegistry.Enclave memory a = registry.enclave(account);
        bool expected = !a.slashed && a.bondUnlockAt == 0 && !_closed[i];
        if (_successorPk[i] != 0 && expected) {
            vm.prank(operators[i]);
            try registry.succeed(account, successor) {
                _violate("an account handed on past a successor that is not retired");
            } catch {}
            // The dead successor is retired first (by its own succession), then the account moves on.
            address current = vm.addr(_successorPk[i]);
            vm.prank(operators[i]);
            try registry.succeed(current, successor) {
                if (registry.isActive(current)) _violate("a retired successor stayed active");
            } catch {
                _violate("retiring a successor reverted");
                return;
            }
        }
        vm.prank(operators[i]);
        try registry.succeed(account, successor) {
            ++successes["succeedGateway"];
            _expect(true, expected, "succeed succeeded unexpectedly");
            if (registry.isActive(account)) _violate("a succeeded key stayed active");
            (_retired[i], _successorPk[i]) = (true, pk);
        } catch {
            _expect(false, expected, "succeed reverted unexpectedly");
        }
    }

    /// @notice Closes a retired account: its operator at any time, a stranger only `bondWithdrawDelay`
    /// after the retirement. Afterwards no batch settles for it (checked after every action). Taken one
    /// time in four.
    function closeAccount(uint256 gwSeed, bool asStranger) external action("closeAccount") {
        if (!oneIn(gwSeed, 4)) return;
        uint256 i = _gw(gwSeed);
        address account = gateways[i];
        (, uint64 retiredAt,) = registry.succession(account);
        bool expected = _retired[i] && !_closed[i] && !registry.enclave(account).slashed
            && (!asStranger || currentTime >= retiredAt + registry.bondWithdrawDelay());
        vm.prank(asStranger ? STRANGER : operators[i]);
        try registry.closeAccount(account) {
            ++successes["closeAccount"];
            _expect(true, expected, "closeAccount succeeded unexpectedly");
            (uint64 end,) = settlement.nextSeqs(account);
            (_closed[i], _closedEnd[i]) = (true, end);
            if (registry.signsFor(account, vm.addr(_successorPk[i]))) _violate("a closed account still has a signer");
        } catch {
            _expect(false, expected, "closeAccount reverted unexpectedly");
        }
    }

    /// @notice The account's own key signed a receipt at `nextCallSeq + k` (never settled) or, one time in
    /// three, at a settled callSeq; a challenger commits, then reveals the orphaned-receipt proof. It must
    /// succeed exactly when the callSeq is at or above the end of a closed account whose bond is there;
    /// a copied reveal never does. Taken one time in four.
    function challengeOrphanedReceipt(uint256 gwSeed, uint256 callSeed) external action("challengeOrphanedReceipt") {
        if (!oneIn(gwSeed, 4)) return;
        uint256 i = _gw(gwSeed);
        address account = gateways[i];
        (uint64 next,) = settlement.nextSeqs(account);
        uint64 callSeq = callSeed % 3 == 0 && next != 0 ? uint64(callSeed >> 8) % next : next + uint64(callSeed >> 8) % 4;
        Receipt memory r =
            Receipt(account, callSeq, MODEL_A, keccak256(abi.encode(callSeed)), keccak256("answer"), 1, 1, currentTime);
        CompactSignature memory sig = _signCompact(GATEWAY_PK_BASE + i, _receiptDigest(r));
        IGatewayRegistry.Enclave memory e = registry.enclave(account);
        bool closed = _closed[i] || e.bondUnlockAt != 0 || e.slashed;
        bool expected = callSeq >= next && closed && !e.slashed && e.bond != 0;
        bytes32 salt = keccak256(abi.encode(callSeed, "orphan"));
        vm.prank(CHALLENGER);
        settlement.commitChallenge(keccak256(abi.encode(CHALLENGER, this.receiptHashExt(r), salt)));
        vm.roll(block.number + 1);
        vm.prank(STRANGER);
        try settlement.challengeOrphanedReceipt(r, sig, salt) {
            _violate("uncommitted orphan proof succeeded");
        } catch {}
        uint256 challengerBefore = token.balanceOf(CHALLENGER);
        vm.prank(CHALLENGER);
        try settlement.challengeOrphanedReceipt(r, sig, salt) {
            ++successes["challengeOrphanedReceipt"];
            _expect(true, expected, "challengeOrphanedReceipt succeeded unexpectedly");
            if (token.balanceOf(CHALLENGER) != challengerBefore + (uint256(e.bond) * CHALLENGER_REWARD_BPS) / 10_000) {
                _violate("orphan prover reward differs");
            }
            IGatewayRegistry.Enclave memory after_ = registry.enclave(account);
            if (after_.bond != 0 || !after_.slashed) _violate("orphaned receipt's key not slashed");
        } catch {
            _expect(false, expected, "challengeOrphanedReceipt reverted unexpectedly");
        }
    }

    /// @dev A fresh key of `operator`, registered with the minimum bond and, when a quorum can sign,
    /// approved.
    function _registerSuccessor(uint256 pk, address operator) private returns (address key) {
        key = vm.addr(pk);
        token.mint(operator, MIN_BOND);
        vm.prank(operator);
        token.approve(address(registry), MIN_BOND);
        bytes32 digest = registry.registrationDigest(operator, MEASUREMENT, keccak256("attestation"), bytes32(0));
        vm.prank(operator);
        registry.registerEnclave(key, MEASUREMENT, keccak256("attestation"), bytes32(0), MIN_BOND, _signCompact(pk, digest));
        ghostBonded += MIN_BOND;
        _successorKeys.push(key);
        uint64 deadline = currentTime + 1 hours;
        try registry.approveEnclave(key, deadline, _quorumSigs(registry.approvalDigest(key, deadline), 0x07)) {} catch {}
    }

    /// @notice Every key that holds a bond: the accounts' own and their successors.
    function bondedKeys() external view returns (address[] memory keys) {
        keys = new address[](N_GATEWAYS + _successorKeys.length);
        for (uint256 i; i < N_GATEWAYS; ++i) {
            keys[i] = gateways[i];
        }
        for (uint256 k; k < _successorKeys.length; ++k) {
            keys[N_GATEWAYS + k] = _successorKeys[k];
        }
    }

    // ================================================================== validators

    /// @notice A validator signs an attest and a reject verdict for the same header; a prover commits and
    /// reveals: its whole stake is slashed and it is banned. Taken one time in sixteen, and never for
    /// the last three active validators (so quorums stay reachable).
    function slashContradiction(uint256 pickSeed, uint256 validatorSeed) external action("slashContradiction") {
        if (!oneIn(validatorSeed, 16) || validatorSet.validatorCount() <= 3) return;
        uint256[] memory ids = _pick(pickSeed, 1);
        if (ids.length == 0) return;
        uint256 vi = validatorSeed % N_VALIDATORS;
        address v = validatorAddrs[vi];
        IValidatorSet.Validator memory before = validatorSet.validator(v);
        bool expected = before.status == IValidatorSet.ValidatorStatus.Active
            || before.status == IValidatorSet.ValidatorStatus.Exiting;
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = this.hashHeaderExt(_header(_batches[ids[0]]));
        CompactSignature memory a = _signCompact(validatorPks[vi], settlement.verdictDigest(1, hashes));
        CompactSignature memory r = _signCompact(validatorPks[vi], settlement.verdictDigest(2, hashes));
        bytes32 salt = keccak256(abi.encode(validatorSeed));
        vm.prank(CHALLENGER);
        validatorSet.commitSlash(keccak256(abi.encode(CHALLENGER, v, hashes[0], salt)));
        vm.roll(block.number + 1);
        uint256 challengerBefore = token.balanceOf(CHALLENGER);
        vm.prank(CHALLENGER);
        try validatorSet.slashContradiction(hashes, a, hashes, r, 0, 0, salt) returns (uint256 slashed) {
            ++successes["slashContradiction"];
            _expect(true, expected, "slashContradiction succeeded unexpectedly");
            IValidatorSet.Validator memory after_ = validatorSet.validator(v);
            if (slashed != before.stake || after_.stake != 0 || after_.status != IValidatorSet.ValidatorStatus.Banned) {
                _violate("contradicting validator not slashed and banned");
            }
            if (validatorSet.isValidator(v)) _violate("banned validator still in the set");
            if (token.balanceOf(CHALLENGER) != challengerBefore + (slashed * 1_000) / 10_000) _violate("prover reward differs");
        } catch {
            _expect(false, expected, "slashContradiction reverted unexpectedly");
        }
    }

    // ================================================================== time

    /// @notice Mostly short steps (inside a challenge window), one in sixteen up to 26 hours (withdrawal and
    /// bond delays, closed windows, expiry).
    function warp(uint256 secondsSeed) external action("warp") {
        uint256 step = secondsSeed % 16 == 0 ? _bound(secondsSeed >> 4, 1, 26 hours) : _bound(secondsSeed >> 4, 1, 40 minutes);
        currentTime += uint64(step);
        vm.warp(currentTime);
        ++successes["warp"];
    }

    // ================================================================== views for the invariants

    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    function batchInfo(uint256 id)
        external
        view
        returns (
            address gateway,
            uint64 batchSeq,
            uint64 firstCallSeq,
            uint32 count,
            uint256 fee,
            BatchStatus status,
            bool quorumAttested
        )
    {
        BatchRec storage b = _batches[id];
        return (gateways[b.gw], b.batchSeq, b.firstCallSeq, b.count, b.fee, b.status, b.quorumAttested);
    }

    function batchIdsOf(uint256 gw) external view returns (uint256[] memory) {
        return _batchesOf[gw];
    }

    function validatorAddress(uint256 i) external view returns (address) {
        return validatorAddrs[i];
    }

    /// @notice The action selectors the fuzzer may call.
    function actions() external pure returns (bytes4[] memory s) {
        s = new bytes4[](19);
        s[0] = this.deposit.selector;
        s[1] = this.requestWithdraw.selector;
        s[2] = this.withdraw.selector;
        s[3] = this.submitBatch.selector;
        s[4] = this.submitInvalidBatch.selector;
        s[5] = this.attest.selector;
        s[6] = this.reject.selector;
        s[7] = this.challengeEquivocation.selector;
        s[8] = this.finalize.selector;
        s[9] = this.claimRewards.selector;
        s[10] = this.approveGateway.selector;
        s[11] = this.addBond.selector;
        s[12] = this.requestBondWithdraw.selector;
        s[13] = this.withdrawBond.selector;
        s[14] = this.warp.selector;
        s[15] = this.slashContradiction.selector;
        s[16] = this.succeedGateway.selector;
        s[17] = this.closeAccount.selector;
        s[18] = this.challengeOrphanedReceipt.selector;
    }
}
