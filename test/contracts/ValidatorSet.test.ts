/**
 * ValidatorSet (v2): admitted and staked validators, delayed exit, the quorum that is always a strict
 * majority of the active set, the one quorum check (`verifyQuorum`), and slashing: a committed proof
 * that a validator signed contradicting verdicts, and the settlement-only attester slash.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, stringToHex, toHex, zeroAddress, type Address } from "viem";
import { quorumSignatures, signCompact, verdictDigest } from "../../sdk/approvals.js";
import {
  OPG,
  PARAMS,
  SALT,
  SECP256K1_N,
  TREASURY,
  VALIDATORS,
  VERDICT_ATTEST,
  VERDICT_REJECT,
  baseFixture,
  highS,
  localAccount,
  slashCommitment,
  type Ctx,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const addrs = VALIDATORS.map((v) => getAddress(v.address));
const DIGEST = keccak256(toHex("some digest"));
const name = (s: string) => stringToHex(s, { size: 32 });
const VStatus = { None: 0, Admitted: 1, Active: 2, Exiting: 3, Banned: 4 } as const;
const BPS = 10_000n;

async function fixture(): Promise<Ctx> {
  return baseFixture(viem, { enclave: false });
}

const ctorArgs = (
  ctx: Ctx,
  o: Partial<{
    token: Address;
    settlement: Address;
    owner: Address;
    admitted: Address[];
    quorum: bigint;
    minStake: bigint;
    exitDelay: bigint;
    proverRewardBps: number;
  }> = {},
) =>
  [
    o.token ?? ctx.token.address,
    o.settlement ?? ctx.settlement.address,
    o.owner ?? ctx.owner,
    o.admitted ?? addrs,
    o.quorum ?? 3n,
    o.minStake ?? PARAMS.minStake,
    o.exitDelay ?? BigInt(PARAMS.exitDelay),
    o.proverRewardBps ?? PARAMS.proverRewardBps,
  ] as const;

/** Sends a tx as a validator's local key (funded with ETH for gas). */
async function asValidator(i: number) {
  await networkHelpers.setBalance(VALIDATORS[i]!.address, 10n ** 18n);
  return { account: VALIDATORS[i]! };
}

