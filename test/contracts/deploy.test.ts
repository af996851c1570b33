/**
 * tools/deploy.ts on a real in-process chain: `deployProofpath` deploys the four contracts from the
 * compiled artifacts, wired by address prediction the way the fixtures of this folder do (v2: no
 * set-once pointers), and stakes for the admitted validators.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress } from "viem";
import { deployProofpath, localDeployDefaults } from "../../tools/deploy.js";
import { PARAMS, VALIDATORS } from "./helpers.js";

const { viem } = await network.create();

describe("sdk deployProofpath", () => {
  it("test_deployProofpath_localDefaults_fourContractsWiredValidatorsStakedV2Defaults", async () => {
    const [wallet] = await viem.getWalletClients();
    const pub = await viem.getPublicClient();
    const d = await deployProofpath(wallet!, pub, {
      ...localDeployDefaults,
      validators: VALIDATORS.map((v) => v.address),
      quorum: PARAMS.quorum,
    });
    const owner = getAddress(wallet!.account.address);
    assert.equal(d.chainId, await pub.getChainId());
    const settlement = await viem.getContractAt("ProofSettlement", d.contracts.ProofSettlement);
    const registry = await viem.getContractAt("GatewayRegistry", d.contracts.GatewayRegistry);
    const validatorSet = await viem.getContractAt("ValidatorSet", d.contracts.ValidatorSet);
    assert.equal(getAddress(await settlement.read.TOKEN()), getAddress(d.contracts.OPGToken));
    assert.equal(getAddress(await settlement.read.REGISTRY()), getAddress(registry.address));
    assert.equal(getAddress(await settlement.read.VALIDATORS()), getAddress(validatorSet.address));
    assert.equal(getAddress(await registry.read.SETTLEMENT()), getAddress(settlement.address));
    assert.equal(getAddress(await validatorSet.read.SETTLEMENT()), getAddress(settlement.address));
    assert.equal(await validatorSet.read.quorum(), BigInt(PARAMS.quorum));
    for (const c of [settlement, registry, validatorSet]) assert.equal(getAddress(await c.read.owner()), owner);
    assert.deepEqual(await settlement.read.feeRate(), localDeployDefaults.rate);
    // Every admitted validator is staked and active.
    assert.deepEqual(
      await validatorSet.read.validators(),
      VALIDATORS.map((v) => getAddress(v.address)),
    );
    for (const v of VALIDATORS)
      assert.equal((await validatorSet.read.validator([v.address])).stake, localDeployDefaults.validatorStake);
    // v2 defaults: no refund of a rejected batch's fee, rewards and penalties at 10 %, within the hard bounds.
    const [, challengeWindow, , , treasuryBps, , rejectedRefundBps, attesterSlashBps, treasury] =
      await settlement.read.params();
    assert.equal(rejectedRefundBps, 0);
    assert.equal(attesterSlashBps, 1000);
    assert.equal(getAddress(treasury), owner);
    assert.ok(challengeWindow >= 60 && BigInt(challengeWindow) <= (await validatorSet.read.exitDelay()));
    assert.ok(treasuryBps <= 5000);
    const rp = await registry.read.params();
    assert.equal(rp.challengerRewardBps, 1000);
    assert.equal(rp.rejectedSlashBps, 1000);
    assert.deepEqual(await validatorSet.read.params(), [
      BigInt(PARAMS.quorum),
      localDeployDefaults.minStake,
      BigInt(localDeployDefaults.exitDelay),
      localDeployDefaults.proverRewardBps,
    ]);
  });
});
