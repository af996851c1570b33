// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BatchStatus} from "../Types.sol";
import {IGatewayRegistry} from "../interfaces/IGatewayRegistry.sol";
import {IValidatorSet} from "../interfaces/IValidatorSet.sol";
import {ProofpathTestBase} from "./utils/ProofpathTestBase.sol";
import {SettlementHandler} from "./handlers/SettlementHandler.sol";

/// @title SettlementInvariantTest
/// @notice Random sequences of deposits, withdrawals, valid and invalid submissions, attestations,
/// rejections, equivocation challenges, finalizations, reward claims, bond moves and time warps over 3
/// gateways and 5 validators (quorum 3), driven by `SettlementHandler`. After every call:
/// (a) OPG is conserved to the wei (every token minted is in a contract that owes it, a sink, the
/// treasury or the burn address) and each contract holds exactly what it owes (settlement: balances,
/// pending withdrawals, escrow, rewards; registry: bonds; validator set: stakes), (c) per-gateway
/// sequences are gap-free and never decrease, (d) batch statuses only move forward and match the
/// handler's ghost, (e) nothing is Finalized without a quorum attestation at least one window old,
/// (f) no bond left while a batch of its key was open, no validator was paid for a batch it did not
/// sign, no slashed key returned (the handler's own checks, see `violations`).
/// Runs x depth come from hardhat.config.ts (FUZZ_PROFILE=full: 256 x 500; default 32 x 64).
contract SettlementInvariantTest is ProofpathTestBase {
    /// @dev Foundry's target-selector record (forge-std `StdInvariant.FuzzSelector`).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address private constant BURN = 0x000000000000000000000000000000000000dEaD;

    SettlementHandler private handler;
    address[] private _gateways;

    function setUp() public {
        _deployProofpath(_defaultInit());
        handler = new SettlementHandler(token, validatorSet, registry, settlement);
        uint256 n = handler.N_GATEWAYS();
        uint256 pkBase = handler.GATEWAY_PK_BASE();
        for (uint256 i; i < n; ++i) {
            _gateways.push(_registerGateway(pkBase + i, handler.operators(i), MIN_BOND));
            _assertTrue(_gateways[i] == handler.gateways(i), "handler knows the gateway");
        }
        handler.noteInitial(n * MIN_BOND, token.balanceOf(address(validatorSet)));
        // A two-hour challenge window spans a few dozen calls (about four minutes pass per call), so batches
        // get attested or rejected inside it and finalized after it; the bond delay is the shortest allowed
        // (the window), so bonds are requested, withdrawn and re-posted within a run; a one-hour withdrawal
        // delay, likewise for fee withdrawals.
        settlement.setWindows(2 hours, 1 hours);
        registry.setParams(IGatewayRegistry.Params(MIN_BOND, 30 days, 2 hours, CHALLENGER_REWARD_BPS, REJECTED_SLASH_BPS));
        token.transferOwnership(address(handler)); // the handler mints what it deposits and bonds
        vm.label(address(handler), "SettlementHandler");
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: handler.actions()});
    }

    /// @notice The one invariant campaign (each `invariant_*` function would get a campaign of its own):
    /// after every handler call, all of (a)-(e) and the handler's own checks hold.
    function invariant_protocol() public view {
        _checkHandlerSawNoViolation();
        _checkFeeConservation();
        _checkEscrowIsOpenBatchFees();
        _checkBondsAndStakesHeld();
        _checkSequencesGapFree();
        _checkStatusesForwardAndQuorumFinalized();
    }

    // ================================================================== (a) conservation

    /// @notice The settlement holds exactly what it owes (balances + pending withdrawals + escrow +
    /// unclaimed rewards), and every OPG ever minted is in one of the three contracts, the treasury, the
    /// burn address or a sink (withdrawals, claims, bonds, challenger rewards): nothing created, nothing lost.
    function _checkFeeConservation() internal view {
        uint256 held; // what the settlement owes: balances + pending + escrow + unclaimed rewards
        for (uint256 i; i < _gateways.length; ++i) {
            (uint256 pending,) = settlement.pendingWithdrawal(_gateways[i]);
            held += settlement.balanceOf(_gateways[i]) + pending;
        }
        held += handler.ghostEscrow();
        for (uint256 v; v < N_VALIDATORS; ++v) {
            held += settlement.rewardsOwed(handler.validatorAddress(v));
        }
        _assertEq(token.balanceOf(address(settlement)), held, "settlement holds exactly what it owes");

        uint256 everywhere = token.balanceOf(address(settlement)) + token.balanceOf(address(registry))
            + token.balanceOf(address(validatorSet)) + token.balanceOf(settlementTreasury) + token.balanceOf(BURN)
            + token.balanceOf(handler.WITHDRAW_SINK()) + token.balanceOf(handler.REWARD_SINK())
            + token.balanceOf(handler.BOND_SINK()) + token.balanceOf(handler.CHALLENGER())
            + token.balanceOf(address(handler)); // minted for a bond a slashed key was refused
        _assertEq(token.totalSupply(), everywhere, "every OPG minted is accounted for");
        _assertEq(
            handler.ghostDeposited(),
            held + token.balanceOf(handler.WITHDRAW_SINK()) + token.balanceOf(handler.REWARD_SINK())
                + token.balanceOf(BURN) + _feesToTreasury(),
            "deposits == held + withdrawn + claimed + burned + fees to treasury"
        );
    }

    /// @dev The treasury's receipts that are fees (not slashed bonds or stakes): everything it holds
    /// minus what bonds and stakes lost. Bonds lost = bonded - bonds - withdrawn - challenger's bond
    /// rewards is not separable from stake rewards, so the treasury is checked through totals instead.
    function _feesToTreasury() internal view returns (uint256) {
        uint256 bonds;
        address[] memory keys = handler.bondedKeys(); // the gateways' keys and their successors
        for (uint256 i; i < keys.length; ++i) {
            bonds += registry.enclave(keys[i]).bond;
        }
        uint256 stakes;
        for (uint256 v; v < N_VALIDATORS; ++v) {
            stakes += validatorSet.validator(handler.validatorAddress(v)).stake;
        }
        // Slashed and penalized OPG = what left bonds and stakes other than by a bond withdrawal.
        uint256 slashed = handler.ghostBonded() + handler.ghostStaked() - bonds - stakes
            - token.balanceOf(handler.BOND_SINK());
        return token.balanceOf(settlementTreasury) + token.balanceOf(handler.CHALLENGER()) - slashed;
    }

    /// @notice The escrow ghost equals the fees of batches whose (contract) status is Submitted or Attested.
    function _checkEscrowIsOpenBatchFees() internal view {
        uint256 open;
        uint256 n = handler.batchCount();
        for (uint256 id; id < n; ++id) {
            (address gw, uint64 batchSeq,,, uint256 fee,,) = handler.batchInfo(id);
            (BatchStatus st,,,,) = settlement.batch(gw, batchSeq);
            if (st == BatchStatus.Submitted || st == BatchStatus.Attested) open += fee;
        }
        _assertEq(handler.ghostEscrow(), open, "escrow == fees of open batches");
    }

    // ================================================================== (b) bonds and stakes

    /// @notice The registry holds exactly the bonds, the validator set exactly the stakes.
    function _checkBondsAndStakesHeld() internal view {
        uint256 bonds;
        address[] memory keys = handler.bondedKeys(); // the gateways' keys and their successors
        for (uint256 i; i < keys.length; ++i) {
            bonds += registry.enclave(keys[i]).bond;
        }
        _assertEq(token.balanceOf(address(registry)), bonds, "registry holds exactly the bonds");
        uint256 stakes;
        for (uint256 v; v < N_VALIDATORS; ++v) {
            stakes += validatorSet.validator(handler.validatorAddress(v)).stake;
        }
        _assertEq(token.balanceOf(address(validatorSet)), stakes, "validator set holds exactly the stakes");
    }

    // ================================================================== (c) sequences

    /// @notice Per gateway: batches 0..nextBatchSeq-1 exist and tile [0, nextCallSeq) without gap or
    /// overlap (each callSeq in exactly one batch); nothing exists at nextBatchSeq. Monotonicity of the
    /// counters is checked by the handler after every call (see `violations`).
    function _checkSequencesGapFree() internal view {
        for (uint256 g; g < _gateways.length; ++g) {
            (uint64 nextCall, uint64 nextBatch) = settlement.nextSeqs(_gateways[g]);
            uint256[] memory ids = handler.batchIdsOf(g);
            _assertEq(ids.length, nextBatch, "one ghost batch per batchSeq");
            uint256 covered;
            for (uint256 k; k < ids.length; ++k) {
                (, uint64 batchSeq, uint64 firstCallSeq, uint32 count,,,) = handler.batchInfo(ids[k]);
                _assertEq(batchSeq, k, "batchSeqs contiguous from 0");
                _assertEq(firstCallSeq, covered, "batch starts where the previous one ended");
                covered += count;
            }
            _assertEq(nextCall, covered, "nextCallSeq == calls covered by batches");
            (BatchStatus past,,,,) = settlement.batch(_gateways[g], nextBatch);
            _assertTrue(past == BatchStatus.None, "no batch at nextBatchSeq");
        }
    }

    // ================================================================== (d) + (e) statuses

    /// @notice Each batch's status equals the ghost (which only ever moved forward, see the handler's
    /// `_move`), and none is Finalized without a quorum attestation.
    function _checkStatusesForwardAndQuorumFinalized() internal view {
        uint256 n = handler.batchCount();
        for (uint256 id; id < n; ++id) {
            (address gw, uint64 batchSeq,,,, BatchStatus ghost, bool quorumAttested) = handler.batchInfo(id);
            (BatchStatus st,,,,) = settlement.batch(gw, batchSeq);
            _assertEq(uint8(st), uint8(ghost), "status == ghost status");
            if (st == BatchStatus.Finalized) {
                _assertTrue(quorumAttested, "finalized only after quorum attestation");
                // The slot's time is the attestation's; finalize needed a whole window after it.
                (, uint64 attestedAt,,,) = settlement.batch(gw, batchSeq);
                _assertTrue(handler.finalizedAt(id) >= attestedAt + settlement.challengeWindow(), "finalized a window after attestation");
            }
        }
    }

    // ================================================================== handler-side checks

    /// @notice Every call succeeded or reverted exactly as the handler's model predicted, paid what it
    /// should, and no counter went backwards.
    function _checkHandlerSawNoViolation() internal view {
        if (handler.violations() != 0) revert AssertionFailed(handler.firstViolation(), handler.violations(), 0);
    }

    // ================================================================== the handler itself

    /// @notice A scripted run through every action's success path (and some failure paths), so a
    /// handler that can no longer reach success (e.g. after a contract change) is caught, not just
    /// silently reverting under `failOnRevert = false`.
    function test_handler_scriptedLifecycle_succeeds() public {
        SettlementHandler h = handler;
        for (uint256 g; g < 3; ++g) {
            h.deposit(g, 5e9);
        }
        h.submitBatch(0, 4, 0x2, 1); // batch 0: gateway 0, one void leaf
        h.submitBatch(1, 8, 0, 2); // batch 1: gateway 1
        h.submitBatch(0, 3, 0, 3); // batch 2: gateway 0, batchSeq 1
        h.submitBatch(2, 1, 0x1, 4); // batch 3: gateway 2, a single void leaf (fee 0)
        for (uint256 d; d < 10; ++d) {
            h.submitInvalidBatch(d, 3, 5 + d, d); // every defect kind: all must revert
        }
        h.attest(2, 0, 0); // batches 0 and 1, valid quorum
        h.attest(2 << 8, 4, 0); // batch 2 with two signatures: must revert
        h.attest(2 << 8, 5, 0); // unsorted signers: must revert
        h.attest(2 << 8, 6, 0); // a duplicate signer: must revert
        h.attest(2 << 8, 7, 0); // a stranger among the signers: must revert
        h.attest(2 << 8, 8, 0); // a high-s signature: must revert
        h.reject(2 << 8, 1, 1); // batch 2 rejected by quorum
        uint256 leafSeed;
        while (!h.oneIn(leafSeed, 8)) ++leafSeed; // a seed that passes the action's one-in-eight gate
        h.challengeEquivocation(3 << 8, leafSeed); // batch 3: equivocation against its void leaf; gateway 2 slashed
        h.finalize(2); // too early: must revert
        h.warp(16 * 3 hours);
        h.finalize(2); // batches 0 and 1
        for (uint256 v; v < N_VALIDATORS; ++v) {
            h.claimRewards(v);
        }
        h.claimRewards(0); // nothing left: must revert
        h.requestWithdraw(0, 1_000, false);
        h.requestWithdraw(0, 1_000, true); // not the operator: must revert
        h.withdraw(0, false); // locked: must revert
        h.warp(16 * 25 hours);
        h.withdraw(0, false);
        uint256 gwSeed = 1;
        while (!h.oneIn(gwSeed, 16)) gwSeed += 3; // gateway 1, through the one-in-sixteen gate
        h.requestBondWithdraw(gwSeed);
        h.warp(16 * 25 hours);
        h.withdrawBond(1);
        h.addBond(1, MIN_BOND);
        h.approveGateway(1);
        h.addBond(2, MIN_BOND); // the slashed key takes no new bond: must revert
        h.approveGateway(2); // nor an approval: must revert
        h.submitBatch(2, 5, 0, 6); // and never settles again: must revert
        h.submitBatch(1, 2, 0, 7); // batch 4: gateway 1 is back
        uint256 sSeed;
        while (!h.oneIn(sSeed, 8) || sSeed % 3 != 0) ++sSeed; // gateway 0, through the one-in-eight gate
        h.succeedGateway(sSeed); // gateway 0's key retired, successor 1 signs for it
        h.submitBatch(0, 2, 0, 8); // batch 5: signed by the successor, in gateway 0's sequence
        h.submitInvalidBatch(9, 3, 9, 9); // signed by the retired key: must revert
        uint256 aSeed;
        while (h.oneIn(aSeed >> 8, 2) || aSeed % 3 != 0) ++aSeed; // gateway 0's own key, not its successor
        h.approveGateway(aSeed); // the retired key is never approved again: must revert
        h.succeedGateway(sSeed); // successor 1 retired, successor 2 signs for gateway 0
        h.submitBatch(0, 2, 0, 9); // batch 6: signed by successor 2
        uint256 cSeed;
        while (!h.oneIn(cSeed, 4) || cSeed % 3 != 0) ++cSeed; // gateway 0, through the one-in-four gate
        uint256 oSeed;
        while (!h.oneIn(oSeed, 4) || oSeed % 3 != 1) ++oSeed; // gateway 1
        h.closeAccount(cSeed, true); // a stranger, before bondWithdrawDelay: must revert
        h.challengeOrphanedReceipt(oSeed, 257); // gateway 1's account is open: must revert
        h.closeAccount(cSeed, false); // gateway 0's operator closes its account at its end
        h.submitBatch(0, 2, 0, 10); // nothing settles for a closed account: must revert
        h.challengeOrphanedReceipt(cSeed, 3); // a settled callSeq is no orphan: must revert
        h.challengeOrphanedReceipt(cSeed, 514); // a receipt above the end: gateway 0's bond is slashed
        h.challengeOrphanedReceipt(cSeed, 257); // nothing left to take: must revert
        h.challengeEquivocation(6 << 8, leafSeed); // gateway 0's key signed another receipt: batch 6 rejected
        h.submitBatch(0, 2, 0, 11); // so its successor never signs for it again: must revert
        uint256 vSeed;
        while (!h.oneIn(vSeed, 16)) ++vSeed;
        h.slashContradiction(4 << 8, vSeed); // a validator signs attest and reject for batch 4: banned

        _assertEq(h.violations(), 0, "no handler violation");
        _assertEq(h.successes("submitBatch"), 7, "submitBatch successes");
        _assertEq(h.successes("succeedGateway"), 2, "succeedGateway successes");
        _assertEq(h.successes("closeAccount"), 1, "closeAccount successes");
        _assertEq(h.successes("challengeOrphanedReceipt"), 1, "orphan proof successes");
        _assertEq(h.successes("slashContradiction"), 1, "slashContradiction successes");
        _assertEq(validatorSet.validatorCount(), N_VALIDATORS - 1, "the contradicting validator left the set");
        _assertEq(h.successes("attest"), 1, "attest successes");
        _assertEq(h.successes("reject"), 1, "reject successes");
        _assertEq(h.successes("challengeEquivocation"), 2, "challenge successes");
        _assertEq(h.successes("finalize"), 1, "finalize successes");
        _assertEq(h.successes("claimRewards"), N_VALIDATORS, "claim successes");
        _assertEq(h.successes("withdraw"), 1, "withdraw successes");
        _assertEq(h.successes("withdrawBond"), 1, "withdrawBond successes");
        _assertEq(h.successes("approveGateway"), 1, "approve successes");
        _assertTrue(token.balanceOf(settlementTreasury) != 0 && token.balanceOf(BURN) != 0, "fees were split");
        invariant_protocol();
    }
}
