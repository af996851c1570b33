/**
 * ProofSettlement and GatewayRegistry with hostile or non-standard tokens: a token that re-enters
 * during transfers, a fee-on-transfer token, and a USDT-style token whose transfers return nothing.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { encodeFunctionData, getAddress, zeroAddress } from "viem";
import {
  ENCLAVE_A,
  MEASUREMENT_A,
  OPG,
  PARAMS,
  Status,
  TREASURY,
  VALIDATORS,
  attest,
  attestersOf,
  baseFixture,
  buildBatch,
  finalize,
  registryParams,
  registrationSig,
  statusOf,
  submitBatch,
  windowEnd,
  ATTESTATION_HASH,
  KEY_CONFIG_HASH,
  type Ctx,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);
const BPS = 10_000n;
const Hook = { None: 0, Transfer: 1, TransferFrom: 2 } as const;

async function reentrantFixture(): Promise<Ctx> {
  return baseFixture(viem, { mockToken: "ReentrantToken" });
}
async function feeOnTransferFixture(): Promise<Ctx> {
  return baseFixture(viem, { mockToken: "FeeOnTransferToken", enclave: false });
}
async function noReturnFixture(): Promise<Ctx> {
  return baseFixture(viem, { mockToken: "NoReturnToken" });
}

/** Attests and finalizes one batch so validators are owed rewards. */
async function finalizedBatch(ctx: Ctx) {
  const b = await submitBatch(ctx, { count: 20 });
  await attest(ctx, [b]);
  await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
  await finalize(ctx, [b]);
  return b;
}

