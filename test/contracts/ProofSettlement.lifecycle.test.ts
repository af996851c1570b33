/**
 * A batch's life after submission: quorum attest (which starts the challenge window) and reject (fee
 * plus a bond penalty), finalize with the fee split and rewards for the attesting quorum only, and
 * committed equivocation challenges that slash the enclave's bond and its attesters' stakes.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-viem-assertions/predicates";
import { getAddress, keccak256, toHex, zeroAddress, type Address, type Hex } from "viem";
import { hashHeader, settlementDomain, signReceipt } from "../../sdk/index.js";
import { verdictDigest } from "../../sdk/approvals.js";
import {
  BURN_ADDRESS,
  ENCLAVE_A,
  ENCLAVE_B,
  MEASUREMENT_B,
  PARAMS,
  SECP256K1_N,
  Status,
  TREASURY,
  VALIDATORS,
  VERDICT_ATTEST,
  VERDICT_REJECT,
  DEADLINE,
  SALT,
  approvalSigs,
  approveEnclave,
  attest,
  attestersOf,
  baseFixture,
  buildBatch,
  challenge,
  challengeCommitment,
  commitChallenge,
  finalize,
  highS,
  localAccount,
  randomReceipts,
  receiptSig,
  refOf,
  registerEnclave,
  reject,
  revealChallenge,
  sendBatch,
  statusOf,
  submitBatch,
  tokenBalances,
  verdictSigs,
  windowEnd,
  type Batch,
  type Ctx,
  type Equivocation,
  type Receipt,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);
const BPS = 10_000n;

async function fixture(): Promise<Ctx> {
  return baseFixture(viem);
}

/** The fixture plus one submitted batch of 8 receipts. */
async function submittedFixture(): Promise<{ ctx: Ctx; b: Batch }> {
  const ctx = await baseFixture(viem);
  return { ctx, b: await submitBatch(ctx, { count: 8 }) };
}

/** One attested batch. */
async function attestedFixture(): Promise<{ ctx: Ctx; b: Batch }> {
  const { ctx, b } = await submittedFixture();
  await attest(ctx, [b]);
  return { ctx, b };
}

/**
 * Equivocation: the enclave signed `signed` for callSeq 2 (the user holds it with `sig`), yet the batch
 * it settled holds a different receipt at that callSeq.
 */
async function equivocationFixture(): Promise<{
  ctx: Ctx;
  b: Batch;
  signed: Receipt;
  sig: { r: Hex; vs: Hex };
  settled: Receipt;
  e: Equivocation;
}> {
  const ctx = await baseFixture(viem);
  const receipts = randomReceipts(A, 0n, 8);
  const signed = receipts[2]!;
  const sig = await receiptSig(ctx, ENCLAVE_A, signed);
  const settled = { ...signed, responseHash: keccak256(toHex("a different answer")) };
  receipts[2] = settled;
  const b = await submitBatch(ctx, { receipts });
  const e: Equivocation = {
    signedReceipt: signed,
    receiptSig: sig,
    settledReceipt: settled,
    settledIsVoid: false,
    proof: b.tree.proof(2),
  };
  return { ctx, b, signed, sig, settled, e };
}

/** The proof with some fields replaced. */
const eq = (e: Equivocation, o: Partial<Equivocation>): Equivocation => ({ ...e, ...o });
const QUORUM = VALIDATORS.slice(0, PARAMS.quorum).map((v) => getAddress(v.address));

/** Sends a tx as a validator's local key (funded with ETH for gas). */
async function asValidator(i: number): Promise<{ account: (typeof VALIDATORS)[number] }> {
  await networkHelpers.setBalance(VALIDATORS[i]!.address, 10n ** 18n);
  return { account: VALIDATORS[i]! };
}

