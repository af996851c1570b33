/**
 * ValidatorSet: governance of validators and quorum, the one quorum check (`verifyQuorum`), and the
 * settlement-only reward accounting.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, zeroAddress } from "viem";
import { quorumSignatures } from "../../sdk/quorum.js";
import { SECP256K1_N, VALIDATORS, baseFixture, highS, localAccount, type Ctx } from "./helpers.js";

const { viem, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const addrs = VALIDATORS.map((v) => getAddress(v.address));
const DIGEST = keccak256(toHex("some digest"));

async function fixture(): Promise<Ctx> {
  return baseFixture(viem, { enclave: false });
}

describe("ValidatorSet", () => {
  describe("constructor", () => {
    it("constructor: stores validators and quorum", async () => {
      const ctx = await loadFixture(fixture);
      assert.deepEqual(await ctx.validatorSet.read.validators(), addrs);
      assert.equal(await ctx.validatorSet.read.validatorCount(), 5n);
      assert.equal(await ctx.validatorSet.read.quorum(), 3n);
      assert.equal(await ctx.validatorSet.read.isValidator([addrs[0]!]), true);
      assert.equal(await ctx.validatorSet.read.isValidator([ctx.stranger]), false);
      assert.equal(getAddress(await ctx.validatorSet.read.settlement()), getAddress(ctx.settlement.address));
      assert.equal(await ctx.validatorSet.read.version(), "0.1.0");
    });

    it("constructor: reverts for a zero or duplicate validator and an invalid quorum", async () => {
      const ctx = await loadFixture(fixture);
      const vs = ctx.validatorSet;
      await viem.assertions.revertWithCustomError(viem.deployContract("ValidatorSet", [ctx.owner, [addrs[0]!, zeroAddress], 1n]), vs, "ValidatorZeroAddress");
      await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("ValidatorSet", [ctx.owner, [addrs[0]!, addrs[0]!], 1n]), vs, "ValidatorAlreadyAdded", [addrs[0]!]);
      await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("ValidatorSet", [ctx.owner, addrs, 0n]), vs, "ValidatorInvalidQuorum", [0n, 5n]);
      await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("ValidatorSet", [ctx.owner, addrs, 6n]), vs, "ValidatorInvalidQuorum", [6n, 5n]);
      await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("ValidatorSet", [zeroAddress, addrs, 3n]), vs, "OwnableInvalidOwner", [zeroAddress]);
    });
  });

  describe("governance", () => {
    it("addValidator: adds and emits; reverts for zero and existing", async () => {
      const ctx = await loadFixture(fixture);
      const v = getAddress(localAccount("new validator").address);
      await viem.assertions.emitWithArgs(ctx.validatorSet.write.addValidator([v]), ctx.validatorSet, "ValidatorAdded", [v]);
      assert.equal(await ctx.validatorSet.read.validatorCount(), 6n);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.addValidator([v]), ctx.validatorSet, "ValidatorAlreadyAdded", [v]);
      await viem.assertions.revertWithCustomError(ctx.validatorSet.write.addValidator([zeroAddress]), ctx.validatorSet, "ValidatorZeroAddress");
    });

    it("removeValidator: removes and emits; reverts for unknown and when quorum would exceed the set", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.emitWithArgs(ctx.validatorSet.write.removeValidator([addrs[0]!]), ctx.validatorSet, "ValidatorRemoved", [addrs[0]!]);
      assert.equal(await ctx.validatorSet.read.isValidator([addrs[0]!]), false);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.removeValidator([addrs[0]!]), ctx.validatorSet, "ValidatorNotFound", [addrs[0]!]);
      await ctx.validatorSet.write.removeValidator([addrs[1]!]);
      // 3 left with quorum 3: removing one more would make quorum unreachable.
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.removeValidator([addrs[2]!]), ctx.validatorSet, "ValidatorInvalidQuorum", [3n, 2n]);
    });

    it("setQuorum: sets and emits; reverts for 0 and above the set", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.emitWithArgs(ctx.validatorSet.write.setQuorum([5n]), ctx.validatorSet, "QuorumChanged", [5n]);
      assert.equal(await ctx.validatorSet.read.quorum(), 5n);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.setQuorum([0n]), ctx.validatorSet, "ValidatorInvalidQuorum", [0n, 5n]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.setQuorum([6n]), ctx.validatorSet, "ValidatorInvalidQuorum", [6n, 5n]);
    });

    it("setSettlement: set once; reverts for zero and a second time", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.setSettlement([ctx.stranger]), ctx.validatorSet, "ValidatorSettlementAlreadySet", [
        getAddress(ctx.settlement.address),
      ]);
      const fresh = await viem.deployContract("ValidatorSet", [ctx.owner, addrs, 3n]);
      await viem.assertions.revertWithCustomError(fresh.write.setSettlement([zeroAddress]), fresh, "ValidatorZeroAddress");
      await viem.assertions.emitWithArgs(fresh.write.setSettlement([ctx.stranger]), fresh, "SettlementSet", [ctx.stranger]);
    });
  });

  describe("verifyQuorum", () => {
    it("verifyQuorum: returns the ascending signers of k or more valid signatures", async () => {
      const ctx = await loadFixture(fixture);
      assert.deepEqual(await ctx.validatorSet.read.verifyQuorum([DIGEST, await quorumSignatures(VALIDATORS.slice(0, 3), DIGEST)]), addrs.slice(0, 3));
      assert.deepEqual(await ctx.validatorSet.read.verifyQuorum([DIGEST, await quorumSignatures(VALIDATORS, DIGEST)]), addrs);
    });

    it("verifyQuorum: reverts below quorum, for duplicates, unsorted, unknown and high-s signers", async () => {
      const ctx = await loadFixture(fixture);
      const vs = ctx.validatorSet;
      const sigs = await quorumSignatures(VALIDATORS, DIGEST);
      await viem.assertions.revertWithCustomErrorWithArgs(vs.read.verifyQuorum([DIGEST, sigs.slice(0, 2)]), vs, "ValidatorQuorumNotReached", [2n, 3n]);
      await viem.assertions.revertWithCustomErrorWithArgs(vs.read.verifyQuorum([DIGEST, []]), vs, "ValidatorQuorumNotReached", [0n, 3n]);
      await viem.assertions.revertWithCustomErrorWithArgs(vs.read.verifyQuorum([DIGEST, [sigs[0]!, sigs[1]!, sigs[1]!]]), vs, "ValidatorSignersNotAscending", [2n, addrs[1]!]);
      await viem.assertions.revertWithCustomErrorWithArgs(vs.read.verifyQuorum([DIGEST, [sigs[0]!, sigs[2]!, sigs[1]!]]), vs, "ValidatorSignersNotAscending", [2n, addrs[1]!]);
      const outsider = localAccount("outsider");
      const trio = [...VALIDATORS.slice(0, 2), outsider];
      const mixed = await quorumSignatures(trio, DIGEST);
      const sorted = trio.map((a) => getAddress(a.address)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      const idx = BigInt(sorted.indexOf(getAddress(outsider.address)));
      await viem.assertions.revertWithCustomErrorWithArgs(vs.read.verifyQuorum([DIGEST, mixed]), vs, "ValidatorUnknownSigner", [idx, getAddress(outsider.address)]);
      await viem.assertions.revertWithCustomErrorWithArgs(vs.read.verifyQuorum([DIGEST, [{ r: sigs[0]!.r, vs: toHex(SECP256K1_N / 2n + 1n, { size: 32 }) }, sigs[1]!, sigs[2]!]]), vs, "ValidatorInvalidSignature", [0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(vs.read.verifyQuorum([DIGEST, [highS(sigs[0]!), sigs[1]!, sigs[2]!]]), vs, "ValidatorUnknownSigner", [0n, (a: string) => a !== addrs[0]]);
      // r = 0 makes ecrecover fail: a malformed signature.
      await viem.assertions.revertWithCustomErrorWithArgs(vs.read.verifyQuorum([DIGEST, [{ r: toHex(0n, { size: 32 }), vs: sigs[0]!.vs }, sigs[1]!, sigs[2]!]]), vs, "ValidatorInvalidSignature", [0n]);
    });

    it("verifyQuorum: follows quorum changes", async () => {
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

  describe("rewards", () => {
    it("accrueRewards / takeRewards: revert unless called by the settlement", async () => {
      const ctx = await loadFixture(fixture);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.accrueRewards([1n], { account: ctx.stranger }), ctx.validatorSet, "ValidatorOnlySettlement", [ctx.stranger]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.takeRewards([addrs[0]!], { account: ctx.stranger }), ctx.validatorSet, "ValidatorOnlySettlement", [ctx.stranger]);
      await viem.assertions.revertWithCustomErrorWithArgs(ctx.validatorSet.write.accrueRewards([1n]), ctx.validatorSet, "ValidatorOnlySettlement", [ctx.owner]);
    });

    it("accrueRewards: equal shares, dust carried to the next accrual, new validators earn from joining on", async () => {
      const ctx = await loadFixture(fixture);
      // A validator set whose settlement is an EOA we control, to drive accruals directly.
      const vs = await viem.deployContract("ValidatorSet", [ctx.owner, addrs, 3n]);
      await vs.write.setSettlement([ctx.relayer]);
      await viem.assertions.emitWithArgs(vs.write.accrueRewards([12n], { account: ctx.relayer }), vs, "RewardsAccrued", [12n, 5n, 2n]);
      assert.equal(await vs.read.rewardDust(), 2n);
      await vs.write.accrueRewards([3n], { account: ctx.relayer }); // 3 + 2 dust = 5 -> 1 each
      assert.equal(await vs.read.rewardDust(), 0n);
      assert.equal(await vs.read.rewardsOwed([addrs[0]!]), 3n);
      const newcomer = getAddress(localAccount("newcomer").address);
      await vs.write.addValidator([newcomer]);
      assert.equal(await vs.read.rewardsOwed([newcomer]), 0n);
      await vs.write.accrueRewards([60n], { account: ctx.relayer });
      assert.equal(await vs.read.rewardsOwed([newcomer]), 10n);
      assert.equal(await vs.read.rewardsOwed([addrs[0]!]), 13n);
      await viem.assertions.emitWithArgs(vs.write.takeRewards([addrs[0]!], { account: ctx.relayer }), vs, "RewardsTaken", [addrs[0]!, 13n]);
      assert.equal(await vs.read.rewardsOwed([addrs[0]!]), 0n);
      assert.equal(await vs.read.rewardsOwed([addrs[1]!]), 13n);
      // Removed then re-added: keeps what it had, earns nothing while away.
      await vs.write.removeValidator([addrs[1]!]);
      await vs.write.accrueRewards([50n], { account: ctx.relayer });
      await vs.write.addValidator([addrs[1]!]);
      assert.equal(await vs.read.rewardsOwed([addrs[1]!]), 13n);
    });
  });
});
