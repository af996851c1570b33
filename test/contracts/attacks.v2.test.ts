/**
 * Issue 16: the seven attacks an independent review proved against 8e78928, one test each, named after
 * the attack. Each test plays the attack against the v2 contracts and asserts that it fails (or costs
 * the attacker what the trust model in DESIGN.md says it must).
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { encodeFunctionData, getAddress, keccak256, stringToHex, toHex, zeroAddress, zeroHash, type Hex } from "viem";
import { signCompact, verdictDigest } from "../../sdk/approvals.js";
import {
  DEADLINE,
  ENCLAVE_A,
  MODELS,
  PARAMS,
  SALT,
  Status,
  TREASURY,
  VALIDATORS,
  VERDICT_ATTEST,
  VERDICT_REJECT,
  approvalSigs,
  attest,
  attestersOf,
  baseFixture,
  buildBatch,
  challenge,
  challengeCommitment,
  commitChallenge,
  finalize,
  localAccount,
  randomReceipts,
  receiptSig,
  registryParams,
  reject,
  revealChallenge,
  sendBatch,
  slashCommitment,
  statusOf,
  submitBatch,
  windowEnd,
  type Batch,
  type Ctx,
  type Equivocation,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);
const BPS = 10_000n;
const WINDOW = BigInt(PARAMS.challengeWindow);
const name = (s: string) => stringToHex(s, { size: 32 });
const QUORUM = VALIDATORS.slice(0, PARAMS.quorum).map((v) => getAddress(v.address));
const VStatus = { None: 0, Admitted: 1, Active: 2, Exiting: 3, Banned: 4 } as const;

async function fixture(): Promise<Ctx> {
  return baseFixture(viem);
}

/**
 * An equivocating gateway: it signed receipt 2 for the user (who holds it), then settled a batch that
 * holds a different receipt at callSeq 2.
 */
async function equivocationFixture(): Promise<{ ctx: Ctx; b: Batch; e: Equivocation }> {
  const ctx = await baseFixture(viem);
  const receipts = randomReceipts(A, 0n, 8);
  const shown = receipts[2]!;
  const sig = await receiptSig(ctx, ENCLAVE_A, shown);
  receipts[2] = { ...shown, responseHash: keccak256(toHex("the answer the gateway settled instead")) };
  const b = await submitBatch(ctx, { receipts });
  return {
    ctx,
    b,
    e: {
      signedReceipt: shown,
      receiptSig: sig,
      settledReceipt: receipts[2],
      settledIsVoid: false,
      proof: b.tree.proof(2),
    },
  };
}

