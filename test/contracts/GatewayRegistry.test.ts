/**
 * GatewayRegistry: measurement allowlist, enclave key registration with a bond, quorum approval (with a
 * deadline) and heartbeat expiry, deactivation, bond top-up and delayed withdrawal (never while a batch
 * is open), and the settlement-only slash and penalty.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, zeroAddress, type Hex } from "viem";
import { enclaveApprovalDigest, enclaveRegistrationDigest } from "../../sdk/approvals.js";
import {
  ATTESTATION_HASH,
  ENCLAVE_A,
  ENCLAVE_B,
  KEY_CONFIG_HASH,
  MEASUREMENT_A,
  MEASUREMENT_B,
  OPG,
  PARAMS,
  VALIDATORS,
  DEADLINE,
  approvalSigs,
  approveEnclave,
  attest,
  baseFixture,
  challenge,
  finalize,
  registryParams,
  localAccount,
  randomReceipts,
  receiptSig,
  registerEnclave,
  registrationSig,
  submitBatch,
  windowEnd,
  type Ctx,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);
const B = getAddress(ENCLAVE_B.address);
const MeasurementStatus = { Unknown: 0, Allowed: 1, Revoked: 2 } as const;

async function fixture(): Promise<Ctx> {
  return baseFixture(viem);
}

describe("GatewayRegistry", () => {
  describe("constructor and governance", () => {
    it("test_constructor_zeroAddressZeroHeartbeatOrBpsAboveCap_revertsRegistryZeroAddressInvalidIntervalInvalidBpsOrOwnableInvalidOwner", async () => {
      const ctx = await loadFixture(fixture);
      const r = ctx.registry;
      const args = (
        o: Partial<{ token: Hex; vs: Hex; settlement: Hex; heartbeat: bigint; reward: number; penalty: number }>,
      ) =>
        [
          o.token ?? ctx.token.address,
          o.vs ?? ctx.validatorSet.address,
          o.settlement ?? ctx.settlement.address,
          ctx.owner,
          registryParams({
            heartbeatInterval: o.heartbeat ?? 1n,
            challengerRewardBps: o.reward ?? 0,
            rejectedSlashBps: o.penalty ?? 0,
          }),
        ] as const;
      await viem.assertions.revertWithCustomError(
        viem.deployContract("GatewayRegistry", args({ token: zeroAddress })),
        r,
        "RegistryZeroAddress",
      );
      await viem.assertions.revertWithCustomError(
        viem.deployContract("GatewayRegistry", args({ vs: zeroAddress })),
        r,
        "RegistryZeroAddress",
      );
      await viem.assertions.revertWithCustomError(
        viem.deployContract("GatewayRegistry", args({ settlement: zeroAddress })),
        r,
        "RegistryZeroAddress",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("GatewayRegistry", args({ heartbeat: 0n })),
        r,
        "RegistryInvalidInterval",
        [0n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("GatewayRegistry", args({ reward: 1001 })),
        r,
        "RegistryInvalidBps",
        [1001n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("GatewayRegistry", args({ penalty: 10_001 })),
        r,
        "RegistryInvalidBps",
        [10_001n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        viem.deployContract("GatewayRegistry", [
          ctx.token.address,
          ctx.validatorSet.address,
          ctx.settlement.address,
          zeroAddress,
          registryParams(),
        ]),
        r,
        "OwnableInvalidOwner",
        [zeroAddress],
      );
    });

    it("test_params_deployed_launchValuesAndSettlementFixedWithoutSetters", async () => {
      const ctx = await loadFixture(fixture);
      assert.deepEqual(await ctx.registry.read.params(), registryParams());
      assert.equal(await ctx.registry.read.version(), "0.2.0");
      assert.equal(getAddress(await ctx.registry.read.SETTLEMENT()), getAddress(ctx.settlement.address));
      assert.equal(getAddress(await ctx.registry.read.VALIDATORS()), getAddress(ctx.validatorSet.address));
      assert.equal(getAddress(await ctx.registry.read.TOKEN()), getAddress(ctx.token.address));
      assert.equal(await ctx.registry.read.bondWithdrawDelay(), BigInt(PARAMS.bondWithdrawDelay));
      assert.equal(await ctx.registry.read.MAX_CHALLENGER_REWARD_BPS(), 1000);
      assert.equal("setSettlement" in ctx.registry.write, false);
      assert.equal("setTreasury" in ctx.registry.write, false);
    });

    it("test_allowRevokeMeasurement_allowThenRevoke_statusesAndEventsRevocationPermanent", async () => {
      const ctx = await loadFixture(fixture);
      const m = keccak256(toHex("measurement C"));
      assert.equal(await ctx.registry.read.measurementStatus([m]), MeasurementStatus.Unknown);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.revokeMeasurement([m]),
        ctx.registry,
        "RegistryMeasurementNotAllowed",
        [m],
      );
      await viem.assertions.emitWithArgs(ctx.registry.write.allowMeasurement([m]), ctx.registry, "MeasurementAllowed", [
        m,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.allowMeasurement([m]),
        ctx.registry,
        "RegistryMeasurementAlreadyKnown",
        [m],
      );
      const hash = await ctx.registry.write.revokeMeasurement([m]);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "MeasurementRevoked", [m]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "MeasurementRevocationNoted", [1]);
      assert.equal(await ctx.registry.read.measurementStatus([m]), MeasurementStatus.Revoked);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.allowMeasurement([m]),
        ctx.registry,
        "RegistryMeasurementAlreadyKnown",
        [m],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.revokeMeasurement([m]),
        ctx.registry,
        "RegistryMeasurementNotAllowed",
        [m],
      );
    });

    it("test_setParams_validElseZeroHeartbeatOrBpsAboveCap_emitsParamsChangedElseRevertsRegistryInvalidIntervalOrInvalidBps", async () => {
      const ctx = await loadFixture(fixture);
      const p = {
        minBond: 1n,
        heartbeatInterval: 2n,
        bondWithdrawDelay: 600n,
        challengerRewardBps: 4,
        rejectedSlashBps: 5,
      };
      await viem.assertions.emitWithArgs(ctx.registry.write.setParams([p]), ctx.registry, "ParamsChanged", [
        1n,
        2n,
        600n,
        4,
        5,
      ]);
      assert.deepEqual(await ctx.registry.read.params(), p);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.setParams([{ ...p, heartbeatInterval: 0n }]),
        ctx.registry,
        "RegistryInvalidInterval",
        [0n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.setParams([{ ...p, challengerRewardBps: 1001 }]),
        ctx.registry,
        "RegistryInvalidBps",
        [1001n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.setParams([{ ...p, rejectedSlashBps: 10_001 }]),
        ctx.registry,
        "RegistryInvalidBps",
        [10_001n],
      );
      // v2: the bond delay no longer has to outlast the window: a bond waits for its open batches instead (RegistryBatchesOpen).
      await ctx.registry.write.setParams([
        { ...p, bondWithdrawDelay: 0n, challengerRewardBps: 1000, rejectedSlashBps: 10_000 },
      ]);
    });
  });

  describe("registration", () => {
    it("test_registerEnclave_keySignedWithBond_storesEnclavePullsBondEmitsEnclaveRegistered", async () => {
      const ctx = await loadFixture(fixture);
      const bond = PARAMS.minBond + 5n;
      const before = await ctx.token.read.balanceOf([ctx.registry.address]);
      const sig = await registrationSig(ctx, ENCLAVE_B, MEASUREMENT_B);
      assert.equal(
        await ctx.registry.read.registrationDigest([ctx.operator, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH]),
        enclaveRegistrationDigest(ctx.chainId, ctx.registry.address, {
          operator: ctx.operator,
          measurement: MEASUREMENT_B,
          attestationHash: ATTESTATION_HASH,
          keyConfigHash: KEY_CONFIG_HASH,
        }),
      );
      await viem.assertions.emitWithArgs(
        ctx.registry.write.registerEnclave([B, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH, bond, sig], {
          account: ctx.operator,
        }),
        ctx.registry,
        "EnclaveRegistered",
        [B, ctx.operator, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH, bond],
      );
      assert.equal(await ctx.token.read.balanceOf([ctx.registry.address]), before + bond);
      assert.deepEqual(await ctx.registry.read.enclave([B]), {
        operator: ctx.operator,
        activeUntil: 0n,
        measurement: MEASUREMENT_B,
        attestationHash: ATTESTATION_HASH,
        keyConfigHash: KEY_CONFIG_HASH,
        bond,
        approvalNonce: 0n,
        bondUnlockAt: 0n,
        slashed: false,
      });
      assert.deepEqual(await ctx.registry.read.gatewayStatus([B]), [ctx.operator, false]);
    });

    it("test_registerEnclave_zeroKeyUnallowedMeasurementDuplicateOrLowBond_revertsRegistryZeroAddressMeasurementNotAllowedAlreadyRegisteredOrBondTooLow", async () => {
      const ctx = await loadFixture(fixture);
      const sig = await registrationSig(ctx, ENCLAVE_B, MEASUREMENT_B);
      const reg = (key: Hex, m: Hex, bond: bigint) =>
        ctx.registry.write.registerEnclave([key, m, ATTESTATION_HASH, KEY_CONFIG_HASH, bond, sig], {
          account: ctx.operator,
        });
      await viem.assertions.revertWithCustomError(
        reg(zeroAddress, MEASUREMENT_B, PARAMS.minBond),
        ctx.registry,
        "RegistryZeroAddress",
      );
      const unknown = keccak256(toHex("unknown image"));
      await viem.assertions.revertWithCustomErrorWithArgs(
        reg(B, unknown, PARAMS.minBond),
        ctx.registry,
        "RegistryMeasurementNotAllowed",
        [unknown],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        reg(A, MEASUREMENT_A, PARAMS.minBond),
        ctx.registry,
        "RegistryEnclaveAlreadyRegistered",
        [A],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        reg(B, MEASUREMENT_B, PARAMS.minBond - 1n),
        ctx.registry,
        "RegistryBondTooLow",
        [PARAMS.minBond - 1n, PARAMS.minBond],
      );
      await ctx.registry.write.revokeMeasurement([MEASUREMENT_B]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        reg(B, MEASUREMENT_B, PARAMS.minBond),
        ctx.registry,
        "RegistryMeasurementNotAllowed",
        [MEASUREMENT_B],
      );
    });

    it("test_registerEnclave_keyDidNotSignOrSignedForOtherOperatorOrDocument_revertsRegistryInvalidKeySignature", async () => {
      const ctx = await loadFixture(fixture);
      const byOther = await registrationSig(ctx, localAccount("someone else"), MEASUREMENT_B);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.registerEnclave(
          [B, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH, PARAMS.minBond, byOther],
          { account: ctx.operator },
        ),
        ctx.registry,
        "RegistryInvalidKeySignature",
        [B],
      );
      // A stranger copies the operator's pending registration: the key signed for the operator, not for them.
      await ctx.token.write.transfer([ctx.stranger, PARAMS.minBond]);
      await ctx.token.write.approve([ctx.registry.address, PARAMS.minBond], { account: ctx.stranger });
      const forOperator = await registrationSig(ctx, ENCLAVE_B, MEASUREMENT_B);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.registerEnclave(
          [B, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH, PARAMS.minBond, forOperator],
          { account: ctx.stranger },
        ),
        ctx.registry,
        "RegistryInvalidKeySignature",
        [B],
      );
      // The key's signature also binds the attestation and key-config hashes.
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.registerEnclave(
          [B, MEASUREMENT_B, keccak256(toHex("other doc")), KEY_CONFIG_HASH, PARAMS.minBond, forOperator],
          { account: ctx.operator },
        ),
        ctx.registry,
        "RegistryInvalidKeySignature",
        [B],
      );
    });
  });

  describe("approval", () => {
    it("test_approveEnclave_quorumSigned_activeOneHeartbeatNonceBumpedMirroredSignaturesNotReplayable", async () => {
      const ctx = await loadFixture(fixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      const e = await ctx.registry.read.enclave([B]);
      assert.equal(
        await ctx.registry.read.approvalDigest([B, DEADLINE]),
        enclaveApprovalDigest(ctx.chainId, ctx.registry.address, {
          key: B,
          measurement: e.measurement,
          attestationHash: e.attestationHash,
          keyConfigHash: e.keyConfigHash,
          nonce: 0n,
          deadline: DEADLINE,
        }),
      );
      const sigs = await approvalSigs(ctx, B);
      const t = BigInt(await networkHelpers.time.latest()) + 10n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const hash = await ctx.registry.write.approveEnclave([B, DEADLINE, sigs], { account: ctx.stranger });
      const until = t + BigInt(PARAMS.heartbeatInterval);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "EnclaveApproved", [B, MEASUREMENT_B, until, 0n]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "GatewaySynced", [B, Number(until)]);
      assert.equal((await ctx.registry.read.enclave([B])).approvalNonce, 1n);
      assert.deepEqual(await ctx.registry.read.gatewayStatus([B]), [ctx.operator, true]);
      // The same signatures cannot be replayed (the nonce moved on).
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([B, DEADLINE, sigs]),
        ctx.validatorSet,
        "ValidatorUnknownSigner",
        [0n, (a: string) => !VALIDATORS.some((v) => getAddress(v.address) === a)],
      );
      // Nor presented with another deadline than the one signed.
      const fresh = await approvalSigs(ctx, B, undefined, DEADLINE);
      await viem.assertions.revertWithCustomError(
        ctx.registry.write.approveEnclave([B, DEADLINE - 1n, fresh]),
        ctx.validatorSet,
        "ValidatorUnknownSigner",
      );
    });

    for (const offset of [0n, 1n]) {
      it(`test_approveEnclave_submittedAtDeadlinePlus${offset}_succeedsUpToDeadlineThenRevertsRegistryApprovalExpired`, async () => {
        const ctx = await loadFixture(fixture);
        await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
        const deadline = BigInt(await networkHelpers.time.latest()) + 100n;
        const sigs = await approvalSigs(ctx, B, undefined, deadline);
        await networkHelpers.time.setNextBlockTimestamp(deadline + offset);
        if (offset === 0n) await ctx.registry.write.approveEnclave([B, deadline, sigs]);
        else
          await viem.assertions.revertWithCustomErrorWithArgs(
            ctx.registry.write.approveEnclave([B, deadline, sigs]),
            ctx.registry,
            "RegistryApprovalExpired",
            [B, deadline],
          );
      });
    }

    it("test_approveEnclave_unregisteredKeyOrBelowQuorum_revertsRegistryEnclaveNotRegisteredOrValidatorQuorumNotReached", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([B, DEADLINE, await approvalSigs(ctx, B)]),
        ctx.registry,
        "RegistryEnclaveNotRegistered",
        [B],
      );
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([B, DEADLINE, await approvalSigs(ctx, B, VALIDATORS.slice(0, 2))]),
        ctx.validatorSet,
        "ValidatorQuorumNotReached",
        [2n, 3n],
      );
    });

    it("test_approveEnclave_revokedMeasurementBondBelowRaisedMinOrPendingWithdrawal_revertsRegistryMeasurementNotAllowedBondTooLowOrBondLocked", async () => {
      const ctx = await loadFixture(fixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      await ctx.registry.write.setParams([registryParams({ minBond: PARAMS.minBond + 1n })]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([B, DEADLINE, await approvalSigs(ctx, B)]),
        ctx.registry,
        "RegistryBondTooLow",
        [PARAMS.minBond, PARAMS.minBond + 1n],
      );
      await ctx.registry.write.addBond([B, 1n], { account: ctx.operator });
      await ctx.registry.write.requestBondWithdraw([B], { account: ctx.operator });
      const unlockAt = (await ctx.registry.read.enclave([B])).bondUnlockAt;
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([B, DEADLINE, await approvalSigs(ctx, B)]),
        ctx.registry,
        "RegistryBondLocked",
        [B, unlockAt],
      );
      await ctx.registry.write.revokeMeasurement([MEASUREMENT_B]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([B, DEADLINE, await approvalSigs(ctx, B)]),
        ctx.registry,
        "RegistryMeasurementNotAllowed",
        [MEASUREMENT_B],
      );
    });

    it("test_reattest_operatorPostsNewAttestation_nonceMovesOnOldApprovalsVoidStrangerRevertsNotOperator", async () => {
      const ctx = await loadFixture(fixture);
      const stale = await approvalSigs(ctx, A);
      const doc = keccak256(toHex("fresh attestation"));
      await viem.assertions.emitWithArgs(
        ctx.registry.write.reattest([A, doc], { account: ctx.operator }),
        ctx.registry,
        "EnclaveReattested",
        [A, doc, 2n],
      );
      assert.equal((await ctx.registry.read.enclave([A])).attestationHash, doc);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([A, DEADLINE, stale]),
        ctx.validatorSet,
        "ValidatorUnknownSigner",
        [0n, (a: string) => !VALIDATORS.some((v) => getAddress(v.address) === a)],
      );
      await approveEnclave(ctx, ENCLAVE_A);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.reattest([A, doc], { account: ctx.stranger }),
        ctx.registry,
        "RegistryNotOperator",
        [ctx.stranger, A],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.reattest([B, doc], { account: ctx.operator }),
        ctx.registry,
        "RegistryEnclaveNotRegistered",
        [B],
      );
    });

    it("test_isActive_heartbeatIntervalElapsed_false", async () => {
      const ctx = await loadFixture(fixture);
      const { activeUntil } = await ctx.registry.read.enclave([A]);
      await networkHelpers.time.increaseTo(activeUntil - 1n);
      assert.equal(await ctx.registry.read.isActive([A]), true);
      await networkHelpers.mine();
      assert.equal(await ctx.registry.read.isActive([A]), false);
    });
  });

  describe("operator actions", () => {
    it("test_deactivate_byOperator_inactiveMirroredApprovalsVoidStrangerRevertsRegistryNotOperator", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.deactivate([A], { account: ctx.stranger }),
        ctx.registry,
        "RegistryNotOperator",
        [ctx.stranger, A],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.deactivate([B], { account: ctx.operator }),
        ctx.registry,
        "RegistryEnclaveNotRegistered",
        [B],
      );
      const outstanding = await approvalSigs(ctx, A);
      const nonce = (await ctx.registry.read.enclave([A])).approvalNonce;
      const hash = await ctx.registry.write.deactivate([A], { account: ctx.operator });
      await viem.assertions.emitWithArgs(hash, ctx.registry, "EnclaveDeactivated", [A]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "GatewaySynced", [A, 0]);
      assert.equal(await ctx.registry.read.isActive([A]), false);
      assert.equal((await ctx.registry.read.enclave([A])).approvalNonce, nonce + 1n);
      await viem.assertions.revertWithCustomError(
        ctx.registry.write.approveEnclave([A, DEADLINE, outstanding]),
        ctx.validatorSet,
        "ValidatorUnknownSigner",
      );
    });

    it("test_addBond_registeredElseUnregisteredKey_emitsBondAddedElseRevertsRegistryEnclaveNotRegistered", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.emitWithArgs(
        ctx.registry.write.addBond([A, OPG(5)], { account: ctx.operator }),
        ctx.registry,
        "BondAdded",
        [A, OPG(5), PARAMS.minBond + OPG(5)],
      );
      await viem.assertions.emitWithArgs(
        ctx.registry.write.addBond([A, 0n], { account: ctx.operator }),
        ctx.registry,
        "BondAdded",
        [A, 0n, PARAMS.minBond + OPG(5)],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.addBond([B, 1n], { account: ctx.operator }),
        ctx.registry,
        "RegistryEnclaveNotRegistered",
        [B],
      );
    });

    it("test_requestBondWithdraw_thenWithdrawBond_deactivatesAndPaysOnceAfterDelay", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
        ctx.registry,
        "RegistryNoBondWithdrawal",
        [A],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.requestBondWithdraw([A], { account: ctx.stranger }),
        ctx.registry,
        "RegistryNotOperator",
        [ctx.stranger, A],
      );
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const unlockAt = t + BigInt(PARAMS.bondWithdrawDelay);
      const hash = await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
      await viem.assertions.emitWithArgs(hash, ctx.registry, "BondWithdrawRequested", [A, PARAMS.minBond, unlockAt]);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "EnclaveDeactivated", [A]);
      assert.equal(await ctx.registry.read.isActive([A]), false);
      await networkHelpers.time.setNextBlockTimestamp(unlockAt - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
        ctx.registry,
        "RegistryBondLocked",
        [A, unlockAt],
      );
      await viem.assertions.revertWithCustomError(
        ctx.registry.write.withdrawBond([A, zeroAddress], { account: ctx.operator }),
        ctx.registry,
        "RegistryZeroAddress",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.stranger], { account: ctx.stranger }),
        ctx.registry,
        "RegistryNotOperator",
        [ctx.stranger, A],
      );
      await networkHelpers.time.setNextBlockTimestamp(unlockAt);
      const before = await ctx.token.read.balanceOf([ctx.stranger]);
      await viem.assertions.emitWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.stranger], { account: ctx.operator }),
        ctx.registry,
        "BondWithdrawn",
        [A, ctx.stranger, PARAMS.minBond],
      );
      assert.equal(await ctx.token.read.balanceOf([ctx.stranger]), before + PARAMS.minBond);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
        ctx.registry,
        "RegistryNoBondWithdrawal",
        [A],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator }),
        ctx.registry,
        "RegistryNoBondWithdrawal",
        [A],
      );
    });

    it("test_requestBondWithdraw_pendingWhenEquivocationChallenged_bondSlashedNothingToWithdraw", async () => {
      const ctx = await loadFixture(fixture);
      const receipts = randomReceipts(A, 0n, 4);
      const signed = receipts[1]!;
      const sig = await receiptSig(ctx, ENCLAVE_A, signed);
      receipts[1] = { ...signed, outputTokens: signed.outputTokens + 1 };
      const b = await submitBatch(ctx, { receipts });
      await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
      await challenge(ctx, b, {
        signedReceipt: signed,
        receiptSig: sig,
        settledReceipt: receipts[1]!,
        settledIsVoid: false,
        proof: b.tree.proof(1),
      });
      const e = await ctx.registry.read.enclave([A]);
      assert.equal(e.bond, 0n);
      assert.equal(e.bondUnlockAt, 0n);
      await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
        ctx.registry,
        "RegistryNoBondWithdrawal",
        [A],
      );
    });

    it("test_withdrawBond_batchNotFinal_revertsRegistryBatchesOpenUntilFinalized", async () => {
      const ctx = await loadFixture(fixture);
      const b = await submitBatch(ctx);
      await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
      await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
        ctx.registry,
        "RegistryBatchesOpen",
        [A, 1n],
      );
      await attest(ctx, [b]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
        ctx.registry,
        "RegistryBatchesOpen",
        [A, 1n],
      );
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
      await finalize(ctx, [b]);
      await viem.assertions.emitWithArgs(
        ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
        ctx.registry,
        "BondWithdrawn",
        [A, ctx.operator, PARAMS.minBond],
      );
    });
  });

  describe("settlement hooks", () => {
    it("test_slashPenalize_callerNotSettlement_revertsRegistryOnlySettlement", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.slash([A, ctx.stranger], { account: ctx.stranger }),
        ctx.registry,
        "RegistryOnlySettlement",
        [ctx.stranger],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.slash([A, ctx.owner]),
        ctx.registry,
        "RegistryOnlySettlement",
        [ctx.owner],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.penalize([A], { account: ctx.stranger }),
        ctx.registry,
        "RegistryOnlySettlement",
        [ctx.stranger],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.penalize([A]),
        ctx.registry,
        "RegistryOnlySettlement",
        [ctx.owner],
      );
    });
  });
});
