/**
 * sdk/deploy.ts on a real in-process chain: `deployProofpath` deploys the four contracts from the
 * compiled artifacts and wires them the way the fixtures of this folder do.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress } from "viem";
import { deployProofpath, localDeployDefaults } from "../../sdk/deploy.js";
import { PARAMS, VALIDATORS } from "./helpers.js";

const { viem } = await network.create();

describe("sdk deployProofpath", () => {
  it("deployProofpath: deploys and wires OPGToken, ValidatorSet, GatewayRegistry and ProofSettlement", async () => {
    const [wallet] = await viem.getWalletClients();
    const pub = await viem.getPublicClient();
    const d = await deployProofpath(wallet!, pub as never, { ...localDeployDefaults, validators: VALIDATORS.map((v) => v.address), quorum: PARAMS.quorum });
    const owner = getAddress(wallet!.account.address);
    assert.equal(d.chainId, await pub.getChainId());
    const settlement = await viem.getContractAt("ProofSettlement", d.contracts.ProofSettlement);
    const registry = await viem.getContractAt("GatewayRegistry", d.contracts.GatewayRegistry);
    const validatorSet = await viem.getContractAt("ValidatorSet", d.contracts.ValidatorSet);
    assert.equal(getAddress(await settlement.read.TOKEN()), getAddress(d.contracts.OPGToken));
    assert.equal(getAddress(await settlement.read.REGISTRY()), getAddress(registry.address));
    assert.equal(getAddress(await settlement.read.VALIDATORS()), getAddress(validatorSet.address));
    assert.equal(getAddress((await registry.read.params())[5]), getAddress(settlement.address));
    assert.equal(getAddress(await validatorSet.read.settlement()), getAddress(settlement.address));
    assert.equal(await validatorSet.read.quorum(), BigInt(PARAMS.quorum));
    for (const c of [settlement, registry, validatorSet]) assert.equal(getAddress(await c.read.owner()), owner);
    assert.deepEqual(await settlement.read.feeRate(), localDeployDefaults.rate);
  });
});