describe("attacks of issue 16 against v2", () => {
  // Issue 16, attack 1.
  it("test_attack_withholdReceiptsPastWindow_windowStartsAtAttestationSoEquivocationProofStillLands", async () => {
    const { ctx, b, e } = await loadFixture(equivocationFixture);
    // The gateway serves nothing; validators cannot attest. Long after a window measured from submission...
    await networkHelpers.time.increase(10 * PARAMS.challengeWindow);
    assert.equal(await windowEnd(ctx, b), 0n); // ...no window has even started,
    await viem.assertions.revertWithCustomErrorWithArgs(
      finalize(ctx, [b], { attesters: QUORUM }),
      ctx.settlement,
      "SettlementInvalidStatus",
      [A, 0n, Status.Submitted],
    );
    // The gateway finally publishes; validators attest (late attestation is fine).
    await attest(ctx, [b]);
    const end = await windowEnd(ctx, b);
    const [, attestedAt] = await ctx.settlement.read.batch([A, 0n]);
    assert.equal(end, attestedAt + WINDOW);
    // Finalize before attestedAt + window reverts, so the batch cannot be rushed through.
    await networkHelpers.time.setNextBlockTimestamp(end - 2n);
    await viem.assertions.revertWithCustomErrorWithArgs(finalize(ctx, [b]), ctx.settlement, "SettlementWindowOpen", [
      A,
      0n,
      end,
    ]);
    // The user, now holding the published receipts, commits and reveals within the window.
    await commitChallenge(ctx, b, e);
    const bond = (await ctx.registry.read.enclave([A])).bond;
    await viem.assertions.emitWithArgs(revealChallenge(ctx, b, e), ctx.settlement, "BatchRejected", [
      A,
      0n,
      true,
      ctx.challenger,
      0n,
    ]);
    assert.equal(await statusOf(ctx, b), Status.Rejected);
    assert.equal((await ctx.registry.read.enclave([A])).bond, 0n);
    assert.ok(bond > 0n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      finalize(ctx, [b], { attesters: QUORUM }),
      ctx.settlement,
      "SettlementInvalidStatus",
      [A, 0n, Status.Rejected],
    );
  });

  // Issue 16, attack 2.
  it("test_attack_copyPendingChallengeReveal_settlementNotCommittedAndRewardCappedAt10Percent", async () => {
    const { ctx, b, e } = await loadFixture(equivocationFixture);
    await commitChallenge(ctx, b, e); // the honest challenger
    // A front-runner copies the pending reveal, same arguments, from its own account: no commitment of its own.
    const copier = ctx.stranger;
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.settlement.write.challengeEquivocation([b.header, e, SALT, []], { account: copier }),
      ctx.settlement,
      "SettlementNotCommitted",
      [challengeCommitment(copier, b.headerHash, e.signedReceipt, SALT)],
    );
    // Committing now is too late: the honest reveal lands first and is paid.
    await commitChallenge(ctx, b, e, { account: copier });
    const before = await ctx.token.read.balanceOf([ctx.challenger]);
    const reward = (PARAMS.minBond * BigInt(PARAMS.challengerRewardBps)) / BPS;
    await viem.assertions.emitWithArgs(revealChallenge(ctx, b, e), ctx.registry, "BondSlashed", [
      A,
      ctx.challenger,
      PARAMS.minBond,
      reward,
    ]);
    assert.equal(await ctx.token.read.balanceOf([ctx.challenger]), before + reward);
    await viem.assertions.revertWithCustomErrorWithArgs(
      revealChallenge(ctx, b, e, { account: copier }),
      ctx.settlement,
      "SettlementInvalidStatus",
      [A, 0n, Status.Rejected],
    );
    assert.equal(await ctx.token.read.balanceOf([copier]), 0n);

    // The reward share is bounded: at most MAX_CHALLENGER_REWARD_BPS (10 %), governance cannot raise it.
    assert.equal(await ctx.registry.read.MAX_CHALLENGER_REWARD_BPS(), 1000);
    assert.ok(PARAMS.challengerRewardBps <= 1000);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.setParams([registryParams({ challengerRewardBps: 1001 })]),
      ctx.registry,
      "RegistryInvalidBps",
      [1001n],
    );
  });

  // Issue 16, attack 2b.
  it("test_attack_equivocatorChallengesItselfFirst_recoversOnlyChallengerRewardBpsOfBond", async () => {
    const { ctx, b, e } = await loadFixture(equivocationFixture);
    const treasury = await ctx.token.read.balanceOf([TREASURY]);
    const before = await ctx.token.read.balanceOf([ctx.operator]);
    await challenge(ctx, b, e, { account: ctx.operator });
    const recovered = (await ctx.token.read.balanceOf([ctx.operator])) - before;
    assert.equal(recovered, (PARAMS.minBond * BigInt(PARAMS.challengerRewardBps)) / BPS);
    assert.ok(recovered * 10n <= PARAMS.minBond); // <= 10 %
    // The rest of the bond, and the whole fee, went to the treasury.
    assert.equal(await ctx.token.read.balanceOf([TREASURY]), treasury + PARAMS.minBond - recovered + b.header.fee);
  });

  // Issue 16, attack 3.
  it("test_attack_ownerDrainsDeposits_hardParamBoundsMajorityQuorumAndTimelockDelay", async () => {
    const ctx = await loadFixture(fixture);
    const s = ctx.settlement;
    const over = 10n ** 17n + 1n;
    // Rates above the hard bounds.
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setFeeRate([{ perCall: over, perKiloInputToken: 0n, perKiloOutputToken: 0n }]),
      s,
      "SettlementInvalidParam",
      [name("perCall"), over],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setFeeRate([{ perCall: 0n, perKiloInputToken: over, perKiloOutputToken: 0n }]),
      s,
      "SettlementInvalidParam",
      [name("perKiloInputToken"), over],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setFeeRate([{ perCall: 0n, perKiloInputToken: 0n, perKiloOutputToken: over }]),
      s,
      "SettlementInvalidParam",
      [name("perKiloOutputToken"), over],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setModelFeeRate([MODELS[0]!, { perCall: over, perKiloInputToken: 0n, perKiloOutputToken: 0n }, true]),
      s,
      "SettlementInvalidParam",
      [name("perCall"), over],
    );
    // The treasury never takes more than MAX_TREASURY_BPS of a finalized fee.
    assert.equal(await s.read.MAX_TREASURY_BPS(), 5000);
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setFeeSplit([0, 10_000, 0, 0]),
      s,
      "SettlementInvalidParam",
      [name("treasuryBps"), 10_000n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setFeeSplit([4999, 5001, 0, 0]),
      s,
      "SettlementInvalidParam",
      [name("treasuryBps"), 5001n],
    );
    // Windows: never shorter than the current one (the launch value is the floor) and at most the validators' exit delay.
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setWindows([PARAMS.exitDelay + 1, PARAMS.withdrawDelay]),
      s,
      "SettlementInvalidParam",
      [name("challengeWindow"), BigInt(PARAMS.exitDelay + 1)],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setWindows([59, PARAMS.withdrawDelay]),
      s,
      "SettlementInvalidParam",
      [name("challengeWindow"), 59n],
    );

    // ValidatorSet: the owner sets quorum 1, yet quorum() stays a strict majority (3 of 5)...
    await ctx.validatorSet.write.setQuorum([1n]);
    assert.equal(await ctx.validatorSet.read.quorum(), 3n);
    // ...so two disjoint pairs cannot attest and reject the same batch.
    const b = await submitBatch(ctx);
    await viem.assertions.revertWithCustomErrorWithArgs(
      attest(ctx, [b], VALIDATORS.slice(0, 2)),
      ctx.validatorSet,
      "ValidatorQuorumNotReached",
      [2n, 3n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      reject(ctx, [b], VALIDATORS.slice(2, 4)),
      ctx.validatorSet,
      "ValidatorQuorumNotReached",
      [2n, 3n],
    );

    // Governance through an OpenZeppelin TimelockController: a fee change runs only after the delay.
    const delay = 2n * 86_400n;
    const timelock = await viem.deployContract("Timelock", [delay, [ctx.owner], [ctx.owner], zeroAddress]);
    await s.write.transferOwnership([timelock.address]);
    const call = async (data: Hex, salt: Hex) => {
      await timelock.write.schedule([s.address, 0n, data, zeroHash, salt, delay]);
      return (await timelock.read.hashOperation([s.address, 0n, data, zeroHash, salt])) as Hex;
    };
    const accept = encodeFunctionData({ abi: s.abi, functionName: "acceptOwnership" });
    await call(accept, zeroHash);
    await networkHelpers.time.increase(delay);
    await timelock.write.execute([s.address, 0n, accept, zeroHash, zeroHash]);
    assert.equal(getAddress(await s.read.owner()), getAddress(timelock.address));
    // The old owner has no direct power any more.
    await viem.assertions.revertWithCustomErrorWithArgs(
      s.write.setFeeRate([PARAMS.rate]),
      s,
      "OwnableUnauthorizedAccount",
      [ctx.owner],
    );
    // A batch submitted before the change keeps its fee.
    await attest(ctx, [b]);
    const raised = { perCall: 10n ** 17n, perKiloInputToken: 0n, perKiloOutputToken: 0n };
    const setFee = encodeFunctionData({ abi: s.abi, functionName: "setFeeRate", args: [raised] });
    const id = await call(setFee, keccak256(toHex("raise")));
    await networkHelpers.time.increase(delay - 10n);
    await viem.assertions.revertWithCustomError(
      timelock.write.execute([s.address, 0n, setFee, zeroHash, keccak256(toHex("raise"))]),
      timelock,
      "TimelockUnexpectedOperationState",
    );
    assert.deepEqual(await s.read.feeRate(), PARAMS.rate);
    assert.equal(await timelock.read.isOperationReady([id]), false);
    await networkHelpers.time.increase(10n);
    await timelock.write.execute([s.address, 0n, setFee, zeroHash, keccak256(toHex("raise"))]);
    assert.deepEqual(await s.read.feeRate(), raised);
    const total = b.header.fee;
    await viem.assertions.emitWithArgs(finalize(ctx, [b]), s, "FeesDistributed", [
      1,
      total,
      ((total * BigInt(PARAMS.validatorBps)) / BPS / 3n) * 3n,
      (v: bigint) => v <= total / 2n,
      (total * BigInt(PARAMS.burnBps)) / BPS,
    ]);
  });

  // Issue 16, attack 4.
  it("test_attack_withdrawBondWhileBatchesChallengeable_registryBatchesOpenUntilFinalAndSlashTakesBond", async () => {
    const { ctx, b, e } = await loadFixture(equivocationFixture);
    const honest = await submitBatch(ctx);
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
    // Submitted batches are still open.
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
      ctx.registry,
      "RegistryBatchesOpen",
      [A, 2n],
    );
    // Attested ones too, for their whole window (which governance may lengthen meanwhile).
    await attest(ctx, [b, honest]);
    await ctx.settlement.write.setWindows([PARAMS.exitDelay, PARAMS.withdrawDelay]);
    await networkHelpers.time.increase(PARAMS.challengeWindow);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
      ctx.registry,
      "RegistryBatchesOpen",
      [A, 2n],
    );
    // The equivocation is proven in between: the bond is slashed, nothing is left to withdraw.
    await challenge(ctx, b, e);
    assert.equal((await ctx.registry.read.enclave([A])).bond, 0n);
    assert.equal(await ctx.settlement.read.openBatches([A]), 1n);
    await networkHelpers.time.increaseTo(await windowEnd(ctx, honest));
    await finalize(ctx, [honest]);
    assert.equal(await ctx.settlement.read.openBatches([A]), 0n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
      ctx.registry,
      "RegistryNoBondWithdrawal",
      [A],
    );
  });

  // Issue 16, attack 4b.
  it("test_attack_withdrawBondWhileBatchesChallengeable_registryBatchesOpenThenHonestOperatorPaidOnceFinal", async () => {
    const ctx = await loadFixture(fixture);
    const b = await submitBatch(ctx);
    await attest(ctx, [b]);
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
      ctx.registry,
      "RegistryBatchesOpen",
      [A, 1n],
    );
    await finalize(ctx, [b]);
    await viem.assertions.emitWithArgs(
      ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
      ctx.registry,
      "BondWithdrawn",
      [A, ctx.operator, PARAMS.minBond],
    );
  });

  // Issue 16, attack 5.
  it("test_attack_undoDeactivationOrReviveSlashedKey_nonceVoidsApprovalsDeadlineExpiresSlashedKeyNeverReturns", async () => {
    const { ctx, b, e } = await loadFixture(equivocationFixture);
    // A quorum's approval collected while the key was live...
    const outstanding = await approvalSigs(ctx, A);
    // ...cannot re-activate it after the operator retired it (e.g. the key leaked).
    await ctx.registry.write.deactivate([A], { account: ctx.operator });
    await viem.assertions.revertWithCustomError(
      ctx.registry.write.approveEnclave([A, DEADLINE, outstanding]),
      ctx.validatorSet,
      "ValidatorUnknownSigner",
    );
    assert.equal(await ctx.registry.read.isActive([A]), false);
    // An approval past its deadline is refused even at the right nonce.
    const deadline = BigInt(await networkHelpers.time.latest()) + 60n;
    const shortLived = await approvalSigs(ctx, A, undefined, deadline);
    await networkHelpers.time.setNextBlockTimestamp(deadline + 1n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.approveEnclave([A, deadline, shortLived]),
      ctx.registry,
      "RegistryApprovalExpired",
      [A, deadline],
    );
    // A bond withdrawal request voids outstanding approvals as well.
    const nonce = (await ctx.registry.read.enclave([A])).approvalNonce;
    await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
    assert.equal((await ctx.registry.read.enclave([A])).approvalNonce, nonce + 1n);
    // The equivocation is proven: the key is slashed and banned for good.
    const pending = await approvalSigs(ctx, A);
    await challenge(ctx, b, e);
    const en = await ctx.registry.read.enclave([A]);
    assert.equal(en.slashed, true);
    assert.equal(en.approvalNonce, nonce + 2n);
    await ctx.token.write.approve([ctx.registry.address, PARAMS.minBond], { account: ctx.operator });
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.addBond([A, PARAMS.minBond], { account: ctx.operator }),
      ctx.registry,
      "RegistryEnclaveSlashed",
      [A],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.reattest([A, keccak256(toHex("fresh doc"))], { account: ctx.operator }),
      ctx.registry,
      "RegistryEnclaveSlashed",
      [A],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.approveEnclave([A, DEADLINE, pending]),
      ctx.registry,
      "RegistryEnclaveSlashed",
      [A],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.approveEnclave([A, DEADLINE, await approvalSigs(ctx, A)]),
      ctx.registry,
      "RegistryEnclaveSlashed",
      [A],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      sendBatch(ctx, await buildBatch(ctx)),
      ctx.settlement,
      "SettlementGatewayInactive",
      [A],
    );
  });

  // Issue 16, attack 6.
  it("test_attack_underReportUsageToEvadeFees_quorumRejectCostsBondPenaltyAndVerifyReceiptNotFinal", async () => {
    const ctx = await loadFixture(fixture);
    const b = await submitBatch(ctx, { count: 8, mutate: (h) => void ((h.usage = []), (h.fee = 0n)) });
    assert.equal(b.header.fee, 0n);
    // A user checking a call sees "Submitted" (1): settled on-chain but not checked, not final.
    assert.equal(
      await ctx.settlement.read.verifyReceipt([b.header, b.receipts[0]!, b.tree.proof(0)]),
      Status.Submitted,
    );
    const balance = await ctx.settlement.read.balanceOf([A]);
    const treasury = await ctx.token.read.balanceOf([TREASURY]);
    const penalty = (PARAMS.minBond * BigInt(PARAMS.rejectedSlashBps)) / BPS;
    const hash = await reject(ctx, [b]);
    await viem.assertions.emitWithArgs(hash, ctx.registry, "BondPenalized", [A, penalty, PARAMS.minBond - penalty]);
    // The fee it paid (0) is gone, and rejectedSlashBps of its bond.
    assert.equal(await ctx.settlement.read.balanceOf([A]), balance);
    assert.equal(await ctx.token.read.balanceOf([TREASURY]), treasury + penalty);
    assert.equal((await ctx.registry.read.enclave([A])).bond, PARAMS.minBond - penalty);
    assert.equal(await ctx.settlement.read.verifyReceipt([b.header, b.receipts[0]!, b.tree.proof(0)]), Status.Rejected);

    // Under-reporting half the calls (fee > 0), with v2's default refund of 0: the whole fee is lost too.
    await ctx.settlement.write.setFeeSplit([PARAMS.validatorBps, PARAMS.treasuryBps, PARAMS.burnBps, 0]);
    const rate = await ctx.settlement.read.feeRate();
    const half = await buildBatch(ctx, { count: 8 });
    const under = await buildBatch(ctx, {
      receipts: half.receipts,
      mutate: (h) => {
        h.usage = [{ ...h.usage[0]!, calls: 1 }];
        h.fee =
          rate.perCall +
          (h.usage[0]!.inputTokens * rate.perKiloInputToken) / 1000n +
          (h.usage[0]!.outputTokens * rate.perKiloOutputToken) / 1000n;
      },
    });
    await sendBatch(ctx, under);
    const balance2 = await ctx.settlement.read.balanceOf([A]);
    const bond2 = (await ctx.registry.read.enclave([A])).bond;
    await reject(ctx, [under]);
    assert.equal(await ctx.settlement.read.balanceOf([A]), balance2); // no refund
    assert.equal((await ctx.registry.read.enclave([A])).bond, bond2 - (bond2 * BigInt(PARAMS.rejectedSlashBps)) / BPS);

    // An honest batch reads Submitted (1), Attested (2), and only then Finalized (3): the only final answer.
    const honest = await submitBatch(ctx);
    const status = () => ctx.settlement.read.verifyReceipt([honest.header, honest.receipts[3]!, honest.tree.proof(3)]);
    assert.equal(await status(), Status.Submitted);
    await attest(ctx, [honest]);
    assert.equal(await status(), Status.Attested);
    await networkHelpers.time.increaseTo(await windowEnd(ctx, honest));
    await finalize(ctx, [honest]);
    assert.equal(await status(), Status.Finalized);
  });

  // Issue 16, attack 7.
  it("test_attack_freeRideValidatorsOrDisjointQuorums_onlyAttestersPaidMajorityQuorumAndSigningValidatorsSlashed", async () => {
    const ctx = await loadFixture(fixture);
    const b = await submitBatch(ctx, { count: 30 });
    await attest(ctx, [b]);
    // A validator admitted and staked a block after the attestation...
    const late = getAddress(localAccount("late validator").address);
    await ctx.validatorSet.write.addValidator([late]);
    await ctx.validatorSet.write.stake([late, PARAMS.minStake]);
    // ...makes the quorum a strict majority of 6 (4), whatever k is configured.
    assert.equal(await ctx.validatorSet.read.validatorCount(), 6n);
    assert.equal(await ctx.validatorSet.read.quorum(), 4n);
    await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
    await finalize(ctx, [b]);
    // ...and earns nothing for a batch it never saw; nor do the validators that did not sign.
    const share = (b.header.fee * BigInt(PARAMS.validatorBps)) / BPS / 3n;
    assert.ok(share > 0n);
    assert.equal(await ctx.settlement.read.rewardsOwed([late]), 0n);
    for (const v of VALIDATORS.slice(3)) assert.equal(await ctx.settlement.read.rewardsOwed([v.address]), 0n);
    for (const v of QUORUM) assert.equal(await ctx.settlement.read.rewardsOwed([v]), share);

    // A validator signs attest and reject for one header (as one of two would-be disjoint quorums).
    const b2 = await submitBatch(ctx);
    const v0 = VALIDATORS[0]!;
    const attestSig = await signCompact(
      v0,
      verdictDigest(ctx.chainId, ctx.settlement.address, VERDICT_ATTEST, [b2.headerHash]),
    );
    const rejectSig = await signCompact(
      v0,
      verdictDigest(ctx.chainId, ctx.settlement.address, VERDICT_REJECT, [b2.headerHash]),
    );
    const prover = ctx.stranger;
    await ctx.validatorSet.write.commitSlash([slashCommitment(prover, v0.address, b2.headerHash)], { account: prover });
    // Someone copies the pending proof without a commitment of its own: reverts.
    const args = [[b2.headerHash], attestSig, [b2.headerHash], rejectSig, 0n, 0n, SALT] as const;
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.validatorSet.write.slashContradiction(args, { account: ctx.challenger }),
      ctx.validatorSet,
      "ValidatorNotCommitted",
      [slashCommitment(ctx.challenger, v0.address, b2.headerHash)],
    );
    const treasury = await ctx.token.read.balanceOf([TREASURY]);
    const reward = (PARAMS.validatorStake * BigInt(PARAMS.proverRewardBps)) / BPS;
    await viem.assertions.emitWithArgs(
      ctx.validatorSet.write.slashContradiction(args, { account: prover }),
      ctx.validatorSet,
      "ValidatorSlashed",
      [getAddress(v0.address), prover, PARAMS.validatorStake, reward, true],
    );
    assert.equal(await ctx.token.read.balanceOf([prover]), reward);
    assert.equal(await ctx.token.read.balanceOf([TREASURY]), treasury + PARAMS.validatorStake - reward);
    assert.equal((await ctx.validatorSet.read.validator([v0.address])).status, VStatus.Banned);
    assert.equal(await ctx.validatorSet.read.isValidator([v0.address]), false);
    // Its signature no longer counts toward any quorum.
    await viem.assertions.revertWithCustomErrorWithArgs(attest(ctx, [b2]), ctx.validatorSet, "ValidatorUnknownSigner", [
      0n,
      getAddress(v0.address),
    ]);

    // Attesters of a batch later proven equivocating lose attesterSlashBps of their stake.
    const receipts = randomReceipts(A, (await ctx.settlement.read.nextSeqs([A]))[0], 4);
    const shown = receipts[1]!;
    const sig = await receiptSig(ctx, ENCLAVE_A, shown);
    receipts[1] = { ...shown, inputTokens: shown.inputTokens + 1 };
    const b3 = await submitBatch(ctx, { receipts, batchSeq: 2n });
    // b2 is still Submitted (batchSeq 1); three of the remaining validators attest b3.
    const signers = VALIDATORS.slice(1, 4);
    await attest(ctx, [b3], signers);
    const attesters = await attestersOf(ctx, b3);
    assert.deepEqual(
      attesters,
      signers.map((v) => getAddress(v.address)),
    );
    const stakes = await Promise.all(attesters.map(async (a) => (await ctx.validatorSet.read.validator([a])).stake));
    await challenge(ctx, b3, {
      signedReceipt: shown,
      receiptSig: sig,
      settledReceipt: receipts[1],
      settledIsVoid: false,
      proof: b3.tree.proof(1),
    });
    for (let i = 0; i < attesters.length; i++) {
      assert.equal(
        (await ctx.validatorSet.read.validator([attesters[i]!])).stake,
        stakes[i]! - (stakes[i]! * BigInt(PARAMS.attesterSlashBps)) / BPS,
      );
    }
    // The fourth remaining validator, who did not attest, keeps its stake.
    assert.equal((await ctx.validatorSet.read.validator([VALIDATORS[4]!.address])).stake, PARAMS.validatorStake);
  });
});
