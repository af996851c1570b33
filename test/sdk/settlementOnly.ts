/**
 * A ProofSettlement on its own, for SDK cross-checks against its views (fees, digests). v2 has no
 * set-once wiring: the settlement's constructor checks that a real ValidatorSet and GatewayRegistry
 * were deployed pointing at its (nonce-predicted) address, and reads the validators' exit delay;
 * the token is never touched.
 */
import type { network } from "hardhat";
import { getContractAddress } from "viem";

type Viem = Awaited<ReturnType<typeof network.create>>["viem"];
const UNUSED_TOKEN = "0x0000000000000000000000000000000000000001";

export async function deploySettlementOnly(
  viem: Viem,
  rate: { perCall: bigint; perKiloInputToken: bigint; perKiloOutputToken: bigint },
) {
  const [ownerWallet] = await viem.getWalletClients();
  const owner = ownerWallet!.account.address;
  // ValidatorSet, GatewayRegistry and ProofSettlement take the owner's next three nonces.
  const nonce = await (await viem.getPublicClient()).getTransactionCount({ address: owner, blockTag: "pending" });
  const predicted = getContractAddress({ from: owner, nonce: BigInt(nonce + 2) });
  const validatorSet = await viem.deployContract("ValidatorSet", [
    UNUSED_TOKEN,
    predicted,
    owner,
    [],
    1n,
    1n,
    3600n,
    0,
  ]);
  const registry = await viem.deployContract("GatewayRegistry", [
    UNUSED_TOKEN,
    validatorSet.address,
    predicted,
    owner,
    { minBond: 0n, heartbeatInterval: 1n, bondWithdrawDelay: 86_400n, challengerRewardBps: 0, rejectedSlashBps: 0 },
  ]);
  return viem.deployContract("ProofSettlement", [
    UNUSED_TOKEN,
    registry.address,
    validatorSet.address,
    {
      owner,
      treasury: owner,
      rate,
      maxBatchSize: 8192,
      challengeWindow: 3600,
      withdrawDelay: 3600,
      validatorBps: 5000,
      treasuryBps: 3000,
      burnBps: 2000,
      rejectedRefundBps: 0,
      attesterSlashBps: 0,
    },
  ]);
}