describe("ValidatorSet", () => {
  describe("constructor", () => {
    it("test_constructor_admittedValidators_activeOnlyOnceStakedQuorumAndParamsStored", async () => {
      const ctx = await loadFixture(fixture);
      assert.deepEqual(await ctx.validatorSet.read.validators(), addrs);
      assert.equal(await ctx.validatorSet.read.validatorCount(), 5n);
      assert.equal(await ctx.validatorSet.read.quorum(), 3n);
      assert.equal(await ctx.validatorSet.read.isValidator([addrs[0]!]), true);
      assert.equal(await ctx.validatorSet.read.isValidator([ctx.stranger]), false);
      assert.deepEqual(await ctx.validatorSet.read.validator([addrs[0]!]), {
        status: VStatus.Active,
        unlockAt: 0n,
        stake: PARAMS.validatorStake,
      });
      assert.equal(getAddress(await ctx.validatorSet.read.SETTLEMENT()), getAddress(ctx.settlement.address));
      assert.equal(getAddress(await ctx.validatorSet.read.TOKEN()), getAddress(ctx.token.address));
      assert.deepEqual(await ctx.validatorSet.read.params(), [
        3n,
        PARAMS.minStake,
        BigInt(PARAMS.exitDelay),
        PARAMS.proverRewardBps,
      ]);
      assert.equal(await ctx.validatorSet.read.exitDelay(), BigInt(PARAMS.exitDelay));
      assert.equal(await ctx.validatorSet.read.version(), "0.2.0");
      assert.equal(await ctx.token.read.balanceOf([ctx.validatorSet.address]), PARAMS.validatorStake * 5n);
      // Admitted but not staked: not in the set.
      const fresh = await viem.deployContract("ValidatorSet", ctorArgs(ctx));
      assert.equal(await fresh.read.validatorCount(), 0n);
      assert.deepEqual(await fresh.read.validator([addrs[0]!]), { status: VStatus.Admitted, unlockAt: 0n, stake: 0n });
      assert.equal(await fresh.read.quorum(), 3n); // the configured k; the majority of an empty set is 1
    });

    it("test_constructor_zeroAddressDuplicateValidatorOrInvalidParam_revertsValidatorZeroAddressInvalidStatusInvalidParamOrOwnableInvalidOwner", async () => {
      const ctx = await loadFixture(fixture);
      const vs = ctx.validatorSet;
      const d = (o: Parameters<typeof ctorArgs>[1]) => viem.deployContract("ValidatorSet", ctorArgs(ctx, o));
      await viem.assertions.revertWithCustomError(d({ token: zeroAddress }), vs, "ValidatorZeroAddress");
      await viem.assertions.revertWithCustomError(d({ settlement: zeroAddress }), vs, "ValidatorZeroAddress");
      await viem.assertions.revertWithCustomError(
        d({ admitted: [addrs[0]!, zeroAddress] }),
        vs,
        "ValidatorZeroAddress",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        d({ admitted: [addrs[0]!, addrs[0]!] }),
        vs,
        "ValidatorInvalidStatus",
        [addrs[0]!, VStatus.Admitted],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(d({ quorum: 0n }), vs, "ValidatorInvalidParam", [
        name("quorum"),
        0n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(d({ minStake: 0n }), vs, "ValidatorInvalidParam", [
        name("minStake"),
        0n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(d({ exitDelay: 3599n }), vs, "ValidatorInvalidParam", [
        name("exitDelay"),
        3599n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(d({ proverRewardBps: 1001 }), vs, "ValidatorInvalidParam", [
        name("proverRewardBps"),
        1001n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(d({ owner: zeroAddress }), vs, "OwnableInvalidOwner", [
        zeroAddress,
      ]);
    });
  });

  describe("staking", () => {
    it("test_addValidatorThenStake_anyoneStakesAtLeastMinStake_joinsActiveSetTopUpsAddNeverAdmittedRevertsInvalidStatus", async () => {
      const ctx = await loadFixture(fixture);
      const v = getAddress(localAccount("new validator").address);
      await viem.assertions.emitWithArgs(
        ctx.validatorSet.write.addValidator([v]),
        ctx.validatorSet,
        "ValidatorAdmitted",
        [v],
      );
      assert.equal(await ctx.validatorSet.read.isValidator([v]), false);
      assert.equal(await ctx.validatorSet.read.validatorCount(), 5n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.addValidator([v]),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [v, VStatus.Admitted],
      );
      await viem.assertions.revertWithCustomError(
        ctx.validatorSet.write.addValidator([zeroAddress]),
        ctx.validatorSet,
        "ValidatorZeroAddress",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.stake([v, PARAMS.minStake - 1n]),
        ctx.validatorSet,
        "ValidatorStakeTooLow",
        [PARAMS.minStake - 1n, PARAMS.minStake],
      );
      // A stranger stakes for it.
      await ctx.token.write.transfer([ctx.stranger, PARAMS.minStake + OPG(1)]);
      await ctx.token.write.approve([ctx.validatorSet.address, PARAMS.minStake + OPG(1)], { account: ctx.stranger });
      const hash = await ctx.validatorSet.write.stake([v, PARAMS.minStake], { account: ctx.stranger });
      await viem.assertions.emitWithArgs(hash, ctx.validatorSet, "StakeAdded", [
        v,
        ctx.stranger,
        PARAMS.minStake,
        PARAMS.minStake,
      ]);
      await viem.assertions.emitWithArgs(hash, ctx.validatorSet, "ValidatorJoined", [v, PARAMS.minStake]);
      assert.equal(await ctx.validatorSet.read.isValidator([v]), true);
      assert.equal(await ctx.validatorSet.read.validatorCount(), 6n);
      assert.equal(await ctx.validatorSet.read.quorum(), 4n); // strict majority of 6
      await viem.assertions.emitWithArgs(
        ctx.validatorSet.write.stake([v, OPG(1)], { account: ctx.stranger }),
        ctx.validatorSet,
        "StakeAdded",
        [v, ctx.stranger, OPG(1), PARAMS.minStake + OPG(1)],
      );
      await ctx.validatorSet.write.stake([v, 0n], { account: ctx.stranger }); // a zero top-up pulls nothing
      assert.equal((await ctx.validatorSet.read.validator([v])).stake, PARAMS.minStake + OPG(1));
      // Nobody stakes for an account that was never admitted.
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.stake([ctx.stranger, PARAMS.minStake]),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [ctx.stranger, VStatus.None],
      );
    });

    it("test_requestExitThenWithdrawStake_activeValidatorExits_leavesSetAtOnceStakeUnlocksAfterExitDelayRecordCleared", async () => {
      const ctx = await loadFixture(fixture);
      const v0 = addrs[0]!;
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const unlockAt = t + BigInt(PARAMS.exitDelay);
      await viem.assertions.emitWithArgs(
        ctx.validatorSet.write.requestExit(await asValidator(0)),
        ctx.validatorSet,
        "ValidatorExiting",
        [v0, unlockAt],
      );
      assert.equal(await ctx.validatorSet.read.isValidator([v0]), false);
      assert.equal(await ctx.validatorSet.read.quorum(), 3n); // majority of 4
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.requestExit(await asValidator(0)),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [v0, VStatus.Exiting],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.stake([v0, OPG(1)]),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [v0, VStatus.Exiting],
      );
      await networkHelpers.time.setNextBlockTimestamp(unlockAt - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.withdrawStake([v0], await asValidator(0)),
        ctx.validatorSet,
        "ValidatorStakeLocked",
        [v0, unlockAt],
      );
      await viem.assertions.revertWithCustomError(
        ctx.validatorSet.write.withdrawStake([zeroAddress], await asValidator(0)),
        ctx.validatorSet,
        "ValidatorZeroAddress",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.withdrawStake([v0], await asValidator(1)),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [addrs[1]!, VStatus.Active],
      );
      await networkHelpers.time.setNextBlockTimestamp(unlockAt);
      await viem.assertions.emitWithArgs(
        ctx.validatorSet.write.withdrawStake([ctx.stranger], await asValidator(0)),
        ctx.validatorSet,
        "StakeWithdrawn",
        [v0, ctx.stranger, PARAMS.validatorStake],
      );
      assert.equal(await ctx.token.read.balanceOf([ctx.stranger]), PARAMS.validatorStake);
      assert.deepEqual(await ctx.validatorSet.read.validator([v0]), { status: VStatus.None, unlockAt: 0n, stake: 0n });
      // Returning takes governance to admit it again.
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.stake([v0, PARAMS.minStake]),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [v0, VStatus.None],
      );
      await ctx.validatorSet.write.addValidator([v0]);
      await ctx.validatorSet.write.stake([v0, PARAMS.minStake]);
      assert.equal(await ctx.validatorSet.read.isValidator([v0]), true);
    });
  });

  describe("governance", () => {
    it("test_removeValidator_activeOrAdmittedValidator_activeExitsAdmittedDismissedQuorumFollowsMajority", async () => {
      const ctx = await loadFixture(fixture);
      const hash = await ctx.validatorSet.write.removeValidator([addrs[0]!]);
      await viem.assertions.emitWithArgs(hash, ctx.validatorSet, "ValidatorExiting", [
        addrs[0]!,
        (u: bigint) => u > 0n,
      ]);
      assert.equal(await ctx.validatorSet.read.isValidator([addrs[0]!]), false);
      assert.equal((await ctx.validatorSet.read.validator([addrs[0]!])).status, VStatus.Exiting);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.removeValidator([addrs[0]!]),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [addrs[0]!, VStatus.Exiting],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.removeValidator([ctx.stranger]),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [ctx.stranger, VStatus.None],
      );
      const admitted = getAddress(localAccount("admitted only").address);
      await ctx.validatorSet.write.addValidator([admitted]);
      await viem.assertions.emitWithArgs(
        ctx.validatorSet.write.removeValidator([admitted]),
        ctx.validatorSet,
        "ValidatorDismissed",
        [admitted],
      );
      assert.equal((await ctx.validatorSet.read.validator([admitted])).status, VStatus.None);
      await ctx.validatorSet.write.removeValidator([addrs[1]!]);
      await ctx.validatorSet.write.removeValidator([addrs[2]!]);
      // 2 left: the configured 3 is above the set (liveness is governance's call), never below the majority.
      assert.equal(await ctx.validatorSet.read.quorum(), 3n);
      await ctx.validatorSet.write.setQuorum([1n]);
      assert.equal(await ctx.validatorSet.read.quorum(), 2n);
    });

    it("test_setQuorum_validZeroOrBelowMajority_emitsQuorumChangedElseRevertsInvalidParamNeverBelowMajority", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.emitWithArgs(ctx.validatorSet.write.setQuorum([5n]), ctx.validatorSet, "QuorumChanged", [
        5n,
      ]);
      assert.equal(await ctx.validatorSet.read.quorum(), 5n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.setQuorum([0n]),
        ctx.validatorSet,
        "ValidatorInvalidParam",
        [name("quorum"), 0n],
      );
      for (const k of [1n, 2n]) {
        await ctx.validatorSet.write.setQuorum([k]);
        assert.equal(await ctx.validatorSet.read.quorum(), 3n);
        assert.equal((await ctx.validatorSet.read.params())[0], k);
      }
    });

    it("test_setStakeParams_zeroMinStakeShortExitDelayOrRewardAboveCap_emitsStakeParamsChangedElseRevertsValidatorInvalidParam", async () => {
      const ctx = await loadFixture(fixture);
      const vs = ctx.validatorSet;
      await viem.assertions.emitWithArgs(vs.write.setStakeParams([OPG(1), 7200n, 0]), vs, "StakeParamsChanged", [
        OPG(1),
        7200n,
        0,
      ]);
      assert.deepEqual(await vs.read.params(), [3n, OPG(1), 7200n, 0]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.write.setStakeParams([0n, 7200n, 0]),
        vs,
        "ValidatorInvalidParam",
        [name("minStake"), 0n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.write.setStakeParams([OPG(1), 3599n, 0]),
        vs,
        "ValidatorInvalidParam",
        [name("exitDelay"), 3599n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.write.setStakeParams([OPG(1), 7200n, 1001]),
        vs,
        "ValidatorInvalidParam",
        [name("proverRewardBps"), 1001n],
      );
      // A stake must stay slashable for a whole challenge window.
      await ctx.settlement.write.setWindows([7200, PARAMS.withdrawDelay]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.write.setStakeParams([OPG(1), 7199n, 0]),
        vs,
        "ValidatorInvalidParam",
        [name("exitDelay"), 7199n],
      );
    });
  });

  describe("verifyQuorum", () => {
    it("test_verifyQuorum_atLeastQuorumValidSignatures_returnsAscendingSigners", async () => {
      const ctx = await loadFixture(fixture);
      assert.deepEqual(
        await ctx.validatorSet.read.verifyQuorum([DIGEST, await quorumSignatures(VALIDATORS.slice(0, 3), DIGEST)]),
        addrs.slice(0, 3),
      );
      assert.deepEqual(
        await ctx.validatorSet.read.verifyQuorum([DIGEST, await quorumSignatures(VALIDATORS, DIGEST)]),
        addrs,
      );
    });

    it("test_verifyQuorum_belowQuorumDuplicateUnsortedUnknownExitingOrMalformedSigner_revertsQuorumNotReachedNotAscendingUnknownSignerOrInvalidSignature", async () => {
      const ctx = await loadFixture(fixture);
      const vs = ctx.validatorSet;
      const sigs = await quorumSignatures(VALIDATORS, DIGEST);
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([DIGEST, sigs.slice(0, 2)]),
        vs,
        "ValidatorQuorumNotReached",
        [2n, 3n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([DIGEST, []]),
        vs,
        "ValidatorQuorumNotReached",
        [0n, 3n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([DIGEST, [sigs[0]!, sigs[1]!, sigs[1]!]]),
        vs,
        "ValidatorSignersNotAscending",
        [2n, addrs[1]!],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([DIGEST, [sigs[0]!, sigs[2]!, sigs[1]!]]),
        vs,
        "ValidatorSignersNotAscending",
        [2n, addrs[1]!],
      );
      const outsider = localAccount("outsider");
      const trio = [...VALIDATORS.slice(0, 2), outsider];
      const mixed = await quorumSignatures(trio, DIGEST);
      const sorted = trio.map((a) => getAddress(a.address)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      const idx = BigInt(sorted.indexOf(getAddress(outsider.address)));
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([DIGEST, mixed]),
        vs,
        "ValidatorUnknownSigner",
        [idx, getAddress(outsider.address)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([
          DIGEST,
          [{ r: sigs[0]!.r, vs: toHex(SECP256K1_N / 2n + 1n, { size: 32 }) }, sigs[1]!, sigs[2]!],
        ]),
        vs,
        "ValidatorInvalidSignature",
        [0n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([DIGEST, [highS(sigs[0]!), sigs[1]!, sigs[2]!]]),
        vs,
        "ValidatorUnknownSigner",
        [0n, (a: string) => a !== addrs[0]],
      );
      // r = 0 makes ecrecover fail: a malformed signature.
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([DIGEST, [{ r: toHex(0n, { size: 32 }), vs: sigs[0]!.vs }, sigs[1]!, sigs[2]!]]),
        vs,
        "ValidatorInvalidSignature",
        [0n],
      );
      // v2: an admitted validator that has not staked, or one that is exiting, does not count.
      await ctx.validatorSet.write.requestExit(await asValidator(0));
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.read.verifyQuorum([DIGEST, sigs.slice(0, 3)]),
        vs,
        "ValidatorUnknownSigner",
        [0n, addrs[0]!],
      );
    });

    it("test_verifyQuorum_quorumRaised_revertsValidatorQuorumNotReached", async () => {
      const ctx = await loadFixture(fixture);
      await ctx.validatorSet.write.setQuorum([4n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.read.verifyQuorum([DIGEST, await quorumSignatures(VALIDATORS.slice(0, 3), DIGEST)]),
        ctx.validatorSet,
        "ValidatorQuorumNotReached",
        [3n, 4n],
      );
    });
  });

  describe("slashing", () => {
    const H1 = keccak256(toHex("header 1"));
    const H2 = keccak256(toHex("header 2"));
    const verdictSig = (ctx: Ctx, i: number, verdict: 1 | 2, hashes: `0x${string}`[]) =>
      signCompact(VALIDATORS[i]!, verdictDigest(ctx.chainId, ctx.settlement.address, verdict, hashes));

    it("test_slashContradiction_attestAndRejectOfOneHeader_wholeStakeSlashedBannedProverPaidReward", async () => {
      const ctx = await loadFixture(fixture);
      const v = addrs[1]!;
      const attestSig = await verdictSig(ctx, 1, VERDICT_ATTEST, [H2, H1]);
      const rejectSig = await verdictSig(ctx, 1, VERDICT_REJECT, [H1]);
      await viem.assertions.emitWithArgs(
        ctx.validatorSet.write.commitSlash([slashCommitment(ctx.challenger, v, H1)], { account: ctx.challenger }),
        ctx.validatorSet,
        "SlashCommitted",
        [slashCommitment(ctx.challenger, v, H1), ctx.challenger],
      );
      const treasury = await ctx.token.read.balanceOf([TREASURY]);
      const reward = (PARAMS.validatorStake * BigInt(PARAMS.proverRewardBps)) / BPS;
      const hash = await ctx.validatorSet.write.slashContradiction(
        [[H2, H1], attestSig, [H1], rejectSig, 1n, 0n, SALT],
        { account: ctx.challenger },
      );
      await viem.assertions.emitWithArgs(hash, ctx.validatorSet, "ValidatorSlashed", [
        v,
        ctx.challenger,
        PARAMS.validatorStake,
        reward,
        true,
      ]);
      assert.equal(await ctx.token.read.balanceOf([ctx.challenger]), reward);
      assert.equal(await ctx.token.read.balanceOf([TREASURY]), treasury + PARAMS.validatorStake - reward);
      assert.deepEqual(await ctx.validatorSet.read.validator([v]), { status: VStatus.Banned, unlockAt: 0n, stake: 0n });
      assert.equal(await ctx.validatorSet.read.isValidator([v]), false);
      // Banned for good: a second proof finds nothing to slash; it cannot be admitted or staked again.
      await ctx.validatorSet.write.commitSlash([slashCommitment(ctx.challenger, v, H1)], { account: ctx.challenger });
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.slashContradiction([[H2, H1], attestSig, [H1], rejectSig, 1n, 0n, SALT], {
          account: ctx.challenger,
        }),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [v, VStatus.Banned],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.addValidator([v]),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [v, VStatus.Banned],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.stake([v, PARAMS.minStake]),
        ctx.validatorSet,
        "ValidatorInvalidStatus",
        [v, VStatus.Banned],
      );
    });

    it("test_slashContradiction_exitingValidator_stillSlashedAndBanned", async () => {
      const ctx = await loadFixture(fixture);
      const v = addrs[2]!;
      await ctx.validatorSet.write.requestExit(await asValidator(2));
      await ctx.validatorSet.write.commitSlash([slashCommitment(ctx.challenger, v, H1)], { account: ctx.challenger });
      await ctx.validatorSet.write.slashContradiction(
        [
          [H1],
          await verdictSig(ctx, 2, VERDICT_ATTEST, [H1]),
          [H1],
          await verdictSig(ctx, 2, VERDICT_REJECT, [H1]),
          0n,
          0n,
          SALT,
        ],
        { account: ctx.challenger },
      );
      assert.equal((await ctx.validatorSet.read.validator([v])).status, VStatus.Banned);
    });

    it("test_slashContradiction_nonContradictingVerdictsOrNoCallerCommitment_revertsValidatorNotContradictingOrNotCommitted", async () => {
      const ctx = await loadFixture(fixture);
      const a1 = await verdictSig(ctx, 1, VERDICT_ATTEST, [H1]);
      const r1 = await verdictSig(ctx, 1, VERDICT_REJECT, [H1]);
      const r2 = await verdictSig(ctx, 2, VERDICT_REJECT, [H1]);
      const r1other = await verdictSig(ctx, 1, VERDICT_REJECT, [H2]);
      const vs = ctx.validatorSet;
      // Two validators, one verdict each: no contradiction.
      await viem.assertions.revertWithCustomError(
        vs.write.slashContradiction([[H1], a1, [H1], r2, 0n, 0n, SALT]),
        vs,
        "ValidatorNotContradicting",
      );
      // One validator, different headers.
      await viem.assertions.revertWithCustomError(
        vs.write.slashContradiction([[H1], a1, [H2], r1other, 0n, 0n, SALT]),
        vs,
        "ValidatorNotContradicting",
      );
      // Two attest verdicts (the "reject" signature is over an attest verdict): they recover to different signers.
      await viem.assertions.revertWithCustomError(
        vs.write.slashContradiction([[H1], a1, [H1], a1, 0n, 0n, SALT]),
        vs,
        "ValidatorNotContradicting",
      );
      const commitment = slashCommitment(ctx.stranger, addrs[1]!, H1);
      await viem.assertions.revertWithCustomErrorWithArgs(
        vs.write.slashContradiction([[H1], a1, [H1], r1, 0n, 0n, SALT], { account: ctx.stranger }),
        vs,
        "ValidatorNotCommitted",
        [commitment],
      );
      await vs.write.commitSlash([commitment], { account: ctx.stranger });
      await vs.write.commitSlash([commitment], { account: ctx.stranger }); // a repeated commitment keeps its first block
      await viem.assertions.revertWithCustomError(
        vs.write.slashContradiction([[H1], a1, [H1], r1, 0n, 0n, SALT], { account: ctx.challenger }),
        vs,
        "ValidatorNotCommitted",
      );
      await vs.write.slashContradiction([[H1], a1, [H1], r1, 0n, 0n, SALT], { account: ctx.stranger });
    });

    it("test_slashAttesters_callerNotSettlement_revertsValidatorOnlySettlement", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.slashAttesters([addrs, 1000, ctx.stranger], { account: ctx.stranger }),
        ctx.validatorSet,
        "ValidatorOnlySettlement",
        [ctx.stranger],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.slashAttesters([addrs, 1000, ctx.owner]),
        ctx.validatorSet,
        "ValidatorOnlySettlement",
        [ctx.owner],
      );
    });
  });
});