describe("ProofSettlement lifecycle", () => {
  describe("attest", () => {
    it("test_attest_quorumSignsSubmittedBatch_attestedSignersRecordedAndWindowStarts", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      const digest = verdictDigest(ctx.chainId, ctx.settlement.address, VERDICT_ATTEST, [b.headerHash]);
      assert.equal(await ctx.settlement.read.verdictDigest([VERDICT_ATTEST, [b.headerHash]]), digest);
      const [, submittedAt, endBefore, idBefore] = await ctx.settlement.read.batch([A, 0n]);
      assert.equal(endBefore, 0n); // no window before attestation
      assert.equal(idBefore, 0);
      const t = BigInt(await networkHelpers.time.latest()) + 50n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const hash = await attest(ctx, [b]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "Attestation", [1, digest, QUORUM]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "BatchAttested", [A, 0n, 1]);
      const [status, since, end, id, prefix] = await ctx.settlement.read.batch([A, 0n]);
      assert.equal(status, Status.Attested);
      assert.ok(since > submittedAt);
      assert.equal(since, t);
      assert.equal(end, t + BigInt(PARAMS.challengeWindow));
      assert.equal(id, 1);
      assert.equal(prefix, `${b.headerHash.slice(0, 42)}${"0".repeat(24)}`);
      assert.deepEqual(await attestersOf(ctx, b), QUORUM);
    });

    it("test_attest_manyBatchesUnderOneQuorumSignature_allAttested", async () => {
      const { ctx } = await loadFixture(fixtureWithB);
      const batches = [await submitBatch(ctx), await submitBatch(ctx), await submitBatch(ctx, { key: ENCLAVE_B })];
      const hash = await attest(ctx, batches);
      for (const b of batches) {
        await viem.assertions.emitWithArgs(hash, ctx.settlement, "BatchAttested", [
          b.header.gateway,
          b.header.batchSeq,
          anyValue,
        ]);
        assert.equal(await statusOf(ctx, b), Status.Attested);
      }
    });

    it("test_attest_emptyList_revertsSettlementEmptyList", async () => {
      const { ctx } = await loadFixture(submittedFixture);
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.attest([[], await verdictSigs(ctx, VERDICT_ATTEST, [])]),
        ctx.settlement,
        "SettlementEmptyList",
      );
    });

    it("test_attest_quorumMinusOneSignatures_revertsValidatorQuorumNotReached", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      const sigs = await verdictSigs(ctx, VERDICT_ATTEST, [b.headerHash], VALIDATORS.slice(0, 2));
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[refOf(b)], sigs]),
        ctx.validatorSet,
        "ValidatorQuorumNotReached",
        [2n, 3n],
      );
    });

    it("test_attest_duplicateSigner_revertsValidatorSignersNotAscending", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      const [s0, s1] = await verdictSigs(ctx, VERDICT_ATTEST, [b.headerHash], VALIDATORS.slice(0, 2));
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[refOf(b)], [s0!, s0!, s1!]]),
        ctx.validatorSet,
        "ValidatorSignersNotAscending",
        [1n, getAddress(VALIDATORS[0]!.address)],
      );
    });

    it("test_attest_unsortedSigners_revertsValidatorSignersNotAscending", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      const sigs = await verdictSigs(ctx, VERDICT_ATTEST, [b.headerHash]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[refOf(b)], [sigs[1]!, sigs[0]!, sigs[2]!]]),
        ctx.validatorSet,
        "ValidatorSignersNotAscending",
        [1n, getAddress(VALIDATORS[0]!.address)],
      );
    });

    it("test_attest_removedValidatorSignature_revertsValidatorUnknownSigner", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      await ctx.validatorSet.write.removeValidator([VALIDATORS[0]!.address]);
      const sigs = await verdictSigs(ctx, VERDICT_ATTEST, [b.headerHash]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[refOf(b)], sigs]),
        ctx.validatorSet,
        "ValidatorUnknownSigner",
        [0n, getAddress(VALIDATORS[0]!.address)],
      );
      await ctx.settlement.write.attest([
        [refOf(b)],
        await verdictSigs(ctx, VERDICT_ATTEST, [b.headerHash], VALIDATORS.slice(1, 4)),
      ]);
    });

    it("test_attest_nonValidatorSignature_revertsValidatorUnknownSigner", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      const outsider = localAccount("not a validator");
      const mixed = await verdictSigs(ctx, VERDICT_ATTEST, [b.headerHash], [...VALIDATORS.slice(0, 2), outsider]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[refOf(b)], mixed]),
        ctx.validatorSet,
        "ValidatorUnknownSigner",
        [anyValue, getAddress(outsider.address)],
      );
    });

    for (const [what, opts] of [
      ["AnotherBatch", { hashes: [keccak256(toHex("another header"))] }],
      ["AnotherChain", { chainId: 1 }],
      ["AnotherContract", { settlement: "0x00000000000000000000000000000000DeaDBeef" as Address }],
      ["RejectVerdict", { verdict: VERDICT_REJECT }],
    ] as const) {
      it(`test_attest_signaturesOver${what}_revertsValidatorUnknownSigner`, async () => {
        const { ctx, b } = await loadFixture(submittedFixture);
        const o = opts as { hashes?: Hex[]; chainId?: number; settlement?: Address; verdict?: 1 | 2 };
        const sigs = await verdictSigs(ctx, o.verdict ?? VERDICT_ATTEST, o.hashes ?? [b.headerHash], undefined, o);
        // Each signature recovers to an unrelated address; the first one already fails.
        await viem.assertions.revertWithCustomErrorWithArgs(
          ctx.settlement.write.attest([[refOf(b)], sigs]),
          ctx.validatorSet,
          "ValidatorUnknownSigner",
          [0n, (a: Address) => !VALIDATORS.some((v) => getAddress(v.address) === a)],
        );
      });
    }

    it("test_attest_highSSignature_revertsValidatorUnknownSignerOrInvalidSignature", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      const sigs = await verdictSigs(ctx, VERDICT_ATTEST, [b.headerHash]);
      // The malleable twin (r, n - s) recovers to someone else under EIP-2098 decoding...
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[refOf(b)], [highS(sigs[0]!), sigs[1]!, sigs[2]!]]),
        ctx.validatorSet,
        "ValidatorUnknownSigner",
        [0n, (a: Address) => a !== getAddress(VALIDATORS[0]!.address)],
      );
      // ...and an s in (n/2, 2^255) is refused by the low-s rule.
      const vs = toHex(SECP256K1_N / 2n + 1n, { size: 32 });
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[refOf(b)], [{ r: sigs[0]!.r, vs }, sigs[1]!, sigs[2]!]]),
        ctx.validatorSet,
        "ValidatorInvalidSignature",
        [0n],
      );
    });

    it("test_attest_headerHashOrBatchSeqNotStored_revertsSettlementUnknownBatch", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      const fake = { ...refOf(b), headerHash: keccak256(toHex("forged")) };
      const sigs = await verdictSigs(ctx, VERDICT_ATTEST, [fake.headerHash]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[fake], sigs]),
        ctx.settlement,
        "SettlementUnknownBatch",
        [A, 0n],
      );
      const missing = { ...refOf(b), batchSeq: 5n };
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.attest([[missing], await verdictSigs(ctx, VERDICT_ATTEST, [b.headerHash])]),
        ctx.settlement,
        "SettlementUnknownBatch",
        [A, 5n],
      );
    });

    it("test_attest_alreadyAttestedOrRejected_revertsSettlementInvalidStatus", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(attest(ctx, [b]), ctx.settlement, "SettlementInvalidStatus", [
        A,
        0n,
        Status.Attested,
      ]);
      const b2 = await submitBatch(ctx);
      await reject(ctx, [b2]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        attest(ctx, [b2]),
        ctx.settlement,
        "SettlementInvalidStatus",
        [A, 1n, Status.Rejected],
      );
    });

    for (const late of [
      BigInt(PARAMS.challengeWindow) - 1n,
      BigInt(PARAMS.challengeWindow),
      10n * BigInt(PARAMS.challengeWindow),
    ]) {
      it(`test_attest_${late}sAfterSubmission_attestedAndFinalizeWaitsFullWindowFromAttestation`, async () => {
        const { ctx, b } = await loadFixture(submittedFixture);
        const [, submittedAt] = await ctx.settlement.read.batch([A, 0n]);
        await networkHelpers.time.setNextBlockTimestamp(submittedAt + late);
        await attest(ctx, [b]);
        assert.equal(await statusOf(ctx, b), Status.Attested);
        const end = await windowEnd(ctx, b);
        assert.equal(end, submittedAt + late + BigInt(PARAMS.challengeWindow));
        await viem.assertions.revertWithCustomErrorWithArgs(
          finalize(ctx, [b]),
          ctx.settlement,
          "SettlementWindowOpen",
          [A, 0n, end],
        );
        await networkHelpers.time.setNextBlockTimestamp(end);
        await finalize(ctx, [b]);
        assert.equal(await statusOf(ctx, b), Status.Finalized);
      });
    }
  });

  describe("reject", () => {
    it("test_reject_quorumRejectsSubmittedBatch_refundsRefundBpsRestAndBondPenaltyToTreasury", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      const refund = (b.header.fee * BigInt(PARAMS.rejectedRefundBps)) / BPS;
      const penalty = (PARAMS.minBond * BigInt(PARAMS.rejectedSlashBps)) / BPS;
      const balance = await ctx.settlement.read.balanceOf([A]);
      const treasury = await ctx.token.read.balanceOf([TREASURY]);
      const hash = await reject(ctx, [b]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "BatchRejected", [A, 0n, false, zeroAddress, refund]);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "BondPenalized", [A, penalty, PARAMS.minBond - penalty]);
      assert.equal(await statusOf(ctx, b), Status.Rejected);
      assert.equal(await ctx.settlement.read.balanceOf([A]), balance + refund);
      assert.equal(await ctx.token.read.balanceOf([TREASURY]), treasury + b.header.fee - refund + penalty);
      // v2: quorum rejection penalizes the bond (it used to cost nothing but the fee); the key stays usable.
      assert.equal((await ctx.registry.read.enclave([A])).bond, PARAMS.minBond - penalty);
      assert.equal(await ctx.registry.read.isActive([A]), true);
      assert.equal(await ctx.settlement.read.openBatches([A]), 0n);
    });

    it("test_reject_rejectedSlashBpsZero_bondNotPenalized", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      await ctx.registry.write.setParams([
        {
          minBond: PARAMS.minBond,
          heartbeatInterval: BigInt(PARAMS.heartbeatInterval),
          bondWithdrawDelay: BigInt(PARAMS.bondWithdrawDelay),
          challengerRewardBps: PARAMS.challengerRewardBps,
          rejectedSlashBps: 0,
        },
      ]);
      await viem.assertions.emitWithArgs(reject(ctx, [b]), ctx.settlement, "BatchRejected", [
        A,
        0n,
        false,
        zeroAddress,
        anyValue,
      ]);
      assert.equal((await ctx.registry.read.enclave([A])).bond, PARAMS.minBond);
    });

    it("test_reject_attestedAndSubmittedBatchesInOneCall_allRejectedOnePenaltyEach", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      const b2 = await submitBatch(ctx);
      const treasury = await ctx.token.read.balanceOf([TREASURY]);
      const balance = await ctx.settlement.read.balanceOf([A]);
      await reject(ctx, [b, b2]);
      const fees = b.header.fee + b2.header.fee;
      const refunds = (b.header.fee * 5000n) / BPS + (b2.header.fee * 5000n) / BPS;
      // One penalty per rejected batch, each on the bond left by the previous one.
      const p1 = (PARAMS.minBond * BigInt(PARAMS.rejectedSlashBps)) / BPS;
      const p2 = ((PARAMS.minBond - p1) * BigInt(PARAMS.rejectedSlashBps)) / BPS;
      assert.equal(await ctx.settlement.read.balanceOf([A]), balance + refunds);
      assert.equal(await ctx.token.read.balanceOf([TREASURY]), treasury + fees - refunds + p1 + p2);
      assert.equal((await ctx.registry.read.enclave([A])).bond, PARAMS.minBond - p1 - p2);
      assert.equal(await statusOf(ctx, b), Status.Rejected);
      assert.equal(await statusOf(ctx, b2), Status.Rejected);
    });

    it("test_reject_rejectedRefundBpsZeroOrFull_refundsNothingOrWholeFee", async () => {
      const { ctx } = await loadFixture(submittedFixture);
      for (const bps of [0n, 10_000n]) {
        await ctx.settlement.write.setFeeSplit([PARAMS.validatorBps, PARAMS.treasuryBps, PARAMS.burnBps, Number(bps)]);
        const b = await submitBatch(ctx);
        const balance = await ctx.settlement.read.balanceOf([A]);
        await viem.assertions.emitWithArgs(reject(ctx, [b]), ctx.settlement, "BatchRejected", [
          A,
          b.header.batchSeq,
          false,
          zeroAddress,
          (b.header.fee * bps) / BPS,
        ]);
        assert.equal(await ctx.settlement.read.balanceOf([A]), balance + (b.header.fee * bps) / BPS);
      }
    });

    it("test_reject_singleValidatorSignature_revertsValidatorQuorumNotReachedAndFinalizeNotDelayed", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      const one = await verdictSigs(ctx, VERDICT_REJECT, [b.headerHash], VALIDATORS.slice(0, 1));
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.reject([[b.header], one], { account: ctx.stranger }),
        ctx.validatorSet,
        "ValidatorQuorumNotReached",
        [1n, 3n],
      );
      // Anyone finalizes exactly at the window end.
      await networkHelpers.time.setNextBlockTimestamp(await windowEnd(ctx, b));
      await finalize(ctx, [b], { account: ctx.stranger });
      assert.equal(await statusOf(ctx, b), Status.Finalized);
    });

    it("test_reject_attestedBatchAtWindowEndMinus1_rejected", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      await networkHelpers.time.setNextBlockTimestamp((await windowEnd(ctx, b)) - 1n);
      await reject(ctx, [b]);
      assert.equal(await statusOf(ctx, b), Status.Rejected);
    });

    for (const offset of [0n, 1n]) {
      it(`test_reject_attestedBatchAtWindowEndPlus${offset}_revertsSettlementWindowClosed`, async () => {
        const { ctx, b } = await loadFixture(attestedFixture);
        const end = await windowEnd(ctx, b);
        await networkHelpers.time.setNextBlockTimestamp(end + offset);
        await viem.assertions.revertWithCustomErrorWithArgs(
          reject(ctx, [b]),
          ctx.settlement,
          "SettlementWindowClosed",
          [A, 0n, end],
        );
      });
    }

    it("test_reject_neverAttestedBatchLongAfterSubmission_rejected", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      await networkHelpers.time.increase(10 * PARAMS.challengeWindow);
      await reject(ctx, [b]);
      assert.equal(await statusOf(ctx, b), Status.Rejected);
    });

    it("test_reject_finalizedRejectedUnknownOrEmpty_revertsSettlementInvalidStatusUnknownBatchOrEmptyList", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
      await finalize(ctx, [b]);
      await viem.assertions.revertWithCustomErrorWithArgs(reject(ctx, [b]), ctx.settlement, "SettlementInvalidStatus", [
        A,
        0n,
        Status.Finalized,
      ]);
      const b2 = await submitBatch(ctx);
      await reject(ctx, [b2]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        reject(ctx, [b2]),
        ctx.settlement,
        "SettlementInvalidStatus",
        [A, 1n, Status.Rejected],
      );
      const forged = { ...b2, header: { ...b2.header, daURI: "elsewhere" } };
      forged.headerHash = hashHeader(forged.header);
      await viem.assertions.revertWithCustomErrorWithArgs(
        reject(ctx, [forged]),
        ctx.settlement,
        "SettlementUnknownBatch",
        [A, 1n],
      );
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.reject([[], []]),
        ctx.settlement,
        "SettlementEmptyList",
      );
    });

    it("test_reject_sameBatchTwiceInOneCall_revertsSettlementInvalidStatus", async () => {
      const { ctx, b } = await loadFixture(submittedFixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        reject(ctx, [b, b]),
        ctx.settlement,
        "SettlementInvalidStatus",
        [A, 0n, Status.Rejected],
      );
    });
  });

  describe("finalize", () => {
    for (const offset of [0n, 1n]) {
      it(`test_finalize_byStrangerAtWindowEndPlus${offset}_finalizedEmitsBatchFinalized`, async () => {
        const { ctx, b } = await loadFixture(attestedFixture);
        await networkHelpers.time.setNextBlockTimestamp((await windowEnd(ctx, b)) + offset);
        await viem.assertions.emitWithArgs(
          finalize(ctx, [b], { account: ctx.stranger }),
          ctx.settlement,
          "BatchFinalized",
          [A, 0n, b.header.fee],
        );
        assert.equal(await statusOf(ctx, b), Status.Finalized);
      });
    }

    it("test_finalize_atWindowEndMinus1_revertsSettlementWindowOpen", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      const end = await windowEnd(ctx, b);
      await networkHelpers.time.setNextBlockTimestamp(end - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(finalize(ctx, [b]), ctx.settlement, "SettlementWindowOpen", [
        A,
        0n,
        end,
      ]);
    });

    it("test_finalize_attestersOtherThanSigners_revertsSettlementWrongAttesters", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
      const others = VALIDATORS.slice(1, 4).map((v) => getAddress(v.address));
      for (const attesters of [others, [...QUORUM].reverse(), QUORUM.slice(0, 2), [...QUORUM, others[2]!], []]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          finalize(ctx, [b], { attesters }),
          ctx.settlement,
          "SettlementWrongAttesters",
          [1],
        );
      }
      await finalize(ctx, [b], { attesters: QUORUM });
    });

    it("test_finalize_batchesOfDifferentAttestations_revertsSettlementMixedAttestations", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      const b2 = await submitBatch(ctx);
      await attest(ctx, [b2], VALIDATORS.slice(1, 4));
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b2));
      await viem.assertions.revertWithCustomErrorWithArgs(
        finalize(ctx, [b, b2]),
        ctx.settlement,
        "SettlementMixedAttestations",
        [1, 2],
      );
      await finalize(ctx, [b]);
      await finalize(ctx, [b2]);
      assert.equal(await statusOf(ctx, b2), Status.Finalized);
    });

    it("test_finalize_twiceNeverAttestedRejectedUnknownOrEmpty_revertsSettlementInvalidStatusUnknownBatchOrEmptyList", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      const b2 = await submitBatch(ctx);
      const b3 = await submitBatch(ctx);
      await reject(ctx, [b3]);
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
      await finalize(ctx, [b]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        finalize(ctx, [b], { attesters: QUORUM }),
        ctx.settlement,
        "SettlementInvalidStatus",
        [A, 0n, Status.Finalized],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        finalize(ctx, [b2], { attesters: QUORUM }),
        ctx.settlement,
        "SettlementInvalidStatus",
        [A, 1n, Status.Submitted],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        finalize(ctx, [b3], { attesters: QUORUM }),
        ctx.settlement,
        "SettlementInvalidStatus",
        [A, 2n, Status.Rejected],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.finalize([[{ ...b2.header, fee: 0n }], QUORUM]),
        ctx.settlement,
        "SettlementUnknownBatch",
        [A, 1n],
      );
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.finalize([[], QUORUM]),
        ctx.settlement,
        "SettlementEmptyList",
      );
    });

    it("test_finalize_threeBatchesOneAttestation_feesSplitByBpsSignersClaimEqualSharesOpgConserved", async () => {
      const { ctx } = await loadFixture(fixtureWithB);
      const supply = await ctx.token.read.totalSupply();
      const before = await tokenBalances(ctx, [ctx.owner]);
      const batches = [
        await submitBatch(ctx, { count: 30 }),
        await submitBatch(ctx, { count: 17 }),
        await submitBatch(ctx, { key: ENCLAVE_B, count: 5 }),
      ];
      await attest(ctx, batches);
      await networkHelpers.time.increaseTo(await windowEnd(ctx, batches[2]!));
      const total = batches.reduce((s, b) => s + b.header.fee, 0n);
      const burned = (total * BigInt(PARAMS.burnBps)) / BPS;
      // The validator share is split equally among the 3 signers; the remainder below one wei each goes to the treasury.
      const share = (total * BigInt(PARAMS.validatorBps)) / BPS / 3n;
      const toValidators = share * 3n;
      const toTreasury = total - burned - toValidators;
      const hash = await finalize(ctx, batches, { account: ctx.stranger });
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "FeesDistributed", [
        1,
        total,
        toValidators,
        toTreasury,
        burned,
      ]);
      for (const b of batches)
        await viem.assertions.emitWithArgs(hash, ctx.settlement, "BatchFinalized", [
          b.header.gateway,
          b.header.batchSeq,
          b.header.fee,
        ]);
      const after = await tokenBalances(ctx, [ctx.owner]);
      assert.equal(after.get(TREASURY)! - before.get(TREASURY)!, toTreasury);
      assert.equal(after.get(BURN_ADDRESS)! - before.get(BURN_ADDRESS)!, burned);

      // Every signer is owed the same share; validators that did not sign are owed nothing.
      for (let i = 0; i < VALIDATORS.length; i++) {
        const v = getAddress(VALIDATORS[i]!.address);
        if (i >= PARAMS.quorum) {
          assert.equal(await ctx.settlement.read.rewardsOwed([v]), 0n);
          continue;
        }
        assert.equal(await ctx.settlement.read.rewardsOwed([v]), share);
        const to = i === 0 ? ctx.stranger : v; // a validator may pay out elsewhere
        await viem.assertions.emitWithArgs(
          ctx.settlement.write.claimRewards([to], await asValidator(i)),
          ctx.settlement,
          "RewardsClaimed",
          [v, to, share],
        );
        assert.equal(await ctx.settlement.read.rewardsOwed([v]), 0n);
      }
      // Nothing more to claim.
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.claimRewards([ctx.stranger], await asValidator(0)),
        ctx.settlement,
        "SettlementZeroAmount",
      );

      // Conservation: supply unchanged, and everything the settlement holds is accounted for.
      assert.equal(await ctx.token.read.totalSupply(), supply);
      const final = await tokenBalances(ctx, [ctx.owner, ctx.stranger]);
      let sum = 0n;
      for (const v of new Set(final.keys())) sum += final.get(v)!;
      assert.equal(sum, supply);
      const held = await ctx.token.read.balanceOf([ctx.settlement.address]);
      const balances =
        (await ctx.settlement.read.balanceOf([A])) +
        (await ctx.settlement.read.balanceOf([getAddress(ENCLAVE_B.address)]));
      assert.equal(held, balances);
    });

    it("test_finalize_feelessBatch_distributesNothing", async () => {
      const ctx = await loadFixture(fixture);
      const b = await submitBatch(ctx, { count: 3, voids: [0, 1, 2] });
      await attest(ctx, [b]);
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
      await viem.assertions.emitWithArgs(finalize(ctx, [b]), ctx.settlement, "FeesDistributed", [1, 0n, 0n, 0n, 0n]);
    });

    it("test_finalize_validatorRemovedBetweenAttestations_rewardsFollowSignersRemovedKeepsEarned", async () => {
      const { ctx, b } = await loadFixture(attestedFixture);
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
      await finalize(ctx, [b]);
      const v0 = getAddress(VALIDATORS[0]!.address);
      const v3 = getAddress(VALIDATORS[3]!.address);
      const share1 = await ctx.settlement.read.rewardsOwed([v0]);
      assert.equal(share1, (b.header.fee * BigInt(PARAMS.validatorBps)) / BPS / 3n);
      assert.equal(await ctx.settlement.read.rewardsOwed([v3]), 0n); // did not sign b
      await ctx.validatorSet.write.removeValidator([v0]);
      const b2 = await submitBatch(ctx);
      await attest(ctx, [b2], VALIDATORS.slice(1, 4));
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b2));
      await finalize(ctx, [b2]);
      assert.equal(await ctx.settlement.read.rewardsOwed([v0]), share1);
      const share2 = (b2.header.fee * BigInt(PARAMS.validatorBps)) / BPS / 3n;
      const v1 = getAddress(VALIDATORS[1]!.address);
      assert.equal(await ctx.settlement.read.rewardsOwed([v1]), share1 + share2);
      assert.equal(await ctx.settlement.read.rewardsOwed([v3]), share2);
      assert.equal(await ctx.settlement.read.rewardsOwed([getAddress(VALIDATORS[4]!.address)]), 0n);
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.claimRewards([v0], await asValidator(0)),
        ctx.settlement,
        "RewardsClaimed",
        [v0, v0, share1],
      );
    });

    it("test_claimRewards_zeroAddressOrNothingOwed_revertsSettlementZeroAddressOrZeroAmount", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.claimRewards([zeroAddress]),
        ctx.settlement,
        "SettlementZeroAddress",
      );
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.claimRewards([ctx.stranger], { account: ctx.stranger }),
        ctx.settlement,
        "SettlementZeroAmount",
      );
    });
  });

  describe("challengeEquivocation", () => {
    it("test_challengeEquivocation_signedReceiptVsOtherLeafAtCallSeq_batchRejectedBondSlashedOnceKeyBanned", async () => {
      const { ctx, b, e } = await loadFixture(equivocationFixture);
      const before = await tokenBalances(ctx, [ctx.owner]);
      const balance = await ctx.settlement.read.balanceOf([A]);
      const reward = (PARAMS.minBond * BigInt(PARAMS.challengerRewardBps)) / BPS;
      const hash = await challenge(ctx, b, e);
      // v2: an equivocating batch's fee is not refunded (a quorum rejection refunds rejectedRefundBps).
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "BatchRejected", [A, 0n, true, ctx.challenger, 0n]);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "BondSlashed", [
        A,
        ctx.challenger,
        PARAMS.minBond,
        reward,
      ]);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "EnclaveDeactivated", [A]);
      const after = await tokenBalances(ctx, [ctx.owner]);
      assert.equal(after.get(ctx.challenger)! - before.get(ctx.challenger)!, reward);
      assert.equal(after.get(TREASURY)! - before.get(TREASURY)!, PARAMS.minBond - reward + b.header.fee);
      assert.equal(before.get(ctx.registry.address)! - after.get(ctx.registry.address)!, PARAMS.minBond);
      assert.equal(await ctx.settlement.read.balanceOf([A]), balance);
      assert.equal(await statusOf(ctx, b), Status.Rejected);
      const en = await ctx.registry.read.enclave([A]);
      assert.equal(en.bond, 0n);
      assert.equal(en.activeUntil, 0n);
      assert.equal(en.slashed, true);
      // The slashed key can no longer settle, and (v2) can never be approved again.
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, await buildBatch(ctx)),
        ctx.settlement,
        "SettlementGatewayInactive",
        [A],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([A, DEADLINE, await approvalSigs(ctx, A)]),
        ctx.registry,
        "RegistryEnclaveSlashed",
        [A],
      );
      // A second challenge of the same batch fails: the bond is slashed exactly once.
      await commitChallenge(ctx, b, e, { account: ctx.stranger });
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, e, { account: ctx.stranger }),
        ctx.settlement,
        "SettlementInvalidStatus",
        [A, 0n, Status.Rejected],
      );
      assert.equal(await ctx.token.read.balanceOf([ctx.registry.address]), after.get(ctx.registry.address)!);
    });

    it("test_challengeEquivocation_signedReceiptVsVoidLeaf_batchRejectedBondSlashed", async () => {
      const ctx = await loadFixture(fixture);
      const receipts = randomReceipts(A, 0n, 6);
      const signed = receipts[4]!;
      const sig = await receiptSig(ctx, ENCLAVE_A, signed);
      const b = await submitBatch(ctx, { receipts, voids: [4] }); // served, signed, then settled as "never served"
      const e: Equivocation = {
        signedReceipt: signed,
        receiptSig: sig,
        settledReceipt: signed,
        settledIsVoid: true,
        proof: b.tree.proof(4),
      };
      await viem.assertions.emitWithArgs(challenge(ctx, b, e), ctx.settlement, "BatchRejected", [
        A,
        0n,
        true,
        ctx.challenger,
        anyValue,
      ]);
      assert.equal((await ctx.registry.read.enclave([A])).bond, 0n);
    });

    it("test_challengeEquivocation_noEarlierCommitmentOrOtherAccountSaltOrReceipt_revertsSettlementNotCommitted", async () => {
      const { ctx, b, e } = await loadFixture(equivocationFixture);
      const commitment = challengeCommitment(ctx.challenger, b.headerHash, e.signedReceipt);
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, e),
        ctx.settlement,
        "SettlementNotCommitted",
        [commitment],
      );
      await viem.assertions.emitWithArgs(commitChallenge(ctx, b, e), ctx.settlement, "ChallengeCommitted", [
        commitment,
        ctx.challenger,
      ]);
      // Committing the same hash again keeps the first block (and still emits).
      await commitChallenge(ctx, b, e);
      await viem.assertions.revertWithCustomError(
        revealChallenge(ctx, b, e, { account: ctx.stranger }),
        ctx.settlement,
        "SettlementNotCommitted",
      );
      await viem.assertions.revertWithCustomError(
        revealChallenge(ctx, b, e, { salt: keccak256(toHex("other salt")) }),
        ctx.settlement,
        "SettlementNotCommitted",
      );
      await viem.assertions.revertWithCustomError(
        revealChallenge(ctx, b, eq(e, { signedReceipt: { ...e.signedReceipt, servedAt: 1n } })),
        ctx.settlement,
        "SettlementNotCommitted",
      );
      await revealChallenge(ctx, b, e);
      assert.equal(await statusOf(ctx, b), Status.Rejected);
    });

    it("test_challengeEquivocation_attestedBatchAtWindowEndMinus1_rejectedAndAttestersSlashedAttesterSlashBps", async () => {
      const { ctx, b, e } = await loadFixture(equivocationFixture);
      await attest(ctx, [b]);
      await commitChallenge(ctx, b, e);
      await networkHelpers.time.setNextBlockTimestamp((await windowEnd(ctx, b)) - 1n);
      const hash = await revealChallenge(ctx, b, e);
      assert.equal(await statusOf(ctx, b), Status.Rejected);
      const cut = (PARAMS.validatorStake * BigInt(PARAMS.attesterSlashBps)) / BPS;
      for (const v of QUORUM) {
        await viem.assertions.emitWithArgs(hash, ctx.validatorSet, "ValidatorSlashed", [
          v,
          ctx.challenger,
          cut,
          (cut * BigInt(PARAMS.proverRewardBps)) / BPS,
          false,
        ]);
        assert.equal((await ctx.validatorSet.read.validator([v])).stake, PARAMS.validatorStake - cut);
      }
      // Below minStake now: the attesters are forced out of the active set.
      assert.equal(await ctx.validatorSet.read.validatorCount(), 2n);
      assert.equal(
        (await ctx.validatorSet.read.validator([getAddress(VALIDATORS[3]!.address)])).stake,
        PARAMS.validatorStake,
      );
    });

    it("test_challengeEquivocation_attestedBatchWrongAttesters_revertsSettlementWrongAttesters", async () => {
      const { ctx, b, e } = await loadFixture(equivocationFixture);
      await attest(ctx, [b]);
      await commitChallenge(ctx, b, e);
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, e, { attesters: [] }),
        ctx.settlement,
        "SettlementWrongAttesters",
        [1],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, e, { attesters: VALIDATORS.slice(2, 5).map((v) => getAddress(v.address)) }),
        ctx.settlement,
        "SettlementWrongAttesters",
        [1],
      );
      await revealChallenge(ctx, b, e);
    });

    for (const offset of [0n, 1n]) {
      it(`test_challengeEquivocation_atWindowEndPlus${offset}FromAttestation_revertsSettlementWindowClosed`, async () => {
        const { ctx, b, e } = await loadFixture(equivocationFixture);
        await attest(ctx, [b]);
        await commitChallenge(ctx, b, e);
        const end = await windowEnd(ctx, b);
        await networkHelpers.time.setNextBlockTimestamp(end + offset);
        await viem.assertions.revertWithCustomErrorWithArgs(
          revealChallenge(ctx, b, e),
          ctx.settlement,
          "SettlementWindowClosed",
          [A, 0n, end],
        );
      });
    }

    it("test_challengeEquivocation_afterFinalize_revertsSettlementInvalidStatus", async () => {
      const { ctx, b, e } = await loadFixture(equivocationFixture);
      await attest(ctx, [b]);
      await commitChallenge(ctx, b, e);
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
      await finalize(ctx, [b]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, e),
        ctx.settlement,
        "SettlementInvalidStatus",
        [A, 0n, Status.Finalized],
      );
    });

    it("test_attack_challengeWithForgedOrOtherChainReceiptSignature_settlementInvalidReceiptSignatureNoSlash", async () => {
      const { ctx, b, e, signed } = await loadFixture(equivocationFixture);
      const forger = localAccount("forger");
      const forged = await receiptSig(ctx, forger, signed);
      await commitChallenge(ctx, b, e);
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, eq(e, { receiptSig: forged })),
        ctx.settlement,
        "SettlementInvalidReceiptSignature",
        [A, getAddress(forger.address)],
      );
      // A receipt signed under another chain's domain is forged too.
      const other = (await signReceipt(ENCLAVE_A, settlementDomain(ctx.chainId + 1, ctx.settlement.address), signed))
        .compact;
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, eq(e, { receiptSig: other })),
        ctx.settlement,
        "SettlementInvalidReceiptSignature",
        [A, (a: Address) => a !== A],
      );
      assert.equal((await ctx.registry.read.enclave([A])).bond, PARAMS.minBond);
    });

    it("test_attack_challengeWithAnotherGatewaysReceipt_settlementReceiptOutOfBatchNoSlash", async () => {
      const { ctx, b, e, settled } = await loadFixture(equivocationFixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      const foreign = {
        ...settled,
        gateway: getAddress(ENCLAVE_B.address),
        responseHash: keccak256(toHex("B's answer")),
      };
      const f = eq(e, { signedReceipt: foreign, receiptSig: await receiptSig(ctx, ENCLAVE_B, foreign) });
      await commitChallenge(ctx, b, f);
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, f),
        ctx.settlement,
        "SettlementReceiptOutOfBatch",
        [foreign.gateway, 2n],
      );
      assert.equal((await ctx.registry.read.enclave([A])).bond, PARAMS.minBond);
    });

    it("test_challengeEquivocation_sameLeafAsSettled_revertsSettlementNotEquivocationNoSlash", async () => {
      const { ctx, b, e, settled } = await loadFixture(equivocationFixture);
      const same = eq(e, { signedReceipt: settled, receiptSig: await receiptSig(ctx, ENCLAVE_A, settled) });
      await commitChallenge(ctx, b, same);
      await viem.assertions.revertWithCustomError(
        revealChallenge(ctx, b, same),
        ctx.settlement,
        "SettlementNotEquivocation",
      );
      assert.equal((await ctx.registry.read.enclave([A])).bond, PARAMS.minBond);
    });

    it("test_challengeEquivocation_receiptOutsideBatchWrongSettledReceiptWrongProofOrUnknownHeader_revertsReceiptOutOfBatchInvalidProofOrUnknownBatch", async () => {
      const { ctx, b, e, signed } = await loadFixture(equivocationFixture);
      const late = { ...signed, callSeq: 8n };
      const lateE = eq(e, { signedReceipt: late, receiptSig: await receiptSig(ctx, ENCLAVE_A, late) });
      await commitChallenge(ctx, b, lateE);
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, lateE),
        ctx.settlement,
        "SettlementReceiptOutOfBatch",
        [A, 8n],
      );
      await commitChallenge(ctx, b, e);
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(ctx, b, eq(e, { settledReceipt: b.receipts[3]!, proof: b.tree.proof(3) })),
        ctx.settlement,
        "SettlementReceiptOutOfBatch",
        [A, 3n],
      );
      // A settled receipt naming another gateway at the right callSeq.
      await viem.assertions.revertWithCustomErrorWithArgs(
        revealChallenge(
          ctx,
          b,
          eq(e, { settledReceipt: { ...e.settledReceipt, gateway: getAddress(ENCLAVE_B.address) } }),
        ),
        ctx.settlement,
        "SettlementReceiptOutOfBatch",
        [getAddress(ENCLAVE_B.address), 2n],
      );
      await viem.assertions.revertWithCustomError(
        revealChallenge(ctx, b, eq(e, { proof: b.tree.proof(3) })),
        ctx.settlement,
        "SettlementInvalidProof",
      );
      // Claiming a void leaf that is not in the tree.
      await viem.assertions.revertWithCustomError(
        revealChallenge(ctx, b, eq(e, { settledIsVoid: true })),
        ctx.settlement,
        "SettlementInvalidProof",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.challengeEquivocation([{ ...b.header, daURI: "x" }, e, SALT, []], {
          account: ctx.challenger,
        }),
        ctx.settlement,
        "SettlementUnknownBatch",
        [A, 0n],
      );
      assert.equal(await statusOf(ctx, b), Status.Submitted);
    });
  });
});

/** Both enclaves approved and funded. */
async function fixtureWithB(): Promise<{ ctx: Ctx }> {
  const ctx = await baseFixture(viem);
  await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
  await approveEnclave(ctx, ENCLAVE_B);
  await ctx.settlement.write.deposit([ENCLAVE_B.address, PARAMS.deposit], { account: ctx.operator });
  return { ctx };
}
