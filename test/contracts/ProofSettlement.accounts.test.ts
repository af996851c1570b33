/**
 * ProofSettlement outside the batch lifecycle: constructor checks, fee deposits (plain and with
 * permit), delayed withdrawals, governance parameters, registry-only hooks and views.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, parseSignature, stringToHex, zeroAddress, type Address } from "viem";
import {
  ENCLAVE_A,
  ENCLAVE_B,
  MODELS,
  OPG,
  PARAMS,
  TREASURY,
  baseFixture,
  type Ctx,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);
const name = (s: string) => stringToHex(s, { size: 32 });

async function fixture(): Promise<Ctx> {
  return baseFixture(viem);
}

const init = (ctx: Ctx, o: Partial<{ treasury: Address; maxBatchSize: number; challengeWindow: number; split: [number, number, number, number] }> = {}) => {
  const [validatorBps, treasuryBps, burnBps, rejectedRefundBps] = o.split ?? [PARAMS.validatorBps, PARAMS.treasuryBps, PARAMS.burnBps, PARAMS.rejectedRefundBps];
  return {
    owner: ctx.owner,
    treasury: o.treasury ?? TREASURY,
    rate: PARAMS.rate,
    maxBatchSize: o.maxBatchSize ?? PARAMS.maxBatchSize,
    challengeWindow: o.challengeWindow ?? PARAMS.challengeWindow,
    withdrawDelay: PARAMS.withdrawDelay,
    validatorBps,
    treasuryBps,
    burnBps,
    rejectedRefundBps,
  };
};

describe("ProofSettlement accounts and governance", () => {
  describe("constructor", () => {
    it("constructor: reverts for zero contracts, a zero treasury and invalid parameters", async () => {
      const ctx = await loadFixture(fixture);
      const s = ctx.settlement;
      const deploy = (token: Address, registry: Address, vs: Address, p: ReturnType<typeof init>) => viem.deployContract("ProofSettlement", [token, registry, vs, p]);
      const [t, r, v] = [ctx.token.address, ctx.registry.address, ctx.validatorSet.address];
      await viem.assertions.revertWithCustomError(deploy(zeroAddress, r, v, init(ctx)), s, "SettlementZeroAddress");
      await viem.assertions.revertWithCustomError(deploy(t, zeroAddress, v, init(ctx)), s, "SettlementZeroAddress");
      await viem.assertions.revertWithCustomError(deploy(t, r, zeroAddress, init(ctx)), s, "SettlementZeroAddress");
      await viem.assertions.revertWithCustomError(deploy(t, r, v, init(ctx, { treasury: zeroAddress })), s, "SettlementZeroAddress");
      await viem.assertions.revertWithCustomErrorWithArgs(deploy(t, r, v, init(ctx, { maxBatchSize: 0 })), s, "SettlementInvalidParam", [name("maxBatchSize"), 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(deploy(t, r, v, init(ctx, { challengeWindow: 0 })), s, "SettlementInvalidParam", [name("challengeWindow"), 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(deploy(t, r, v, init(ctx, { split: [7000, 2000, 999, 0] })), s, "SettlementInvalidParam", [name("feeSplit"), 9999n]);
      await viem.assertions.revertWithCustomErrorWithArgs(deploy(t, r, v, init(ctx, { split: [7000, 2000, 1000, 10_001] })), s, "SettlementInvalidParam", [name("rejectedRefundBps"), 10_001n]);
    });

    it("params / feeRate / version: reflect the launch parameters", async () => {
      const ctx = await loadFixture(fixture);
      assert.deepEqual(await ctx.settlement.read.params(), [
        PARAMS.maxBatchSize,
        PARAMS.challengeWindow,
        PARAMS.withdrawDelay,
        PARAMS.validatorBps,
        PARAMS.treasuryBps,
        PARAMS.burnBps,
        PARAMS.rejectedRefundBps,
        TREASURY,
      ]);
      assert.deepEqual(await ctx.settlement.read.feeRate(), PARAMS.rate);
      assert.equal(await ctx.settlement.read.version(), "0.1.0");
      assert.equal(getAddress(await ctx.settlement.read.TOKEN()), getAddress(ctx.token.address));
    });
  });

  describe("deposit", () => {
    it("deposit: anyone funds any gateway; balance and tokens move, event emitted", async () => {
      const ctx = await loadFixture(fixture);
      const B = getAddress(ENCLAVE_B.address); // not even registered: funding ahead is allowed
      await ctx.token.write.transfer([ctx.stranger, OPG(10)]);
      await ctx.token.write.approve([ctx.settlement.address, OPG(10)], { account: ctx.stranger });
      const held = await ctx.token.read.balanceOf([ctx.settlement.address]);
      await viem.assertions.emitWithArgs(ctx.settlement.write.deposit([B, OPG(10)], { account: ctx.stranger }), ctx.settlement, "Deposited", [B, ctx.stranger, OPG(10)]);
      assert.equal(await ctx.settlement.read.balanceOf([B]), OPG(10));
      assert.equal(await ctx.token.read.balanceOf([ctx.settlement.address]), held + OPG(10));
      assert.equal(await ctx.token.read.balanceOf([ctx.stranger]), 0n);
    });

    it("deposit: reverts for the zero gateway, a zero amount, no allowance and a balance above uint96", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomError(ctx.settlement.write.deposit([zeroAddress, 1n], { account: ctx.operator }), ctx.settlement, "SettlementZeroAddress");
      await viem.assertions.revertWithCustomError(ctx.settlement.write.deposit([A, 0n], { account: ctx.operator }), ctx.settlement, "SettlementZeroAmount");
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.deposit([A, 1n], { account: ctx.stranger }), ctx.token, "ERC20InsufficientAllowance", [
        getAddress(ctx.settlement.address),
        0n,
        1n,
      ]);
      const tooMuch = 2n ** 96n - PARAMS.deposit; // balance + amount = 2^96
      await ctx.token.write.mint([ctx.operator, tooMuch]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.deposit([A, tooMuch], { account: ctx.operator }), ctx.settlement, "SafeCastOverflowedUintDowncast", [96, 2n ** 96n]);
    });

    it("depositWithPermit: deposits with a signed permit and no prior allowance; a front-run permit does not block it", async () => {
      const ctx = await loadFixture(fixture);
      const [, , , , , holderWallet] = await viem.getWalletClients();
      const holder = getAddress(holderWallet!.account.address);
      await ctx.token.write.transfer([holder, OPG(50)]);
      const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
      const permit = async (value: bigint) => {
        const nonce = await ctx.token.read.nonces([holder]);
        const signature = await holderWallet!.signTypedData({
          domain: { name: "OPG", version: "1", chainId: ctx.chainId, verifyingContract: ctx.token.address },
          types: { Permit: [{ name: "owner", type: "address" }, { name: "spender", type: "address" }, { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint256" }] },
          primaryType: "Permit",
          message: { owner: holder, spender: ctx.settlement.address, value, nonce, deadline },
        });
        const { v, r, s } = parseSignature(signature);
        return { v: Number(v), r, s };
      };
      let p = await permit(OPG(20));
      await viem.assertions.emitWithArgs(ctx.settlement.write.depositWithPermit([A, OPG(20), deadline, p.v, p.r, p.s], { account: holder }), ctx.settlement, "Deposited", [A, holder, OPG(20)]);
      // Someone front-runs the next permit itself: the deposit still goes through on the allowance it set.
      p = await permit(OPG(30));
      await ctx.token.write.permit([holder, ctx.settlement.address, OPG(30), deadline, p.v, p.r, p.s], { account: ctx.stranger });
      await viem.assertions.emitWithArgs(ctx.settlement.write.depositWithPermit([A, OPG(30), deadline, p.v, p.r, p.s], { account: holder }), ctx.settlement, "Deposited", [A, holder, OPG(30)]);
      assert.equal(await ctx.settlement.read.balanceOf([A]), PARAMS.deposit + OPG(50));
      assert.equal(await ctx.token.read.balanceOf([holder]), 0n);
      const { v, r, s } = p;
      // A bad permit without allowance fails on the transfer, not silently.
      await viem.assertions.revertWithCustomError(ctx.settlement.write.depositWithPermit([A, 1n, deadline, Number(v), r, s], { account: holder }), ctx.token, "ERC20InsufficientAllowance");
    });
  });

  describe("withdrawals", () => {
    it("requestWithdraw: moves balance to a pending withdrawal; a second request adds up and restarts the delay", async () => {
      const ctx = await loadFixture(fixture);
      let t = BigInt(await networkHelpers.time.latest()) + 5n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await viem.assertions.emitWithArgs(ctx.settlement.write.requestWithdraw([A, OPG(100)], { account: ctx.operator }), ctx.settlement, "WithdrawRequested", [
        A,
        OPG(100),
        OPG(100),
        t + BigInt(PARAMS.withdrawDelay),
      ]);
      assert.equal(await ctx.settlement.read.balanceOf([A]), PARAMS.deposit - OPG(100));
      t += 100n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await ctx.settlement.write.requestWithdraw([A, OPG(1)], { account: ctx.operator });
      assert.deepEqual(await ctx.settlement.read.pendingWithdrawal([A]), [OPG(101), t + BigInt(PARAMS.withdrawDelay)]);
    });

    it("requestWithdraw: reverts for a non-operator, a zero amount and more than the balance", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.requestWithdraw([A, 1n], { account: ctx.stranger }), ctx.settlement, "SettlementNotOperator", [ctx.stranger, A]);
      const B = getAddress(ENCLAVE_B.address);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.requestWithdraw([B, 1n], { account: ctx.operator }), ctx.settlement, "SettlementNotOperator", [ctx.operator, B]);
      await viem.assertions.revertWithCustomError(ctx.settlement.write.requestWithdraw([A, 0n], { account: ctx.operator }), ctx.settlement, "SettlementZeroAmount");
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.requestWithdraw([A, PARAMS.deposit + 1n], { account: ctx.operator }), ctx.settlement, "SettlementInsufficientBalance", [
        A,
        PARAMS.deposit,
        PARAMS.deposit + 1n,
      ]);
    });

    it("withdraw: locked until unlockAt, then pays once to `to`", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator }), ctx.settlement, "SettlementNoWithdrawal", [A]);
      await ctx.settlement.write.requestWithdraw([A, OPG(100)], { account: ctx.operator });
      const [, unlockAt] = await ctx.settlement.read.pendingWithdrawal([A]);
      await networkHelpers.time.setNextBlockTimestamp(unlockAt - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator }), ctx.settlement, "SettlementWithdrawalLocked", [A, unlockAt]);
      await viem.assertions.revertWithCustomError(ctx.settlement.write.withdraw([A, zeroAddress], { account: ctx.operator }), ctx.settlement, "SettlementZeroAddress");
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.withdraw([A, ctx.stranger], { account: ctx.stranger }), ctx.settlement, "SettlementNotOperator", [ctx.stranger, A]);
      await networkHelpers.time.setNextBlockTimestamp(unlockAt);
      const before = await ctx.token.read.balanceOf([ctx.challenger]);
      await viem.assertions.emitWithArgs(ctx.settlement.write.withdraw([A, ctx.challenger], { account: ctx.operator }), ctx.settlement, "Withdrawn", [A, ctx.challenger, OPG(100)]);
      assert.equal(await ctx.token.read.balanceOf([ctx.challenger]), before + OPG(100));
      assert.deepEqual(await ctx.settlement.read.pendingWithdrawal([A]), [0n, 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator }), ctx.settlement, "SettlementNoWithdrawal", [A]);
    });
  });

  describe("governance", () => {
    it("setFeeRate / setModelFeeRate: store and emit; computeFee follows", async () => {
      const ctx = await loadFixture(fixture);
      const rate = { perCall: 1n, perKiloInputToken: 2000n, perKiloOutputToken: 3000n };
      await viem.assertions.emitWithArgs(ctx.settlement.write.setFeeRate([rate]), ctx.settlement, "FeeRateChanged", [1n, 2000n, 3000n]);
      assert.deepEqual(await ctx.settlement.read.feeRate(), rate);
      const usage = [{ modelId: MODELS[0]!, calls: 2, inputTokens: 1999n, outputTokens: 1n }];
      assert.equal(await ctx.settlement.read.computeFee([usage]), 2n + 3998n + 3n);
      const special = { perCall: 100n, perKiloInputToken: 0n, perKiloOutputToken: 0n };
      await viem.assertions.emitWithArgs(ctx.settlement.write.setModelFeeRate([MODELS[0]!, special, true]), ctx.settlement, "ModelFeeRateChanged", [MODELS[0]!, true, 100n, 0n, 0n]);
      assert.deepEqual(await ctx.settlement.read.modelFeeRate([MODELS[0]!]), [special, true]);
      assert.equal(await ctx.settlement.read.computeFee([usage]), 200n);
    });

    it("setMaxBatchSize / setWindows / setFeeSplit / setTreasury: store, emit, reject invalid values", async () => {
      const ctx = await loadFixture(fixture);
      const s = ctx.settlement;
      await viem.assertions.emitWithArgs(s.write.setMaxBatchSize([10]), s, "MaxBatchSizeChanged", [10]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setMaxBatchSize([0]), s, "SettlementInvalidParam", [name("maxBatchSize"), 0n]);
      await viem.assertions.emitWithArgs(s.write.setWindows([700, 8]), s, "WindowsChanged", [700, 8]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setWindows([0, 8]), s, "SettlementInvalidParam", [name("challengeWindow"), 0n]);
      // The window only grows (open batches keep theirs) and never outlasts the registry's bond delay.
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setWindows([699, 8]), s, "SettlementInvalidParam", [name("challengeWindow"), 699n]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setWindows([7 * 86_400 + 1, 8]), s, "SettlementInvalidParam", [name("challengeWindow"), BigInt(7 * 86_400 + 1)]);
      await viem.assertions.emitWithArgs(s.write.setFeeSplit([10_000, 0, 0, 10_000]), s, "FeeSplitChanged", [10_000, 0, 0, 10_000]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setFeeSplit([5000, 5000, 1, 0]), s, "SettlementInvalidParam", [name("feeSplit"), 10_001n]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setFeeSplit([5000, 5000, 0, 10_001]), s, "SettlementInvalidParam", [name("rejectedRefundBps"), 10_001n]);
      await viem.assertions.emitWithArgs(s.write.setTreasury([ctx.stranger]), s, "TreasuryChanged", [ctx.stranger]);
      await viem.assertions.revertWithCustomError(s.write.setTreasury([zeroAddress]), s, "SettlementZeroAddress");
      assert.deepEqual(await s.read.params(), [10, 700, 8, 10_000, 0, 0, 10_000, ctx.stranger]);
    });
  });

  describe("registry hooks", () => {
    it("syncGateway / noteMeasurementRevoked: revert unless called by the registry", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.syncGateway([A, 2 ** 39], { account: ctx.stranger }), ctx.settlement, "SettlementOnlyRegistry", [ctx.stranger]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.noteMeasurementRevoked({ account: ctx.operator }), ctx.settlement, "SettlementOnlyRegistry", [ctx.operator]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.settlement.write.syncGateway([A, 0]), ctx.settlement, "SettlementOnlyRegistry", [ctx.owner]);
    });
  });
});
