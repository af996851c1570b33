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
  VALIDATORS,
  baseFixture,
  predictAddress,
  registryParams,
  type Ctx,
} from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const A = getAddress(ENCLAVE_A.address);
const name = (s: string) => stringToHex(s, { size: 32 });

async function fixture(): Promise<Ctx> {
  return baseFixture(viem);
}

const init = (
  ctx: Ctx,
  o: Partial<{
    treasury: Address;
    maxBatchSize: number;
    challengeWindow: number;
    split: [number, number, number, number];
    attesterSlashBps: number;
    rate: typeof PARAMS.rate;
  }> = {},
) => {
  const [validatorBps, treasuryBps, burnBps, rejectedRefundBps] = o.split ?? [
    PARAMS.validatorBps,
    PARAMS.treasuryBps,
    PARAMS.burnBps,
    PARAMS.rejectedRefundBps,
  ];
  return {
    owner: ctx.owner,
    treasury: o.treasury ?? TREASURY,
    rate: o.rate ?? PARAMS.rate,
    maxBatchSize: o.maxBatchSize ?? PARAMS.maxBatchSize,
    challengeWindow: o.challengeWindow ?? PARAMS.challengeWindow,
    withdrawDelay: PARAMS.withdrawDelay,
    validatorBps,
    treasuryBps,
    burnBps,
    rejectedRefundBps,
    attesterSlashBps: o.attesterSlashBps ?? PARAMS.attesterSlashBps,
  };
};