describe("tokens", () => {
  describe("a token that re-enters", () => {
    it("test_deposit_tokenReentersDepositFromTransferFrom_revertsReentrancyGuardReentrantCall", async () => {
      const ctx = await loadFixture(reentrantFixture);
      const token = await viem.getContractAt("ReentrantToken", ctx.token.address);
      const data = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "deposit", args: [A, 1n] });
      await token.write.arm([Hook.TransferFrom, ctx.settlement.address, data]);
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.deposit([A, OPG(1)], { account: ctx.operator }),
        ctx.settlement,
        "ReentrancyGuardReentrantCall",
      );
    });

    it("test_withdraw_tokenReentersWithdrawFromTransfer_revertsReentrancyGuardReentrantCall", async () => {
      const ctx = await loadFixture(reentrantFixture);
      const token = await viem.getContractAt("ReentrantToken", ctx.token.address);
      await ctx.settlement.write.requestWithdraw([A, OPG(10)], { account: ctx.operator });
      await networkHelpers.time.increase(PARAMS.withdrawDelay);
      const data = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "withdraw", args: [A, ctx.operator] });
      await token.write.arm([Hook.Transfer, ctx.settlement.address, data]);
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator }),
        ctx.settlement,
        "ReentrancyGuardReentrantCall",
      );
      // Disarmed, the same withdrawal pays out once.
      await token.write.arm([Hook.None, zeroAddress, "0x"]);
      await ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator });
      assert.deepEqual(await ctx.settlement.read.pendingWithdrawal([A]), [0n, 0n]);
    });

    it("test_claimRewards_tokenReentersClaimRewardsFromTransfer_revertsReentrancyGuardReentrantCall", async () => {
      const ctx = await loadFixture(reentrantFixture);
      const token = await viem.getContractAt("ReentrantToken", ctx.token.address);
      await finalizedBatch(ctx);
      const v = VALIDATORS[0]!;
      await networkHelpers.setBalance(v.address, 10n ** 18n);
      const data = encodeFunctionData({ abi: ctx.settlement.abi, functionName: "claimRewards", args: [ctx.stranger] });
      await token.write.arm([Hook.Transfer, ctx.settlement.address, data]);
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.claimRewards([v.address], { account: v }),
        ctx.settlement,
        "ReentrancyGuardReentrantCall",
      );
      const owed = await ctx.settlement.read.rewardsOwed([v.address]);
      assert.ok(owed > 0n); // the reverted claim took nothing
    });

    it("test_finalize_tokenReentersFinalizeFromTreasuryTransfer_revertsReentrancyGuardReentrantCall", async () => {
      const ctx = await loadFixture(reentrantFixture);
      const token = await viem.getContractAt("ReentrantToken", ctx.token.address);
      const b = await submitBatch(ctx, { count: 20 });
      await attest(ctx, [b]);
      await networkHelpers.time.increaseTo(await windowEnd(ctx, b));
      const attesters = await attestersOf(ctx, b);
      const data = encodeFunctionData({
        abi: ctx.settlement.abi,
        functionName: "finalize",
        args: [[b.header], attesters],
      });
      await token.write.arm([Hook.Transfer, ctx.settlement.address, data]);
      await viem.assertions.revertWithCustomError(
        finalize(ctx, [b], { attesters }),
        ctx.settlement,
        "ReentrancyGuardReentrantCall",
      );
      assert.equal(await statusOf(ctx, b), Status.Attested);
    });

    it("test_addBondWithdrawBond_tokenReentersRegistry_revertsReentrancyGuardReentrantCall", async () => {
      const ctx = await loadFixture(reentrantFixture);
      const token = await viem.getContractAt("ReentrantToken", ctx.token.address);
      const addBond = encodeFunctionData({ abi: ctx.registry.abi, functionName: "addBond", args: [A, 1n] });
      await token.write.arm([Hook.TransferFrom, ctx.registry.address, addBond]);
      await viem.assertions.revertWithCustomError(
        ctx.registry.write.addBond([A, OPG(1)], { account: ctx.operator }),
        ctx.registry,
        "ReentrancyGuardReentrantCall",
      );
      await token.write.arm([Hook.None, zeroAddress, "0x"]);
      await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
      await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
      const withdrawBond = encodeFunctionData({
        abi: ctx.registry.abi,
        functionName: "withdrawBond",
        args: [A, ctx.operator],
      });
      await token.write.arm([Hook.Transfer, ctx.registry.address, withdrawBond]);
      await viem.assertions.revertWithCustomError(
        ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator }),
        ctx.registry,
        "ReentrancyGuardReentrantCall",
      );
      assert.equal((await ctx.registry.read.enclave([A])).bond, PARAMS.minBond);
    });

    it("test_deposit_tokenReentersUnguardedSubmitBatch_batchSubmittedAndFeeStillDebited", async () => {
      const ctx = await loadFixture(reentrantFixture);
      const token = await viem.getContractAt("ReentrantToken", ctx.token.address);
      const b = await buildBatch(ctx, { count: 20 });
      const data = encodeFunctionData({
        abi: ctx.settlement.abi,
        functionName: "submitBatch",
        args: [b.header, b.sig],
      });
      await token.write.arm([Hook.TransferFrom, ctx.settlement.address, data]);
      const before = await ctx.settlement.read.balanceOf([A]);
      await ctx.settlement.write.deposit([A, OPG(5)], { account: ctx.operator });
      assert.equal(await token.read.lastCallbackOk(), true);
      assert.equal(await statusOf(ctx, b), Status.Submitted);
      // The deposit must not overwrite the fee debit made during its own token call.
      assert.equal(await ctx.settlement.read.balanceOf([A]), before + OPG(5) - b.header.fee);
      // Backing: tokens held == spendable balance + escrow of the submitted batch.
      assert.equal(await ctx.token.read.balanceOf([ctx.settlement.address]), before + OPG(5));
    });
  });

  describe("a fee-on-transfer token", () => {
    it("test_deposit_feeOnTransferToken_revertsSettlementTransferAmountMismatch", async () => {
      const ctx = await loadFixture(feeOnTransferFixture);
      const amount = OPG(100);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.deposit([A, amount], { account: ctx.operator }),
        ctx.settlement,
        "SettlementTransferAmountMismatch",
        [amount, amount - amount / 100n],
      );
    });

    it("test_stake_feeOnTransferToken_revertsValidatorTransferAmountMismatch", async () => {
      const ctx = await loadFixture(feeOnTransferFixture);
      const token = await viem.getContractAt("FeeOnTransferToken", ctx.token.address);
      await token.write.approve([ctx.validatorSet.address, PARAMS.minStake]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.validatorSet.write.stake([VALIDATORS[0]!.address, PARAMS.minStake]),
        ctx.validatorSet,
        "ValidatorTransferAmountMismatch",
        [PARAMS.minStake, PARAMS.minStake - PARAMS.minStake / 100n],
      );
    });

    it("test_registerEnclaveAddBond_feeOnTransferToken_revertsRegistryTransferAmountMismatch", async () => {
      const ctx = await loadFixture(feeOnTransferFixture);
      const sig = await registrationSig(ctx, ENCLAVE_A, MEASUREMENT_A);
      const bond = PARAMS.minBond;
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.registerEnclave([A, MEASUREMENT_A, ATTESTATION_HASH, KEY_CONFIG_HASH, bond, sig], {
          account: ctx.operator,
        }),
        ctx.registry,
        "RegistryTransferAmountMismatch",
        [bond, bond - bond / 100n],
      );
      // With no minimum bond a key registers without a transfer; topping it up still must not short-pay.
      await ctx.registry.write.setParams([registryParams({ minBond: 0n })]);
      await ctx.registry.write.registerEnclave([A, MEASUREMENT_A, ATTESTATION_HASH, KEY_CONFIG_HASH, 0n, sig], {
        account: ctx.operator,
      });
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.registry.write.addBond([A, bond], { account: ctx.operator }),
        ctx.registry,
        "RegistryTransferAmountMismatch",
        [bond, bond - bond / 100n],
      );
    });
  });

  describe("a USDT-style token (no bool returns)", () => {
    it("test_safeERC20_noBoolReturnToken_bondDepositSettleClaimWithdrawAllPayOut", async () => {
      const ctx = await loadFixture(noReturnFixture);
      const token = await viem.getContractAt("NoReturnToken", ctx.token.address);
      // Registration pulled the bond and the deposit pulled the fee balance.
      assert.equal(await token.read.balanceOf([ctx.registry.address]), PARAMS.minBond);
      assert.equal(await token.read.balanceOf([ctx.settlement.address]), PARAMS.deposit);
      assert.equal(await ctx.settlement.read.balanceOf([A]), PARAMS.deposit);

      const b = await finalizedBatch(ctx);
      // Split equally among the 3 attesters; the remainder below one wei each goes to the treasury.
      const toValidators = ((b.header.fee * BigInt(PARAMS.validatorBps)) / BPS / 3n) * 3n;
      const burned = (b.header.fee * BigInt(PARAMS.burnBps)) / BPS;
      assert.equal(await token.read.balanceOf([TREASURY]), b.header.fee - toValidators - burned);

      const v = VALIDATORS[2]!;
      await networkHelpers.setBalance(v.address, 10n ** 18n);
      const owed = await ctx.settlement.read.rewardsOwed([v.address]);
      await ctx.settlement.write.claimRewards([v.address], { account: v });
      assert.equal(await token.read.balanceOf([v.address]), owed);

      const operatorBefore = await token.read.balanceOf([ctx.operator]);
      await ctx.settlement.write.requestWithdraw([A, OPG(100)], { account: ctx.operator });
      await networkHelpers.time.increase(PARAMS.withdrawDelay);
      await ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator });
      assert.equal(await token.read.balanceOf([ctx.operator]), operatorBefore + OPG(100));

      await ctx.registry.write.requestBondWithdraw([A], { account: ctx.operator });
      await networkHelpers.time.increase(PARAMS.bondWithdrawDelay);
      await ctx.registry.write.withdrawBond([A, ctx.operator], { account: ctx.operator });
      assert.equal(await token.read.balanceOf([ctx.operator]), operatorBefore + OPG(100) + PARAMS.minBond);
    });
  });
});
