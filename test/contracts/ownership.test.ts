/**
 * Governance access: every onlyOwner function of OPGToken, ValidatorSet, GatewayRegistry and
 * ProofSettlement refuses a stranger, and ownership moves only by the two-step handover.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, type Abi } from "viem";
import { MEASUREMENT_A, MODELS, PARAMS, VALIDATORS, baseFixture, localAccount, type Ctx } from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;

async function fixture(): Promise<Ctx> {
  return baseFixture(viem);
}

type Call = [
  label: string,
  run: (ctx: Ctx, account: `0x${string}`) => Promise<unknown>,
  contract: (ctx: Ctx) => { abi: Abi },
];

const calls: Call[] = [
  ["OPGToken.mint", (c, account) => c.token.write.mint([account, 1n], { account }), (c) => c.token],
  [
    "ValidatorSet.addValidator",
    (c, account) => c.validatorSet.write.addValidator([localAccount("x").address], { account }),
    (c) => c.validatorSet,
  ],
  [
    "ValidatorSet.removeValidator",
    (c, account) => c.validatorSet.write.removeValidator([VALIDATORS[0]!.address], { account }),
    (c) => c.validatorSet,
  ],
  ["ValidatorSet.setQuorum", (c, account) => c.validatorSet.write.setQuorum([2n], { account }), (c) => c.validatorSet],
  [
    "ValidatorSet.setStakeParams",
    (c, account) => c.validatorSet.write.setStakeParams([1n, 3600n, 0], { account }),
    (c) => c.validatorSet,
  ],
  [
    "ValidatorSet.transferOwnership",
    (c, account) => c.validatorSet.write.transferOwnership([account], { account }),
    (c) => c.validatorSet,
  ],
  [
    "ValidatorSet.renounceOwnership",
    (c, account) => c.validatorSet.write.renounceOwnership({ account }),
    (c) => c.validatorSet,
  ],
  [
    "GatewayRegistry.allowMeasurement",
    (c, account) => c.registry.write.allowMeasurement([MODELS[0]!], { account }),
    (c) => c.registry,
  ],
  [
    "GatewayRegistry.revokeMeasurement",
    (c, account) => c.registry.write.revokeMeasurement([MEASUREMENT_A], { account }),
    (c) => c.registry,
  ],
  [
    "GatewayRegistry.setParams",
    (c, account) =>
      c.registry.write.setParams(
        [{ minBond: 0n, heartbeatInterval: 1n, bondWithdrawDelay: 0n, challengerRewardBps: 0, rejectedSlashBps: 0 }],
        { account },
      ),
    (c) => c.registry,
  ],
  [
    "GatewayRegistry.transferOwnership",
    (c, account) => c.registry.write.transferOwnership([account], { account }),
    (c) => c.registry,
  ],
  [
    "GatewayRegistry.renounceOwnership",
    (c, account) => c.registry.write.renounceOwnership({ account }),
    (c) => c.registry,
  ],
  [
    "ProofSettlement.setFeeRate",
    (c, account) =>
      c.settlement.write.setFeeRate([{ perCall: 0n, perKiloInputToken: 0n, perKiloOutputToken: 0n }], { account }),
    (c) => c.settlement,
  ],
  [
    "ProofSettlement.setModelFeeRate",
    (c, account) => c.settlement.write.setModelFeeRate([MODELS[0]!, PARAMS.rate, true], { account }),
    (c) => c.settlement,
  ],
  [
    "ProofSettlement.setMaxBatchSize",
    (c, account) => c.settlement.write.setMaxBatchSize([1], { account }),
    (c) => c.settlement,
  ],
  [
    "ProofSettlement.setWindows",
    (c, account) => c.settlement.write.setWindows([1, 1], { account }),
    (c) => c.settlement,
  ],
  [
    "ProofSettlement.setFeeSplit",
    (c, account) => c.settlement.write.setFeeSplit([10_000, 0, 0, 0], { account }),
    (c) => c.settlement,
  ],
  [
    "ProofSettlement.setTreasury",
    (c, account) => c.settlement.write.setTreasury([account], { account }),
    (c) => c.settlement,
  ],
  [
    "ProofSettlement.setAttesterSlashBps",
    (c, account) => c.settlement.write.setAttesterSlashBps([0], { account }),
    (c) => c.settlement,
  ],
  [
    "ProofSettlement.transferOwnership",
    (c, account) => c.settlement.write.transferOwnership([account], { account }),
    (c) => c.settlement,
  ],
  [
    "ProofSettlement.renounceOwnership",
    (c, account) => c.settlement.write.renounceOwnership({ account }),
    (c) => c.settlement,
  ],
];

describe("ownership", () => {
  for (const [label, run, contract] of calls) {
    it(`test_${label}_calledByStranger_revertsOwnableUnauthorizedAccount`, async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(
        run(ctx, ctx.stranger) as Promise<`0x${string}`>,
        // Narrow: the table holds four contracts' handles; each has the ABI that declares this error.
        contract(ctx) as Parameters<typeof viem.assertions.revertWithCustomErrorWithArgs>[1],
        "OwnableUnauthorizedAccount",
        [ctx.stranger],
      );
    });
  }

  it("test_revokeMeasurement_calledByEnclaveOperator_revertsOwnableUnauthorizedAccount", async () => {
    const ctx = await loadFixture(fixture);
    await viem.assertions.revertWithCustomErrorWithArgs(
      ctx.registry.write.revokeMeasurement([MEASUREMENT_A], { account: ctx.operator }),
      ctx.registry,
      "OwnableUnauthorizedAccount",
      [ctx.operator],
    );
  });

  for (const which of ["validatorSet", "registry", "settlement"] as const) {
    it(`test_${which}_transferOwnership_ownerChangesOnlyWhenPendingOwnerAccepts`, async () => {
      const ctx = await loadFixture(fixture);
      // The three share Ownable2Step's ABI; any of their ABIs drives the handover on any of them.
      const c = await viem.getContractAt("ProofSettlement", ctx[which].address);
      await c.write.transferOwnership([ctx.relayer]);
      assert.equal(getAddress(await c.read.owner()), ctx.owner);
      assert.equal(getAddress(await c.read.pendingOwner()), ctx.relayer);
      await viem.assertions.revertWithCustomErrorWithArgs(
        c.write.acceptOwnership({ account: ctx.stranger }),
        c,
        "OwnableUnauthorizedAccount",
        [ctx.stranger],
      );
      await viem.assertions.emitWithArgs(c.write.acceptOwnership({ account: ctx.relayer }), c, "OwnershipTransferred", [
        ctx.owner,
        ctx.relayer,
      ]);
      assert.equal(getAddress(await c.read.owner()), ctx.relayer);
      // The old owner lost its power.
      await viem.assertions.revertWithCustomErrorWithArgs(
        c.write.renounceOwnership(),
        c,
        "OwnableUnauthorizedAccount",
        [ctx.owner],
      );
    });
  }
});