describe("ProofSettlement accounts and governance", () => {
  describe("constructor", () => {
    /**
     * A ValidatorSet and a GatewayRegistry deployed for the settlement the owner deploys next (v2 wiring
     * by nonce prediction), so the settlement's own parameter checks can be reached.
     */
    async function wiredPair(ctx: Ctx) {
      const predicted = await predictAddress(viem, ctx.owner, 2);
      const vs = await viem.deployContract("ValidatorSet", [
        ctx.token.address,
        predicted,
        ctx.owner,
        [],
        1n,
        1n,
        BigInt(PARAMS.exitDelay),
        0,
      ]);
      const reg = await viem.deployContract("GatewayRegistry", [
        ctx.token.address,
        vs.address,
        predicted,
        ctx.owner,
        registryParams(),
      ]);
      return { v: vs.address, r: reg.address };
    }

    it("test_constructor_zeroContractOrTreasuryOrInvalidParam_revertsSettlementZeroAddressInvalidParamOrOwnableInvalidOwner", async () => {
      const ctx = await loadFixture(fixture);
      const s = ctx.settlement;
      const deploy = (token: Address, registry: Address, vs: Address, p: ReturnType<typeof init>) =>
        viem.deployContract("ProofSettlement", [token, registry, vs, p]);
      const t = ctx.token.address;
      await viem.assertions.revertWithCustomError(
        deploy(zeroAddress, ctx.registry.address, ctx.validatorSet.address, init(ctx)),
        s,
        "SettlementZeroAddress",
      );
      await viem.assertions.revertWithCustomError(
        deploy(t, zeroAddress, ctx.validatorSet.address, init(ctx)),
        s,
        "SettlementZeroAddress",
      );
      await viem.assertions.revertWithCustomError(
        deploy(t, ctx.registry.address, zeroAddress, init(ctx)),
        s,
        "SettlementZeroAddress",
      );
      const bad = [
        [{ treasury: zeroAddress }, "SettlementZeroAddress", undefined],
        [{ maxBatchSize: 0 }, "SettlementInvalidParam", [name("maxBatchSize"), 0n]],
        [{ challengeWindow: 0 }, "SettlementInvalidParam", [name("challengeWindow"), 0n]],
        // v2 hard bound: a window no longer than the validators' exit delay (the launch value is the floor: it only grows).
        [
          { challengeWindow: PARAMS.exitDelay + 1 },
          "SettlementInvalidParam",
          [name("challengeWindow"), BigInt(PARAMS.exitDelay + 1)],
        ],
        [{ split: [7000, 2000, 999, 0] }, "SettlementInvalidParam", [name("feeSplit"), 9999n]],
        [{ split: [4000, 5001, 999, 0] }, "SettlementInvalidParam", [name("treasuryBps"), 5001n]],
        [{ split: [7000, 2000, 1000, 10_001] }, "SettlementInvalidParam", [name("rejectedRefundBps"), 10_001n]],
        [{ attesterSlashBps: 10_001 }, "SettlementInvalidParam", [name("attesterSlashBps"), 10_001n]],
        [
          { rate: { ...PARAMS.rate, perCall: 10n ** 17n + 1n } },
          "SettlementInvalidParam",
          [name("perCall"), 10n ** 17n + 1n],
        ],
      ] as const;
      for (const [o, error, args] of bad) {
        // Each attempt burns a nonce, so each gets a fresh pair wired for the next one.
        const { r, v } = await wiredPair(ctx);
        if (args)
          await viem.assertions.revertWithCustomErrorWithArgs(
            deploy(t, r, v, init(ctx, o as Parameters<typeof init>[1])),
            s,
            error,
            [...args],
          );
        else
          await viem.assertions.revertWithCustomError(
            deploy(t, r, v, init(ctx, o as Parameters<typeof init>[1])),
            s,
            error,
          );
      }
      const { r, v } = await wiredPair(ctx);
      await viem.assertions.revertWithCustomErrorWithArgs(
        deploy(t, r, v, { ...init(ctx), owner: zeroAddress }),
        s,
        "OwnableInvalidOwner",
        [zeroAddress],
      );
      // A correct pair deploys.
      const ok = await wiredPair(ctx);
      await deploy(t, ok.r, ok.v, init(ctx));
    });

    it("test_constructor_registryOrValidatorSetWiredToAnotherAddress_revertsSettlementMiswired", async () => {
      const ctx = await loadFixture(fixture);
      const s = ctx.settlement;
      const t = ctx.token.address;
      const deploy = (registry: Address, vs: Address) =>
        viem.deployContract("ProofSettlement", [t, registry, vs, init(ctx)]);
      // The fixture's pair points at the fixture's settlement, not at a new one.
      await viem.assertions.revertWithCustomError(
        deploy(ctx.registry.address, ctx.validatorSet.address),
        s,
        "SettlementMiswired",
      );
      // A pair predicted one nonce off.
      const off = await predictAddress(viem, ctx.owner, 3);
      const vs = await viem.deployContract("ValidatorSet", [
        t,
        off,
        ctx.owner,
        [],
        1n,
        1n,
        BigInt(PARAMS.exitDelay),
        0,
      ]);
      const reg = await viem.deployContract("GatewayRegistry", [t, vs.address, off, ctx.owner, registryParams()]);
      await viem.assertions.revertWithCustomError(deploy(reg.address, vs.address), s, "SettlementMiswired");
      // Only the validator set right (registry of the fixture).
      const predicted = await predictAddress(viem, ctx.owner, 1);
      const vs2 = await viem.deployContract("ValidatorSet", [
        t,
        predicted,
        ctx.owner,
        [],
        1n,
        1n,
        BigInt(PARAMS.exitDelay),
        0,
      ]);
      await viem.assertions.revertWithCustomError(deploy(ctx.registry.address, vs2.address), s, "SettlementMiswired");
    });

    it("test_params_deployed_feeRateVersionAndBoundsReflectLaunchValues", async () => {
      const ctx = await loadFixture(fixture);
      assert.deepEqual(await ctx.settlement.read.params(), [
        PARAMS.maxBatchSize,
        PARAMS.challengeWindow,
        PARAMS.withdrawDelay,
        PARAMS.validatorBps,
        PARAMS.treasuryBps,
        PARAMS.burnBps,
        PARAMS.rejectedRefundBps,
        PARAMS.attesterSlashBps,
        TREASURY,
      ]);
      assert.deepEqual(await ctx.settlement.read.feeRate(), PARAMS.rate);
      assert.equal(await ctx.settlement.read.version(), "0.2.0");
      assert.equal(getAddress(await ctx.settlement.read.TOKEN()), getAddress(ctx.token.address));
      assert.equal(getAddress(await ctx.settlement.read.treasury()), TREASURY);
      assert.equal(await ctx.settlement.read.challengeWindow(), PARAMS.challengeWindow);
      assert.equal(await ctx.settlement.read.openBatches([A]), 0n);
      assert.equal(await ctx.settlement.read.rewardsOwed([VALIDATORS[0]!.address]), 0n);
      assert.deepEqual(await ctx.settlement.read.batch([A, 0n]), [0, 0n, 0n, 0, `0x${"0".repeat(64)}`]);
      // The v2 hard bounds.
      assert.equal(await ctx.settlement.read.MAX_PER_CALL(), 10n ** 17n);
      assert.equal(await ctx.settlement.read.MAX_PER_KILO_TOKEN(), 10n ** 17n);
      assert.equal(await ctx.settlement.read.MAX_TREASURY_BPS(), 5000);
    });
  });

  describe("deposit", () => {
    it("test_deposit_strangerFundsUnregisteredGateway_balanceAndTokensMoveEmitsDeposited", async () => {
      const ctx = await loadFixture(fixture);
      const B = getAddress(ENCLAVE_B.address); // not even registered: funding ahead is allowed
      await ctx.token.write.transfer([ctx.stranger, OPG(10)]);
      await ctx.token.write.approve([ctx.settlement.address, OPG(10)], { account: ctx.stranger });
      const held = await ctx.token.read.balanceOf([ctx.settlement.address]);
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.deposit([B, OPG(10)], { account: ctx.stranger }),
        ctx.settlement,
        "Deposited",
        [B, ctx.stranger, OPG(10)],
      );
      assert.equal(await ctx.settlement.read.balanceOf([B]), OPG(10));
      assert.equal(await ctx.token.read.balanceOf([ctx.settlement.address]), held + OPG(10));
      assert.equal(await ctx.token.read.balanceOf([ctx.stranger]), 0n);
    });

    it("test_deposit_zeroGatewayZeroAmountNoAllowanceOrAboveUint96_revertsZeroAddressZeroAmountInsufficientAllowanceOrOverflow", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.deposit([zeroAddress, 1n], { account: ctx.operator }),
        ctx.settlement,
        "SettlementZeroAddress",
      );
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.deposit([A, 0n], { account: ctx.operator }),
        ctx.settlement,
        "SettlementZeroAmount",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.deposit([A, 1n], { account: ctx.stranger }),
        ctx.token,
        "ERC20InsufficientAllowance",
        [getAddress(ctx.settlement.address), 0n, 1n],
      );
      const tooMuch = 2n ** 96n - PARAMS.deposit; // balance + amount = 2^96
      await ctx.token.write.mint([ctx.operator, tooMuch]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.deposit([A, tooMuch], { account: ctx.operator }),
        ctx.settlement,
        "SafeCastOverflowedUintDowncast",
        [96, 2n ** 96n],
      );
    });

    it("test_depositWithPermit_signedPermitEvenFrontRun_depositsElseBadPermitRevertsInsufficientAllowance", async () => {
      const ctx = await loadFixture(fixture);
      const [, , , , , holderWallet] = await viem.getWalletClients();
      const holder = getAddress(holderWallet!.account.address);
      await ctx.token.write.transfer([holder, OPG(50)]);
      const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
      const permit = async (value: bigint) => {
        const nonce = await ctx.token.read.nonces([holder]);
        const signature = await holderWallet!.signTypedData({
          domain: { name: "OPG", version: "1", chainId: ctx.chainId, verifyingContract: ctx.token.address },
          types: {
            Permit: [
              { name: "owner", type: "address" },
              { name: "spender", type: "address" },
              { name: "value", type: "uint256" },
              { name: "nonce", type: "uint256" },
              { name: "deadline", type: "uint256" },
            ],
          },
          primaryType: "Permit",
          message: { owner: holder, spender: ctx.settlement.address, value, nonce, deadline },
        });
        const { v, r, s } = parseSignature(signature);
        return { v: Number(v), r, s };
      };
      let p = await permit(OPG(20));
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.depositWithPermit([A, OPG(20), deadline, p.v, p.r, p.s], { account: holder }),
        ctx.settlement,
        "Deposited",
        [A, holder, OPG(20)],
      );
      // Someone front-runs the next permit itself: the deposit still goes through on the allowance it set.
      p = await permit(OPG(30));
      await ctx.token.write.permit([holder, ctx.settlement.address, OPG(30), deadline, p.v, p.r, p.s], {
        account: ctx.stranger,
      });
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.depositWithPermit([A, OPG(30), deadline, p.v, p.r, p.s], { account: holder }),
        ctx.settlement,
        "Deposited",
        [A, holder, OPG(30)],
      );
      assert.equal(await ctx.settlement.read.balanceOf([A]), PARAMS.deposit + OPG(50));
      assert.equal(await ctx.token.read.balanceOf([holder]), 0n);
      const { v, r, s } = p;
      // A bad permit without allowance fails on the transfer, not silently.
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.depositWithPermit([A, 1n, deadline, Number(v), r, s], { account: holder }),
        ctx.token,
        "ERC20InsufficientAllowance",
      );
    });
  });

  describe("withdrawals", () => {
    it("test_requestWithdraw_twoRequests_balanceMovedToPendingAmountsAddDelayRestarts", async () => {
      const ctx = await loadFixture(fixture);
      let t = BigInt(await networkHelpers.time.latest()) + 5n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.requestWithdraw([A, OPG(100)], { account: ctx.operator }),
        ctx.settlement,
        "WithdrawRequested",
        [A, OPG(100), OPG(100), t + BigInt(PARAMS.withdrawDelay)],
      );
      assert.equal(await ctx.settlement.read.balanceOf([A]), PARAMS.deposit - OPG(100));
      t += 100n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await ctx.settlement.write.requestWithdraw([A, OPG(1)], { account: ctx.operator });
      assert.deepEqual(await ctx.settlement.read.pendingWithdrawal([A]), [OPG(101), t + BigInt(PARAMS.withdrawDelay)]);
    });

    it("test_requestWithdraw_nonOperatorZeroAmountOrAboveBalance_revertsNotOperatorZeroAmountOrInsufficientBalance", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.requestWithdraw([A, 1n], { account: ctx.stranger }),
        ctx.settlement,
        "SettlementNotOperator",
        [ctx.stranger, A],
      );
      const B = getAddress(ENCLAVE_B.address);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.requestWithdraw([B, 1n], { account: ctx.operator }),
        ctx.settlement,
        "SettlementNotOperator",
        [ctx.operator, B],
      );
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.requestWithdraw([A, 0n], { account: ctx.operator }),
        ctx.settlement,
        "SettlementZeroAmount",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.requestWithdraw([A, PARAMS.deposit + 1n], { account: ctx.operator }),
        ctx.settlement,
        "SettlementInsufficientBalance",
        [A, PARAMS.deposit, PARAMS.deposit + 1n],
      );
    });

    it("test_withdraw_beforeThenAtUnlockAt_revertsWithdrawalLockedThenPaysOnceToRecipient", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator }),
        ctx.settlement,
        "SettlementNoWithdrawal",
        [A],
      );
      await ctx.settlement.write.requestWithdraw([A, OPG(100)], { account: ctx.operator });
      const [, unlockAt] = await ctx.settlement.read.pendingWithdrawal([A]);
      await networkHelpers.time.setNextBlockTimestamp(unlockAt - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator }),
        ctx.settlement,
        "SettlementWithdrawalLocked",
        [A, unlockAt],
      );
      await viem.assertions.revertWithCustomError(
        ctx.settlement.write.withdraw([A, zeroAddress], { account: ctx.operator }),
        ctx.settlement,
        "SettlementZeroAddress",
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.withdraw([A, ctx.stranger], { account: ctx.stranger }),
        ctx.settlement,
        "SettlementNotOperator",
        [ctx.stranger, A],
      );
      await networkHelpers.time.setNextBlockTimestamp(unlockAt);
      const before = await ctx.token.read.balanceOf([ctx.challenger]);
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.withdraw([A, ctx.challenger], { account: ctx.operator }),
        ctx.settlement,
        "Withdrawn",
        [A, ctx.challenger, OPG(100)],
      );
      assert.equal(await ctx.token.read.balanceOf([ctx.challenger]), before + OPG(100));
      assert.deepEqual(await ctx.settlement.read.pendingWithdrawal([A]), [0n, 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.withdraw([A, ctx.operator], { account: ctx.operator }),
        ctx.settlement,
        "SettlementNoWithdrawal",
        [A],
      );
    });
  });

  describe("governance", () => {
    it("test_setFeeRateSetModelFeeRate_newRates_storedEmittedAndComputeFeeFollows", async () => {
      const ctx = await loadFixture(fixture);
      const rate = { perCall: 1n, perKiloInputToken: 2000n, perKiloOutputToken: 3000n };
      await viem.assertions.emitWithArgs(ctx.settlement.write.setFeeRate([rate]), ctx.settlement, "FeeRateChanged", [
        1n,
        2000n,
        3000n,
      ]);
      assert.deepEqual(await ctx.settlement.read.feeRate(), rate);
      const usage = [{ modelId: MODELS[0]!, calls: 2, inputTokens: 1999n, outputTokens: 1n }];
      assert.equal(await ctx.settlement.read.computeFee([usage]), 2n + 3998n + 3n);
      const special = { perCall: 100n, perKiloInputToken: 0n, perKiloOutputToken: 0n };
      await viem.assertions.emitWithArgs(
        ctx.settlement.write.setModelFeeRate([MODELS[0]!, special, true]),
        ctx.settlement,
        "ModelFeeRateChanged",
        [MODELS[0]!, true, 100n, 0n, 0n],
      );
      assert.deepEqual(await ctx.settlement.read.modelFeeRate([MODELS[0]!]), [special, true]);
      assert.equal(await ctx.settlement.read.computeFee([usage]), 200n);
    });

    it("test_settlementSetters_validOrInvalidValues_storedAndEmittedElseRevertsInvalidParamOrZeroAddress", async () => {
      const ctx = await loadFixture(fixture);
      const s = ctx.settlement;
      await viem.assertions.emitWithArgs(s.write.setMaxBatchSize([10]), s, "MaxBatchSizeChanged", [10]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setMaxBatchSize([0]), s, "SettlementInvalidParam", [
        name("maxBatchSize"),
        0n,
      ]);
      await viem.assertions.emitWithArgs(s.write.setWindows([700, 8]), s, "WindowsChanged", [700, 8]);
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setWindows([0, 8]), s, "SettlementInvalidParam", [
        name("challengeWindow"),
        0n,
      ]);
      // The window only grows (open batches keep theirs) and (v2) never outlasts the validators' exit delay.
      await viem.assertions.revertWithCustomErrorWithArgs(s.write.setWindows([699, 8]), s, "SettlementInvalidParam", [
        name("challengeWindow"),
        699n,
      ]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.write.setWindows([PARAMS.exitDelay + 1, 8]),
        s,
        "SettlementInvalidParam",
        [name("challengeWindow"), BigInt(PARAMS.exitDelay + 1)],
      );
      await viem.assertions.emitWithArgs(s.write.setWindows([PARAMS.exitDelay, 8]), s, "WindowsChanged", [
        PARAMS.exitDelay,
        8,
      ]);
      // v2: the treasury takes at most MAX_TREASURY_BPS.
      await viem.assertions.emitWithArgs(
        s.write.setFeeSplit([5000, 5000, 0, 10_000]),
        s,
        "FeeSplitChanged",
        [5000, 5000, 0, 10_000],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.write.setFeeSplit([0, 5001, 4999, 0]),
        s,
        "SettlementInvalidParam",
        [name("treasuryBps"), 5001n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.write.setFeeSplit([5000, 5000, 1, 0]),
        s,
        "SettlementInvalidParam",
        [name("feeSplit"), 10_001n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.write.setFeeSplit([5000, 5000, 0, 10_001]),
        s,
        "SettlementInvalidParam",
        [name("rejectedRefundBps"), 10_001n],
      );
      await viem.assertions.emitWithArgs(s.write.setTreasury([ctx.stranger]), s, "TreasuryChanged", [ctx.stranger]);
      await viem.assertions.revertWithCustomError(s.write.setTreasury([zeroAddress]), s, "SettlementZeroAddress");
      await viem.assertions.emitWithArgs(s.write.setAttesterSlashBps([10_000]), s, "AttesterSlashChanged", [10_000]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        s.write.setAttesterSlashBps([10_001]),
        s,
        "SettlementInvalidParam",
        [name("attesterSlashBps"), 10_001n],
      );
      assert.deepEqual(await s.read.params(), [10, PARAMS.exitDelay, 8, 5000, 5000, 0, 10_000, 10_000, ctx.stranger]);
    });

    it("test_setFeeRateSetModelFeeRate_rateAboveMax_revertsSettlementInvalidParam", async () => {
      const ctx = await loadFixture(fixture);
      const s = ctx.settlement;
      const max = 10n ** 17n;
      await s.write.setFeeRate([{ perCall: max, perKiloInputToken: max, perKiloOutputToken: max }]);
      await s.write.setModelFeeRate([
        MODELS[0]!,
        { perCall: max, perKiloInputToken: max, perKiloOutputToken: max },
        true,
      ]);
      for (const [field, rate] of [
        ["perCall", { perCall: max + 1n, perKiloInputToken: 0n, perKiloOutputToken: 0n }],
        ["perKiloInputToken", { perCall: 0n, perKiloInputToken: max + 1n, perKiloOutputToken: 0n }],
        ["perKiloOutputToken", { perCall: 0n, perKiloInputToken: 0n, perKiloOutputToken: max + 1n }],
      ] as const) {
        await viem.assertions.revertWithCustomErrorWithArgs(s.write.setFeeRate([rate]), s, "SettlementInvalidParam", [
          name(field),
          max + 1n,
        ]);
        await viem.assertions.revertWithCustomErrorWithArgs(
          s.write.setModelFeeRate([MODELS[1]!, rate, true]),
          s,
          "SettlementInvalidParam",
          [name(field), max + 1n],
        );
      }
    });
  });

  describe("registry hooks", () => {
    it("test_syncGatewayNoteMeasurementRevoked_callerNotRegistry_revertsSettlementOnlyRegistry", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.syncGateway([A, 2 ** 39], { account: ctx.stranger }),
        ctx.settlement,
        "SettlementOnlyRegistry",
        [ctx.stranger],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.noteMeasurementRevoked({ account: ctx.operator }),
        ctx.settlement,
        "SettlementOnlyRegistry",
        [ctx.operator],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(
        ctx.settlement.write.syncGateway([A, 0]),
        ctx.settlement,
        "SettlementOnlyRegistry",
        [ctx.owner],
      );
    });
  });
});
