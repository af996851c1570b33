// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BatchHeader, CompactSignature, FeeRate, ModelUsage} from "../Types.sol";
import {ProofSettlement} from "../ProofSettlement.sol";
import {IProofSettlement} from "../interfaces/IProofSettlement.sol";
import {ProofpathTestBase} from "./utils/ProofpathTestBase.sol";

/// @title FeeMathTest
/// @notice Fuzzes the fee schedule (`FeeMath.entryFee`, `ProofSettlement.computeFee`, the fee check in
/// `submitBatch`) against a reference computed another way: floor(a * b / 1000) is evaluated as
/// (a / 1000) * b + floor((a % 1000) * b / 1000), which is exact and never forms the full product.
contract FeeMathTest is ProofpathTestBase {
    uint256 private constant GATEWAY_PK = 0x6A7E;
    address private constant OPERATOR = address(0x0BE7);
    uint256 private constant MAX_ENTRIES = 8;

    address private gateway;

    function setUp() public {
        ProofSettlement.InitParams memory p = _defaultInit();
        // No batch-size bound here: a header's count must be able to cover any fuzzed number of calls.
        p.maxBatchSize = type(uint32).max;
        _deployProofpath(p);
        gateway = _registerGateway(GATEWAY_PK, OPERATOR, MIN_BOND);
    }

    // ================================================================== reference

    /// @dev floor(a * b / 1000) without forming a * b.
    function _perKilo(uint256 a, uint256 b) private pure returns (uint256) {
        return (a / 1000) * b + ((a % 1000) * b) / 1000;
    }

    function _refEntryFee(FeeRate memory r, ModelUsage memory u) private pure returns (uint256) {
        return uint256(u.calls) * r.perCall + _perKilo(u.inputTokens, r.perKiloInputToken)
            + _perKilo(u.outputTokens, r.perKiloOutputToken);
    }

    // ================================================================== FeeMath.entryFee

    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_entryFee_matchesReference(FeeRate memory rate, ModelUsage memory u) public view {
        uint256 fee = this.entryFeeExt(rate, u);
        _assertEq(fee, _refEntryFee(rate, u), "entryFee == reference");
        // Upper bound from the widths: < 2^96 + 2 * 2^128 / 1000, far below 2^256.
        _assertLe(fee, uint256(type(uint32).max) * type(uint64).max + 2 * (uint256(type(uint64).max) ** 2) / 1000, "bound");
    }

    /// @notice Every field at its maximum width: no term or sum overflows.
    function test_entryFee_maxWidths_noOverflow() public view {
        FeeRate memory rate = FeeRate(type(uint64).max, type(uint64).max, type(uint64).max);
        ModelUsage memory u = ModelUsage(bytes32(type(uint256).max), type(uint32).max, type(uint64).max, type(uint64).max);
        uint256 expected = uint256(type(uint32).max) * type(uint64).max + 2 * ((uint256(type(uint64).max) ** 2) / 1000);
        _assertEq(this.entryFeeExt(rate, u), expected, "max-width entryFee");
    }

    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_entryFee_monotonicInEachInput(
        FeeRate memory rate,
        ModelUsage memory u,
        uint256 which,
        uint256 delta
    ) public view {
        uint256 base = this.entryFeeExt(rate, u);
        FeeRate memory r2 = FeeRate(rate.perCall, rate.perKiloInputToken, rate.perKiloOutputToken);
        ModelUsage memory u2 = ModelUsage(u.modelId, u.calls, u.inputTokens, u.outputTokens);
        which = which % 6;
        if (which == 0) u2.calls = uint32(_bound(delta, u.calls, type(uint32).max));
        else if (which == 1) u2.inputTokens = uint64(_bound(delta, u.inputTokens, type(uint64).max));
        else if (which == 2) u2.outputTokens = uint64(_bound(delta, u.outputTokens, type(uint64).max));
        else if (which == 3) r2.perCall = uint64(_bound(delta, rate.perCall, type(uint64).max));
        else if (which == 4) r2.perKiloInputToken = uint64(_bound(delta, rate.perKiloInputToken, type(uint64).max));
        else r2.perKiloOutputToken = uint64(_bound(delta, rate.perKiloOutputToken, type(uint64).max));
        uint256 raised = this.entryFeeExt(r2, u2);
        _assertLe(base, raised, "fee is monotonic");
        _assertEq(raised, _refEntryFee(r2, u2), "raised fee == reference");
    }

    // ================================================================== ProofSettlement.computeFee

    /// @dev Up to MAX_ENTRIES usage entries with strictly ascending modelIds (the top byte orders them)
    /// and total calls <= uint32.max (computeFee bounds calls by count = uint32.max).
    function _usage(ModelUsage[MAX_ENTRIES] memory raw, uint256 n) private pure returns (ModelUsage[] memory usage) {
        n = _bound(n, 1, MAX_ENTRIES);
        usage = new ModelUsage[](n);
        for (uint256 i; i < n; ++i) {
            ModelUsage memory r = raw[i];
            usage[i] = ModelUsage({
                modelId: bytes32((i << 248) | (uint256(r.modelId) >> 8)),
                calls: uint32(_bound(r.calls, 0, type(uint32).max / MAX_ENTRIES)),
                inputTokens: r.inputTokens,
                outputTokens: r.outputTokens
            });
        }
    }

    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_computeFee_equalsSumOfEntryFees(
        ModelUsage[MAX_ENTRIES] memory raw,
        uint256 n,
        FeeRate memory defaultRate,
        FeeRate memory modelRate,
        uint8 overrideMask
    ) public {
        ModelUsage[] memory usage = _usage(raw, n);
        defaultRate = _inBounds(defaultRate);
        modelRate = _inBounds(modelRate);
        settlement.setFeeRate(defaultRate);
        uint256 expected;
        for (uint256 i; i < usage.length; ++i) {
            bool overridden = overrideMask & (1 << i) != 0;
            if (overridden) settlement.setModelFeeRate(usage[i].modelId, modelRate, true);
            FeeRate memory r = overridden ? modelRate : defaultRate;
            uint256 entry = this.entryFeeExt(r, usage[i]);
            _assertEq(entry, _refEntryFee(r, usage[i]), "entry == reference");
            expected += entry;
        }
        _assertEq(settlement.computeFee(usage), expected, "computeFee == sum of entry fees");
    }

    /// @notice A per-model rate replaces the default for that model only, and disabling it restores the default.
    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_computeFee_perModelOverride(
        FeeRate memory defaultRate,
        FeeRate memory modelRate,
        ModelUsage memory a,
        ModelUsage memory b
    ) public {
        // a sorts before b
        a.modelId = bytes32(uint256(a.modelId) >> 1);
        b.modelId = bytes32(uint256(b.modelId) | (1 << 255));
        a.calls = uint32(_bound(a.calls, 0, type(uint32).max / 2));
        b.calls = uint32(_bound(b.calls, 0, type(uint32).max / 2));
        ModelUsage[] memory usage = new ModelUsage[](2);
        (usage[0], usage[1]) = (a, b);
        defaultRate = _inBounds(defaultRate);
        modelRate = _inBounds(modelRate);
        settlement.setFeeRate(defaultRate);

        uint256 bothDefault = _refEntryFee(defaultRate, a) + _refEntryFee(defaultRate, b);
        _assertEq(settlement.computeFee(usage), bothDefault, "default rate for both");

        settlement.setModelFeeRate(b.modelId, modelRate, true);
        (FeeRate memory stored, bool enabled) = settlement.modelFeeRate(b.modelId);
        _assertTrue(enabled && stored.perCall == modelRate.perCall, "model rate stored");
        _assertEq(
            settlement.computeFee(usage), _refEntryFee(defaultRate, a) + _refEntryFee(modelRate, b), "override for b only"
        );

        settlement.setModelFeeRate(b.modelId, modelRate, false);
        _assertEq(settlement.computeFee(usage), bothDefault, "disabled override falls back to default");
    }

    /// @dev `r` mapped into the governance hard bounds (the fee math itself is tested at full widths above).
    function _inBounds(FeeRate memory r) private view returns (FeeRate memory) {
        return FeeRate(
            uint64(_bound(r.perCall, 0, settlement.MAX_PER_CALL())),
            uint64(_bound(r.perKiloInputToken, 0, settlement.MAX_PER_KILO_TOKEN())),
            uint64(_bound(r.perKiloOutputToken, 0, settlement.MAX_PER_KILO_TOKEN()))
        );
    }

    /// @notice Attack "owner drains every deposit": a rate above the hard bounds is refused, default or
    /// per model, whoever owns the contract.
    function testFuzz_ownerDrainsDeposits_rateAboveHardBound_reverts(FeeRate memory r, bytes32 modelId) public {
        vm.assume(
            r.perCall > settlement.MAX_PER_CALL() || r.perKiloInputToken > settlement.MAX_PER_KILO_TOKEN()
                || r.perKiloOutputToken > settlement.MAX_PER_KILO_TOKEN()
        );
        (bool ok,) = address(settlement).call(abi.encodeCall(settlement.setFeeRate, (r)));
        _assertTrue(!ok, "default rate above the bound refused");
        (ok,) = address(settlement).call(abi.encodeCall(settlement.setModelFeeRate, (modelId, r, true)));
        _assertTrue(!ok, "model rate above the bound refused");
    }

    function test_computeFee_rejectsUnsortedUsage() public {
        ModelUsage[] memory usage = new ModelUsage[](2);
        usage[0] = ModelUsage(bytes32(uint256(2)), 1, 0, 0);
        usage[1] = ModelUsage(bytes32(uint256(2)), 1, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IProofSettlement.SettlementInvalidUsage.selector, 1));
        settlement.computeFee(usage);
    }

    function test_computeFee_emptyUsageIsFree() public view {
        _assertEq(settlement.computeFee(new ModelUsage[](0)), 0, "no usage, no fee");
    }

    // ================================================================== submitBatch fee check

    function _header(ModelUsage[] memory usage, uint256 fee, uint32 voids) private view returns (BatchHeader memory h) {
        uint256 calls;
        for (uint256 i; i < usage.length; ++i) {
            calls += usage[i].calls;
        }
        (uint64 nextCall, uint64 nextBatch) = settlement.nextSeqs(gateway);
        h = BatchHeader({
            gateway: gateway,
            batchSeq: nextBatch,
            firstCallSeq: nextCall,
            count: uint32(calls + voids),
            root: keccak256(abi.encode(usage, fee)),
            usage: usage,
            fee: fee,
            firstServedAt: 1_700_000_000_000,
            lastServedAt: 1_700_000_005_000,
            daURI: "https://da.example/batches/0"
        });
    }

    /// @notice submitBatch takes exactly the computed fee: fee - 1 and fee + 1 (signed by the key, all
    /// else valid) revert with SettlementFeeMismatch; the exact fee is debited into escrow.
    /// hardhat-config: fuzz.runs = 10000
    function testFuzz_submitBatch_acceptsExactFeeOnly(
        ModelUsage[MAX_ENTRIES] memory raw,
        uint256 n,
        FeeRate memory rate,
        uint256 voids
    ) public {
        rate = _inBounds(rate);
        settlement.setFeeRate(rate);
        ModelUsage[] memory usage = _usage(raw, n);
        uint256 fee = settlement.computeFee(usage);
        vm.assume(fee < type(uint96).max); // balances are uint96
        uint256 calls;
        for (uint256 i; i < usage.length; ++i) {
            calls += usage[i].calls;
        }
        // count must be >= 1 and cover the calls; extra leaves are void
        uint32 v = uint32(_bound(voids, calls == 0 ? 1 : 0, type(uint32).max - calls));

        token.mint(address(this), fee + 1);
        token.approve(address(settlement), fee + 1);
        settlement.deposit(gateway, fee + 1);

        if (fee != 0) {
            BatchHeader memory low = _header(usage, fee - 1, v);
            CompactSignature memory lowSig = _signHeader(GATEWAY_PK, low);
            vm.expectRevert(abi.encodeWithSelector(IProofSettlement.SettlementFeeMismatch.selector, fee, fee - 1));
            settlement.submitBatch(low, lowSig);
        }
        BatchHeader memory high = _header(usage, fee + 1, v);
        CompactSignature memory highSig = _signHeader(GATEWAY_PK, high);
        vm.expectRevert(abi.encodeWithSelector(IProofSettlement.SettlementFeeMismatch.selector, fee, fee + 1));
        settlement.submitBatch(high, highSig);

        BatchHeader memory exact = _header(usage, fee, v);
        settlement.submitBatch(exact, _signHeader(GATEWAY_PK, exact));
        _assertEq(settlement.balanceOf(gateway), 1, "exactly the fee was debited");
        _assertEq(token.balanceOf(address(settlement)), fee + 1, "fee stays in escrow");
        (uint64 nextCall, uint64 nextBatch) = settlement.nextSeqs(gateway);
        _assertEq(nextCall, calls + v, "callSeq advanced by count");
        _assertEq(nextBatch, 1, "batchSeq advanced by one");
    }

    /// @notice Usage summing to more calls than the batch has leaves is rejected before the fee check.
    function testFuzz_submitBatch_rejectsCallsAboveCount(uint32 calls) public {
        calls = uint32(_bound(calls, 2, type(uint32).max));
        ModelUsage[] memory usage = new ModelUsage[](1);
        usage[0] = ModelUsage(bytes32(uint256(1)), calls, 0, 0);
        BatchHeader memory h = _header(usage, 0, 0);
        h.count = calls - 1;
        CompactSignature memory sig = _signHeader(GATEWAY_PK, h);
        vm.expectRevert(abi.encodeWithSelector(IProofSettlement.SettlementInvalidUsage.selector, 1));
        settlement.submitBatch(h, sig);
    }
}
