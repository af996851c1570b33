/**
 * ProofSettlement.submitBatch: the stored slot, sequence numbers, escrowed fee and event of a valid
 * batch, every revert path, and the attacks a relayer or a compromised party could try.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { settlementDomain, typedDataDigest } from "../../sdk/index.js";
import {
  ENCLAVE_A,
  ENCLAVE_B,
  MEASUREMENT_A,
  MEASUREMENT_B,
  MODELS,
  PARAMS,
  SECP256K1_N,
  Status,
  approveEnclave,
  baseFixture,
  buildBatch,
  highS,
  localAccount,
  registerEnclave,
  sendBatch,
  submitBatch,
  type Ctx,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;

async function fixture(): Promise<Ctx> {
  return baseFixture(viem);
}

const A = getAddress(ENCLAVE_A.address);
const ATTESTATION_NEXT: Hex = keccak256(toHex("attestation document, next heartbeat"));

describe("ProofSettlement.submitBatch", () => {
  describe("success", () => {
    it("test_submitBatch_validBatch_storesSlotAdvancesSeqsEscrowsFeeEmitsBatchSubmitted", async () => {
      const ctx = await loadFixture(fixture);
      const b = await buildBatch(ctx, { count: 16, voids: [3] });
      const before = await ctx.settlement.read.balanceOf([A]);
      const tokenBefore = await ctx.token.read.balanceOf([ctx.settlement.address]);
      const h = b.header;
      await viem.assertions.emitWithArgs(sendBatch(ctx, b), ctx.settlement, "BatchSubmitted", [
        A,
        h.batchSeq,
        h.firstCallSeq,
        h.count,
        h.root,
        h.fee,
        b.headerHash,
        h.usage,
        h.firstServedAt,
        h.lastServedAt,
        h.daURI,
      ]);
      assert.ok(h.fee > 0n);
      assert.equal(await ctx.settlement.read.balanceOf([A]), before - h.fee);
      // The fee moves into escrow inside the contract: no token leaves it.
      assert.equal(await ctx.token.read.balanceOf([ctx.settlement.address]), tokenBefore);
      assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [16n, 1n]);
      const [status, submittedAt, windowEnd, attestationId, prefix] = await ctx.settlement.read.batch([A, 0n]);
      assert.equal(status, Status.Submitted);
      assert.equal(BigInt(await networkHelpers.time.latest()), submittedAt);
      // v2: the challenge window starts at attestation, so there is none yet.
      assert.equal(windowEnd, 0n);
      assert.equal(attestationId, 0);
      assert.equal(await ctx.settlement.read.openBatches([A]), 1n);
      // v2 slot: the top 160 bits of the header hash are stored, the low 96 are not (room for the attestation id).
      assert.equal(prefix, `${b.headerHash.slice(0, 42)}${"0".repeat(24)}`);
      // SDK fee == on-chain schedule; SDK digest == contract digest.
      assert.equal(await ctx.settlement.read.computeFee([h.usage]), h.fee);
      assert.equal(await ctx.settlement.read.headerDigest([h]), typedDataDigest(ctx.domain, b.headerHash));
    });

    it("test_submitBatch_consecutiveBatches_bothSequencesContinue", async () => {
      const ctx = await loadFixture(fixture);
      await submitBatch(ctx, { count: 5 });
      const b2 = await submitBatch(ctx, { count: 7 });
      assert.equal(b2.header.batchSeq, 1n);
      assert.equal(b2.header.firstCallSeq, 5n);
      assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [12n, 2n]);
      assert.equal((await ctx.settlement.read.batch([A, 1n]))[0], Status.Submitted);
    });

    it("test_submitBatch_allVoidBatchEmptyUsageZeroFee_succeeds", async () => {
      const ctx = await loadFixture(fixture);
      const b = await submitBatch(ctx, { count: 4, voids: [0, 1, 2, 3] });
      assert.equal(b.header.fee, 0n);
      assert.deepEqual(b.header.usage, []);
      assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [4n, 1n]);
    });

    it("test_submitBatch_countEqualsMaxBatchSize_succeeds", async () => {
      const ctx = await loadFixture(fixture);
      await submitBatch(ctx, { count: PARAMS.maxBatchSize });
      assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [BigInt(PARAMS.maxBatchSize), 1n]);
    });

    it("test_submitBatch_perModelRateSet_feeUsesModelRateElseRevertsSettlementFeeMismatch", async () => {
      const ctx = await loadFixture(fixture);
      const special = { perCall: 7n * 10n ** 12n, perKiloInputToken: 1n, perKiloOutputToken: 999n };
      await ctx.settlement.write.setModelFeeRate([MODELS[0]!, special, true]);
      const receipts = (await buildBatch(ctx, { count: 12 })).receipts.map((r, i) => ({
        ...r,
        modelId: MODELS[i % 2]!,
      }));
      const perModelRates = { [MODELS[0]!]: special };
      const b = await buildBatch(ctx, { receipts, perModelRates });
      const plain = await buildBatch(ctx, { receipts });
      assert.notEqual(b.header.fee, plain.header.fee);
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, plain),
        ctx.settlement,
        "SettlementFeeMismatch",
        [b.header.fee, plain.header.fee],
      );
      await sendBatch(ctx, b);
      // Disabling the model rate brings the default back.
      await ctx.settlement.write.setModelFeeRate([MODELS[0]!, special, false]);
      assert.equal(await ctx.settlement.read.computeFee([plain.header.usage]), plain.header.fee);
    });
  });

  describe("submitBatches", () => {
    it("test_submitBatches_severalGatewaysAndConsecutiveBatchesOfOne_allSettledInOneCall", async () => {
      const ctx = await loadFixture(fixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      await approveEnclave(ctx, ENCLAVE_B);
      await ctx.settlement.write.deposit([ENCLAVE_B.address, PARAMS.deposit], { account: ctx.operator });
      const a0 = await buildBatch(ctx, { count: 3 });
      const a1 = await buildBatch(ctx, { count: 2, batchSeq: 1n, firstCallSeq: 3n });
      const b0 = await buildBatch(ctx, { key: ENCLAVE_B, count: 4 });
      const hash = await ctx.settlement.write.submitBatches(
        [
          [a0.header, b0.header, a1.header],
          [a0.sig, b0.sig, a1.sig],
        ],
        { account: ctx.relayer },
      );
      for (const b of [a0, a1, b0]) {
        await viem.assertions.emitWithArgs(hash, ctx.settlement, "BatchSubmitted", [
          b.header.gateway,
          b.header.batchSeq,
          b.header.firstCallSeq,
          b.header.count,
          b.header.root,
          b.header.fee,
          b.headerHash,
          b.header.usage,
          b.header.firstServedAt,
          b.header.lastServedAt,
          b.header.daURI,
        ]);
        assert.equal((await ctx.settlement.read.batch([b.header.gateway, b.header.batchSeq]))[0], Status.Submitted);
      }
      assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [5n, 2n]);
      assert.equal(await ctx.settlement.read.balanceOf([A]), PARAMS.deposit - a0.header.fee - a1.header.fee);
    });

    it("test_submitBatches_emptyOrMismatchedLists_revertsSettlementEmptyList", async () => {
      const ctx = await loadFixture(fixture);
      const b = await buildBatch(ctx);
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.submitBatches([[], []]),
        ctx.settlement,
        "SettlementEmptyList",
      );
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.submitBatches([[b.header], [b.sig, b.sig]]),
        ctx.settlement,
        "SettlementEmptyList",
      );
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.submitBatches([[b.header, b.header], [b.sig]]),
        ctx.settlement,
        "SettlementEmptyList",
      );
    });

    it("test_submitBatches_oneInvalidRepeatedOrSignatureSwappedHeader_wholeCallRevertsNothingSettled", async () => {
      const ctx = await loadFixture(fixture);
      const good = await buildBatch(ctx, { count: 3 });
      const bad = await buildBatch(ctx, {
        count: 2,
        batchSeq: 1n,
        firstCallSeq: 3n,
        mutate: (h) => void (h.fee += 1n),
      });
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.submitBatches([
          [good.header, bad.header],
          [good.sig, bad.sig],
        ]),
        ctx.settlement,
        "SettlementFeeMismatch",
      );
      assert.deepEqual(await ctx.settlement.read.nextSeqs([A]), [0n, 0n]);
      assert.equal(await ctx.settlement.read.balanceOf([A]), PARAMS.deposit);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.submitBatches([
          [good.header, good.header],
          [good.sig, good.sig],
        ]),
        ctx.settlement,
        "SettlementUnexpectedBatchSeq",
        [A, 1n, 0n],
      );
      // A signature swapped between two valid headers is caught too.
      const next = await buildBatch(ctx, { count: 2, batchSeq: 1n, firstCallSeq: 3n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.submitBatches([
          [good.header, next.header],
          [good.sig, good.sig],
        ]),
        ctx.settlement,
        "SettlementInvalidSignature",
        [A, (r: Address) => r !== A],
      );
    });
  });

  describe("reverts", () => {
    it("test_submitBatch_sameHeaderReplayed_revertsSettlementUnexpectedBatchSeq", async () => {
      const ctx = await loadFixture(fixture);
      const b = await submitBatch(ctx);
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementUnexpectedBatchSeq",
        [A, 1n, 0n],
      );
    });

    it("test_submitBatch_batchSeqSkippedOrRepeated_revertsSettlementUnexpectedBatchSeq", async () => {
      const ctx = await loadFixture(fixture);
      await submitBatch(ctx, { count: 4 });
      const skip = await buildBatch(ctx, { batchSeq: 2n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, skip),
        ctx.settlement,
        "SettlementUnexpectedBatchSeq",
        [A, 1n, 2n],
      );
      const repeat = await buildBatch(ctx, { batchSeq: 0n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, repeat),
        ctx.settlement,
        "SettlementUnexpectedBatchSeq",
        [A, 1n, 0n],
      );
    });

    it("test_submitBatch_firstCallSeqSkipsOrOverlaps_revertsSettlementUnexpectedCallSeq", async () => {
      const ctx = await loadFixture(fixture);
      await submitBatch(ctx, { count: 4 });
      const gap = await buildBatch(ctx, { firstCallSeq: 5n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, gap),
        ctx.settlement,
        "SettlementUnexpectedCallSeq",
        [A, 4n, 5n],
      );
      const overlap = await buildBatch(ctx, { firstCallSeq: 3n });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, overlap),
        ctx.settlement,
        "SettlementUnexpectedCallSeq",
        [A, 4n, 3n],
      );
    });

    it("test_submitBatch_countZeroOrAboveMaxBatchSize_revertsSettlementInvalidCount", async () => {
      const ctx = await loadFixture(fixture);
      const max = PARAMS.maxBatchSize;
      const zero = await buildBatch(ctx, { count: 1, voids: [0], mutate: (h) => void (h.count = 0) });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, zero),
        ctx.settlement,
        "SettlementInvalidCount",
        [0, max],
      );
      const big = await buildBatch(ctx, { count: max + 1 });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, big),
        ctx.settlement,
        "SettlementInvalidCount",
        [max + 1, max],
      );
    });

    it("test_submitBatch_feeOneWeiOffSchedule_revertsSettlementFeeMismatch", async () => {
      const ctx = await loadFixture(fixture);
      const honest = await buildBatch(ctx);
      for (const delta of [1n, -1n]) {
        const b = await buildBatch(ctx, { receipts: honest.receipts, mutate: (h) => void (h.fee += delta) });
        await viem.assertions.revertWithCustomErrorWithArgs(
          sendBatch(ctx, b),
          ctx.settlement,
          "SettlementFeeMismatch",
          [honest.header.fee, honest.header.fee + delta],
        );
      }
    });

    it("test_submitBatch_feeOneWeiOffPerModelRate_revertsSettlementFeeMismatch", async () => {
      const ctx = await loadFixture(fixture);
      const special = { perCall: 3n * 10n ** 12n, perKiloInputToken: 5n * 10n ** 13n, perKiloOutputToken: 0n };
      await ctx.settlement.write.setModelFeeRate([MODELS[1]!, special, true]);
      const honest = await buildBatch(ctx, { count: 10, perModelRates: { [MODELS[1]!]: special } });
      for (const delta of [1n, -1n]) {
        const b = await buildBatch(ctx, {
          receipts: honest.receipts,
          perModelRates: { [MODELS[1]!]: special },
          mutate: (h) => void (h.fee += delta),
        });
        await viem.assertions.revertWithCustomErrorWithArgs(
          sendBatch(ctx, b),
          ctx.settlement,
          "SettlementFeeMismatch",
          [honest.header.fee, honest.header.fee + delta],
        );
      }
      await sendBatch(ctx, honest);
    });

    it("test_submitBatch_feeAboveBalance_revertsSettlementInsufficientBalance", async () => {
      const ctx = await loadFixture(fixture);
      // v2 bounds the rates (0.1 OPG per call at most), so the balance is drawn down instead: 1 wei is left.
      await ctx.settlement.write.requestWithdraw([A, PARAMS.deposit - 1n], { account: ctx.operator });
      const b = await buildBatch(ctx, { count: 64 });
      assert.ok(b.header.fee > 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementInsufficientBalance",
        [A, 1n, b.header.fee],
      );
    });

    it("test_submitBatch_usageModelIdsUnsortedOrDuplicated_revertsSettlementInvalidUsage", async () => {
      const ctx = await loadFixture(fixture);
      const receipts = (await buildBatch(ctx, { count: 9 })).receipts.map((r, i) => ({
        ...r,
        modelId: MODELS[i % 3]!,
      }));
      const unsorted = await buildBatch(ctx, { receipts, mutate: (h) => void h.usage.reverse() });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, unsorted),
        ctx.settlement,
        "SettlementInvalidUsage",
        [1n],
      );
      const dup = await buildBatch(ctx, {
        receipts,
        mutate: (h) => {
          // Split the first entry in two with the same modelId: same totals, same fee only if recomputed.
          const u = h.usage[0]!;
          h.usage.splice(0, 1, { ...u, calls: 1, inputTokens: 0n, outputTokens: 0n }, { ...u, calls: u.calls - 1 });
        },
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, dup),
        ctx.settlement,
        "SettlementInvalidUsage",
        [1n],
      );
    });

    it("test_submitBatch_usageCountsMoreCallsThanLeaves_revertsSettlementInvalidUsage", async () => {
      const ctx = await loadFixture(fixture);
      const rate = await ctx.settlement.read.feeRate();
      const b = await buildBatch(ctx, {
        count: 4,
        mutate: (h) => {
          h.usage[0]!.calls += 1;
          h.fee += rate.perCall; // keep the fee consistent, so only the call count is wrong
        },
      });
      await viem.assertions.revertWithCustomErrorWithArgs(sendBatch(ctx, b), ctx.settlement, "SettlementInvalidUsage", [
        BigInt(b.header.usage.length),
      ]);
    });

    it("test_submitBatch_firstServedAtAfterLastServedAt_revertsSettlementInvalidServedAt", async () => {
      const ctx = await loadFixture(fixture);
      const b = await buildBatch(ctx, {
        mutate: (h) => void ([h.firstServedAt, h.lastServedAt] = [h.lastServedAt + 1n, h.firstServedAt]),
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementInvalidServedAt",
        [b.header.firstServedAt, b.header.lastServedAt],
      );
    });
  });

  describe("signature attacks", () => {
    it("test_attack_submitHeaderSignedForAnotherChainId_settlementInvalidSignature", async () => {
      const ctx = await loadFixture(fixture);
      const b = await buildBatch(ctx, { domain: settlementDomain(ctx.chainId + 1, ctx.settlement.address) });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementInvalidSignature",
        [A, (r: Address) => r !== A],
      );
    });

    it("test_attack_submitHeaderSignedForAnotherSettlement_settlementInvalidSignature", async () => {
      const ctx = await loadFixture(fixture);
      const b = await buildBatch(ctx, { domain: settlementDomain(ctx.chainId, ctx.registry.address) });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementInvalidSignature",
        [A, (r: Address) => r !== A],
      );
    });

    it("test_attack_submitHighSTwinOrMalformedSignature_settlementInvalidSignatureOrECDSAInvalidSignatureS", async () => {
      const ctx = await loadFixture(fixture);
      const b = await buildBatch(ctx);
      // (r, n - s) does not fit EIP-2098 (its top bit is the parity bit), so it decodes to another signer.
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b, highS(b.sig)),
        ctx.settlement,
        "SettlementInvalidSignature",
        [A, (r: Address) => r !== A],
      );
      // An s in (n/2, 2^255) fits, and ECDSA's low-s rule rejects it.
      const sHigh = SECP256K1_N / 2n + 1n;
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b, { r: b.sig.r, vs: `0x${sHigh.toString(16).padStart(64, "0")}` }),
        ctx.settlement,
        "ECDSAInvalidSignatureS",
        [`0x${sHigh.toString(16).padStart(64, "0")}`],
      );
      // A malformed signature (r = 0) recovers nobody.
      await viem.assertions.revertWithCustomError(
        sendBatch(ctx, b, { r: toHex(0n, { size: 32 }), vs: b.sig.vs }),
        ctx.settlement,
        "ECDSAInvalidSignature",
      );
      await sendBatch(ctx, b); // the low-s original still works
    });

    it("test_attack_submitHeaderSignedByWrongKey_settlementInvalidSignature", async () => {
      const ctx = await loadFixture(fixture);
      const wrong = localAccount("not the enclave");
      const b = await buildBatch(ctx, { signer: wrong });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementInvalidSignature",
        [A, getAddress(wrong.address)],
      );
    });

    it("test_attack_unregisteredKeySubmitsSelfSignedHeader_settlementGatewayInactive", async () => {
      const ctx = await loadFixture(fixture);
      const rogue = localAccount("rogue enclave");
      const b = await buildBatch(ctx, { key: rogue });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementGatewayInactive",
        [getAddress(rogue.address)],
      );
    });

    it("test_attack_registeredButUnapprovedKeySubmits_settlementGatewayInactive", async () => {
      const ctx = await loadFixture(fixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      const b = await buildBatch(ctx, { key: ENCLAVE_B });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementGatewayInactive",
        [getAddress(ENCLAVE_B.address)],
      );
    });

    it("test_submitBatch_keyDeactivatedByOperator_revertsSettlementGatewayInactive", async () => {
      const ctx = await loadFixture(fixture);
      await ctx.registry.write.deactivate([A], { account: ctx.operator });
      const b = await buildBatch(ctx);
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementGatewayInactive",
        [A],
      );
    });

    it("test_submitBatch_keyExpiredWithoutHeartbeat_revertsSettlementGatewayInactiveUntilReapproved", async () => {
      const ctx = await loadFixture(fixture);
      const { activeUntil } = await ctx.registry.read.enclave([A]);
      const b = await buildBatch(ctx);
      await networkHelpers.time.setNextBlockTimestamp(activeUntil - 1n);
      await sendBatch(ctx, b); // last second of validity
      const b2 = await buildBatch(ctx);
      await networkHelpers.time.setNextBlockTimestamp(activeUntil);
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b2),
        ctx.settlement,
        "SettlementGatewayInactive",
        [A],
      );
      await networkHelpers.mine();
      assert.equal(await ctx.registry.read.isActive([A]), false);
      await ctx.registry.write.reattest([A, ATTESTATION_NEXT], { account: ctx.operator });
      await approveEnclave(ctx, ENCLAVE_A);
      await sendBatch(ctx, b2);
    });

    it("test_submitBatch_measurementRevoked_revertsSettlementGatewayInactiveOtherMeasurementKeepsWorking", async () => {
      const ctx = await loadFixture(fixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      await approveEnclave(ctx, ENCLAVE_B);
      await ctx.settlement.write.deposit([ENCLAVE_B.address, PARAMS.deposit], { account: ctx.operator });
      await submitBatch(ctx); // A works before
      await ctx.registry.write.revokeMeasurement([MEASUREMENT_A]);
      const a = await buildBatch(ctx);
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, a),
        ctx.settlement,
        "SettlementGatewayInactive",
        [A],
      );
      await submitBatch(ctx, { key: ENCLAVE_B });
      await submitBatch(ctx, { key: ENCLAVE_B }); // and again, after its epoch was refreshed
      assert.deepEqual((await ctx.settlement.read.nextSeqs([getAddress(ENCLAVE_B.address)]))[1], 2n);
      // A revoked measurement cannot be re-approved into activity.
      await viem.assertions.revertWithCustomErrorWithArgs(
        approveEnclave(ctx, ENCLAVE_A),
        ctx.registry,
        "RegistryMeasurementNotAllowed",
        [MEASUREMENT_A],
      );
    });

    it("test_attack_signHeaderNamingAnotherGatewayToSpendItsDeposit_settlementInvalidSignature", async () => {
      const ctx = await loadFixture(fixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      await approveEnclave(ctx, ENCLAVE_B);
      await ctx.settlement.write.deposit([ENCLAVE_B.address, PARAMS.deposit], { account: ctx.operator });
      // A signs a header naming B as the gateway (to spend B's deposit): the signer must be the gateway.
      const b = await buildBatch(ctx, { key: ENCLAVE_B, signer: ENCLAVE_A });
      await viem.assertions.revertWithCustomErrorWithArgs(
        sendBatch(ctx, b),
        ctx.settlement,
        "SettlementInvalidSignature",
        [getAddress(ENCLAVE_B.address), A],
      );
    });
  });
});
