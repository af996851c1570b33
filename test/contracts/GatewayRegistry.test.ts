/**
 * GatewayRegistry: measurement allowlist, enclave key registration with a bond, quorum approval and
 * heartbeat expiry, deactivation, bond top-up and delayed withdrawal, and the settlement-only slash.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, zeroAddress, type Hex } from "viem";
import { enclaveApprovalDigest, enclaveRegistrationDigest } from "../../sdk/quorum.js";
import {
  ATTESTATION_HASH,
  ENCLAVE_A,
  ENCLAVE_B,
  KEY_CONFIG_HASH,
  MEASUREMENT_A,
  MEASUREMENT_B,
  OPG,
  PARAMS,
  TREASURY,
  VALIDATORS,
  approvalSigs,
  approveEnclave,
  baseFixture,
  localAccount,
  randomReceipts,
  receiptSig,
  registerEnclave,
  registrationSig,
  submitBatch,
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
    it("constructor: reverts for zero addresses, a zero heartbeat and bps above 10000", async () => {
      const ctx = await loadFixture(fixture);
      const r = ctx.registry;
      const args = (o: Partial<{ token: Hex; vs: Hex; treasury: Hex; heartbeat: bigint; bps: number }>) =>
        [o.token ?? ctx.token.address, o.vs ?? ctx.validatorSet.address, ctx.owner, o.treasury ?? TREASURY, PARAMS.minBond, o.heartbeat ?? 1n, 0n, o.bps ?? 0] as const;
      await viem.assertions.revertWithCustomError(viem.deployContract("GatewayRegistry", args({ token: zeroAddress })), r, "RegistryZeroAddress");
      await viem.assertions.revertWithCustomError(viem.deployContract("GatewayRegistry", args({ vs: zeroAddress })), r, "RegistryZeroAddress");
      await viem.assertions.revertWithCustomError(viem.deployContract("GatewayRegistry", args({ treasury: zeroAddress })), r, "RegistryZeroAddress");
      await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("GatewayRegistry", args({ heartbeat: 0n })), r, "RegistryInvalidInterval", [0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("GatewayRegistry", args({ bps: 10_001 })), r, "RegistryInvalidBps", [10_001n]);
    });

    it("params: reflect the launch parameters and the wired settlement", async () => {
      const ctx = await loadFixture(fixture);
      assert.deepEqual(await ctx.registry.read.params(), [
        PARAMS.minBond,
        BigInt(PARAMS.heartbeatInterval),
        BigInt(PARAMS.bondWithdrawDelay),
        PARAMS.challengerRewardBps,
        TREASURY,
        getAddress(ctx.settlement.address),
      ]);
      assert.equal(await ctx.registry.read.version(), "0.1.0");
    });

    it("setSettlement: reverts for zero and a second time", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.setSettlement([ctx.stranger]), ctx.registry, "RegistrySettlementAlreadySet", [getAddress(ctx.settlement.address)]);
      const fresh = await viem.deployContract("GatewayRegistry", [ctx.token.address, ctx.validatorSet.address, ctx.owner, TREASURY, 0n, 1n, 600n, 0]);
      await viem.assertions.revertWithCustomError(fresh.write.setSettlement([zeroAddress]), fresh, "RegistryZeroAddress");
      await viem.assertions.emitWithArgs(fresh.write.setSettlement([ctx.settlement.address]), fresh, "SettlementSet", [getAddress(ctx.settlement.address)]);
      // A bond must outlive the challenge window (600 s here) of the settlement it backs.
      const hasty = await viem.deployContract("GatewayRegistry", [ctx.token.address, ctx.validatorSet.address, ctx.owner, TREASURY, 0n, 1n, 599n, 0]);
      await viem.assertions.revertWithCustomErrorWithArgs(hasty.write.setSettlement([ctx.settlement.address]), hasty, "RegistryInvalidInterval", [599n]);
    });

    it("allowMeasurement / revokeMeasurement: statuses, events, and revocation is for good", async () => {
      const ctx = await loadFixture(fixture);
      const m = keccak256(toHex("measurement C"));
      assert.equal(await ctx.registry.read.measurementStatus([m]), MeasurementStatus.Unknown);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.revokeMeasurement([m]), ctx.registry, "RegistryMeasurementNotAllowed", [m]);
      await viem.assertions.emitWithArgs(ctx.registry.write.allowMeasurement([m]), ctx.registry, "MeasurementAllowed", [m]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.allowMeasurement([m]), ctx.registry, "RegistryMeasurementAlreadyKnown", [m]);
      const hash = await ctx.registry.write.revokeMeasurement([m]);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "MeasurementRevoked", [m]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "MeasurementRevocationNoted", [1]);
      assert.equal(await ctx.registry.read.measurementStatus([m]), MeasurementStatus.Revoked);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.allowMeasurement([m]), ctx.registry, "RegistryMeasurementAlreadyKnown", [m]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.revokeMeasurement([m]), ctx.registry, "RegistryMeasurementNotAllowed", [m]);
    });

    it("setParams / setTreasury: emit; revert for a zero heartbeat, bps above 10000 and a zero treasury", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.emitWithArgs(ctx.registry.write.setParams([1n, 2n, 600n, 4]), ctx.registry, "ParamsChanged", [1n, 2n, 600n, 4]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.setParams([1n, 0n, 600n, 4]), ctx.registry, "RegistryInvalidInterval", [0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.setParams([1n, 2n, 600n, 10_001]), ctx.registry, "RegistryInvalidBps", [10_001n]);
      // The bond delay may not drop below the settlement's challenge window (600 s in the fixture).
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.setParams([1n, 2n, 599n, 4]), ctx.registry, "RegistryInvalidInterval", [599n]);
      await viem.assertions.emitWithArgs(ctx.registry.write.setTreasury([ctx.stranger]), ctx.registry, "TreasuryChanged", [ctx.stranger]);
      await viem.assertions.revertWithCustomError(ctx.registry.write.setTreasury([zeroAddress]), ctx.registry, "RegistryZeroAddress");
    });
  });

  describe("registration", () => {
    it("registerEnclave: stores the enclave, pulls the bond, emits", async () => {
      const ctx = await loadFixture(fixture);
      const bond = PARAMS.minBond + 5n;
      const before = await ctx.token.read.balanceOf([ctx.registry.address]);
      const sig = await registrationSig(ctx, ENCLAVE_B, MEASUREMENT_B);
      assert.equal(
        await ctx.registry.read.registrationDigest([ctx.operator, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH]),
        enclaveRegistrationDigest(ctx.chainId, ctx.registry.address, { operator: ctx.operator, measurement: MEASUREMENT_B, attestationHash: ATTESTATION_HASH, keyConfigHash: KEY_CONFIG_HASH }),
      );
      await viem.assertions.emitWithArgs(
        ctx.registry.write.registerEnclave([B, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH, bond, sig], { account: ctx.operator }),
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
      });
      assert.deepEqual(await ctx.registry.read.gatewayStatus([B]), [ctx.operator, false]);
    });

    it("registerEnclave: reverts for a zero key, a measurement not allowed, a second registration and a low bond", async () => {
      const ctx = await loadFixture(fixture);
      const sig = await registrationSig(ctx, ENCLAVE_B, MEASUREMENT_B);
      const reg = (key: Hex, m: Hex, bond: bigint) => ctx.registry.write.registerEnclave([key, m, ATTESTATION_HASH, KEY_CONFIG_HASH, bond, sig], { account: ctx.operator });
      await viem.assertions.revertWithCustomError(reg(zeroAddress, MEASUREMENT_B, PARAMS.minBond), ctx.registry, "RegistryZeroAddress");
      const unknown = keccak256(toHex("unknown image"));
      await viem.assertions.revertWithCustomErrorWithArgs(reg(B, unknown, PARAMS.minBond), ctx.registry, "RegistryMeasurementNotAllowed", [unknown]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(A, MEASUREMENT_A, PARAMS.minBond), ctx.registry, "RegistryEnclaveAlreadyRegistered", [A]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(B, MEASUREMENT_B, PARAMS.minBond - 1n), ctx.registry, "RegistryBondTooLow", [PARAMS.minBond - 1n, PARAMS.minBond]);
      await ctx.registry.write.revokeMeasurement([MEASUREMENT_B]);
      await viem.assertions.revertWithCustomErrorWithArgs(reg(B, MEASUREMENT_B, PARAMS.minBond), ctx.registry, "RegistryMeasurementNotAllowed", [MEASUREMENT_B]);
    });

    it("registerEnclave: reverts when the key did not sign, or signed for another operator (no front-running)", async () => {
      const ctx = await loadFixture(fixture);
      const byOther = await registrationSig(ctx, localAccount("someone else"), MEASUREMENT_B);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.registerEnclave([B, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH, PARAMS.minBond, byOther], { account: ctx.operator }),
        ctx.registry,
        "RegistryInvalidKeySignature",
        [B],
      );
      // A stranger copies the operator's pending registration: the key signed for the operator, not for them.
      await ctx.token.write.transfer([ctx.stranger, PARAMS.minBond]);
      await ctx.token.write.approve([ctx.registry.address, PARAMS.minBond], { account: ctx.stranger });
      const forOperator = await registrationSig(ctx, ENCLAVE_B, MEASUREMENT_B);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.registerEnclave([B, MEASUREMENT_B, ATTESTATION_HASH, KEY_CONFIG_HASH, PARAMS.minBond, forOperator], { account: ctx.stranger }),
        ctx.registry,
        "RegistryInvalidKeySignature",
        [B],
      );
      // The key's signature also binds the attestation and key-config hashes.
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.registerEnclave([B, MEASUREMENT_B, keccak256(toHex("other doc")), KEY_CONFIG_HASH, PARAMS.minBond, forOperator], { account: ctx.operator }),
        ctx.registry,
        "RegistryInvalidKeySignature",
        [B],
      );
    });
  });

  describe("approval", () => {
    it("approveEnclave: activates for one heartbeat, bumps the nonce, mirrors into the settlement", async () => {
      const ctx = await loadFixture(fixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      const e = await ctx.registry.read.enclave([B]);
      assert.equal(
        await ctx.registry.read.approvalDigest([B]),
        enclaveApprovalDigest(ctx.chainId, ctx.registry.address, { key: B, measurement: e.measurement, attestationHash: e.attestationHash, keyConfigHash: e.keyConfigHash, nonce: 0n }),
      );
      const sigs = await approvalSigs(ctx, B);
      const t = BigInt(await networkHelpers.time.latest()) + 10n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const hash = await ctx.registry.write.approveEnclave([B, sigs], { account: ctx.stranger });
      const until = t + BigInt(PARAMS.heartbeatInterval);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "EnclaveApproved", [B, MEASUREMENT_B, until, 0n]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "GatewaySynced", [B, Number(until)]);
      assert.equal((await ctx.registry.read.enclave([B])).approvalNonce, 1n);
      assert.deepEqual(await ctx.registry.read.gatewayStatus([B]), [ctx.operator, true]);
      // The same signatures cannot be replayed (the nonce moved on).
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.approveEnclave([B, sigs]), ctx.validatorSet, "ValidatorUnknownSigner", [0n, (a: string) => !VALIDATORS.some((v) => getAddress(v.address) === a)]);
    });

    it("approveEnclave: reverts for an unregistered key and without a quorum", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.approveEnclave([B, await approvalSigs(ctx, B)]), ctx.registry, "RegistryEnclaveNotRegistered", [B]);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.approveEnclave([B, await approvalSigs(ctx, B, VALIDATORS.slice(0, 2))]),
        ctx.validatorSet,
        "ValidatorQuorumNotReached",
        [2n, 3n],
      );
    });

    it("approveEnclave: reverts for a revoked measurement, a bond below a raised minimum and a pending bond withdrawal", async () => {
      const ctx = await loadFixture(fixture);
      await registerEnclave(ctx, ENCLAVE_B, MEASUREMENT_B);
      await ctx.registry.write.setParams([PARAMS.minBond + 1n, BigInt(PARAMS.heartbeatInterval), BigInt(PARAMS.bondWithdrawDelay), PARAMS.challengerRewardBps]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.approveEnclave([B, await approvalSigs(ctx, B)]), ctx.registry, "RegistryBondTooLow", [PARAMS.minBond, PARAMS.minBond + 1n]);
      await ctx.registry.write.addBond([B, 1n], { account: ctx.operator });
      await ctx.registry.write.requestBondWithdraw([B], { account: ctx.operator });
      const unlockAt = (await ctx.registry.read.enclave([B])).bondUnlockAt;
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.approveEnclave([B, await approvalSigs(ctx, B)]), ctx.registry, "RegistryBondLocked", [B, unlockAt]);
      await ctx.registry.write.revokeMeasurement([MEASUREMENT_B]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.approveEnclave([B, await approvalSigs(ctx, B)]), ctx.registry, "RegistryMeasurementNotAllowed", [MEASUREMENT_B]);
    });

    it("reattest: operator posts a new attestation, the nonce moves on; old approvals are void", async () => {
      const ctx = await loadFixture(fixture);
      const stale = await approvalSigs(ctx, A);
      const doc = keccak256(toHex("fresh attestation"));
      await viem.assertions.emitWithArgs(ctx.registry.write.reattest([A, doc], { account: ctx.operator }), ctx.registry, "EnclaveReattested", [A, doc, 2n]);
      assert.equal((await ctx.registry.read.enclave([A])).attestationHash, doc);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.approveEnclave([A, stale]), ctx.validatorSet, "ValidatorUnknownSigner", [0n, (a: string) => !VALIDATORS.some((v) => getAddress(v.address) === a)]);
      await approveEnclave(ctx, ENCLAVE_A);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.reattest([A, doc], { account: ctx.stranger }), ctx.registry, "RegistryNotOperator", [ctx.stranger, A]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.reattest([B, doc], { account: ctx.operator }), ctx.registry, "RegistryEnclaveNotRegistered", [B]);
    });

    it("isActive: false after the heartbeat interval", async () => {
      const ctx = await loadFixture(fixture);
      const { activeUntil } = await ctx.registry.read.enclave([A]);
      await networkHelpers.time.increaseTo(activeUntil - 1n);
      assert.equal(await ctx.registry.read.isActive([A]), true);
      await networkHelpers.mine();
      assert.equal(await ctx.registry.read.isActive([A]), false);
    });
  });

  describe("operator actions", () => {
    it("deactivate: operator retires the key at once (mirrored); strangers cannot", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.deactivate([A], { account: ctx.stranger }), ctx.registry, "RegistryNotOperator", [ctx.stranger, A]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.deactivate([B], { account: ctx.operator }), ctx.registry, "RegistryEnclaveNotRegistered", [B]);
      const hash = await ctx.registry.write.deactivate([A], { account: ctx.operator });
      await viem.assertions.emitWithArgs(hash, ctx.registry, "EnclaveDeactivated", [A]);
      await viem.assertions.emitWithArgs(hash, ctx.settlement, "GatewaySynced", [A, 0]);
      assert.equal(await ctx.registry.read.isActive([A]), false);
    });

    it("addBond: anyone tops up; reverts for an unregistered key", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.emitWithArgs(ctx.registry.write.addBond([A, OPG(5)], { account: ctx.operator }), ctx.registry, "BondAdded", [A, OPG(5), PARAMS.minBond + OPG(5)]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.addBond([B, 1n], { account: ctx.operator }), ctx.registry, "RegistryEnclaveNotRegistered", [B]);
    });

    it("requestBondWithdraw / withdrawBond: deactivates, then pays after the delay, once", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }), ctx.registry, "RegistryNoBondWithdrawal", [A]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.requestBondWithdraw([A], { account: ctx.stranger }), ctx.registry, "RegistryNotOperator", [ctx.stranger, A]);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      const unlockAt = t + BigInt(PARAMS.bondWithdrawDelay);
      const hash = await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
      await viem.assertions.emitWithArgs(hash, ctx.registry, "BondWithdrawRequested", [A, PARAMS.minBond, unlockAt]);
      await viem.assertions.emitWithArgs(hash, ctx.registry, "EnclaveDeactivated", [A]);
      assert.equal(await ctx.registry.read.isActive([A]), false);
      await networkHelpers.time.setNextBlockTimestamp(unlockAt - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }), ctx.registry, "RegistryBondLocked", [A, unlockAt]);
      await viem.assertions.revertWithCustomError(ctx.registry.write.withdrawBond([A, zeroAddress], { account: ctx.operator }), ctx.registry, "RegistryZeroAddress");
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.withdrawBond([A, ctx.stranger], { account: ctx.stranger }), ctx.registry, "RegistryNotOperator", [ctx.stranger, A]);
      await networkHelpers.time.setNextBlockTimestamp(unlockAt);
      const before = await ctx.token.read.balanceOf([ctx.stranger]);
      await viem.assertions.emitWithArgs(ctx.registry.write.withdrawBond([A, ctx.stranger], { account: ctx.operator }), ctx.registry, "BondWithdrawn", [A, ctx.stranger, PARAMS.minBond]);
      assert.equal(await ctx.token.read.balanceOf([ctx.stranger]), before + PARAMS.minBond);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }), ctx.registry, "RegistryNoBondWithdrawal", [A]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator }), ctx.registry, "RegistryNoBondWithdrawal", [A]);
    });

    it("requestBondWithdraw: does not shield the bond from an equivocation slash", async () => {
      const ctx = await loadFixture(fixture);
      const receipts = randomReceipts(A, 0n, 4);
      const signed = receipts[1]!;
      const sig = await receiptSig(ctx, ENCLAVE_A, signed);
      receipts[1] = { ...signed, outputTokens: signed.outputTokens + 1 };
      const b = await submitBatch(ctx, { receipts });
      await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
      await ctx.settlement.write.challengeEquivocation([b.header, signed, sig, receipts[1]!, false, b.tree.proof(1)], { account: ctx.challenger });
      const e = await ctx.registry.read.enclave([A]);
      assert.equal(e.bond, 0n);
      assert.equal(e.bondUnlockAt, 0n);
      await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }), ctx.registry, "RegistryNoBondWithdrawal", [A]);
    });
  });

  describe("settlement hooks", () => {
    it("slash: reverts unless called by the settlement", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.slash([A, ctx.stranger], { account: ctx.stranger }), ctx.registry, "RegistryOnlySettlement", [ctx.stranger]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.registry.write.slash([A, ctx.owner]), ctx.registry, "RegistryOnlySettlement", [ctx.owner]);
    });
  });
});
