/**
 * A ProofSettlement on its own, for SDK cross-checks against its views (fees, digests): it only needs
 * a real registry at construction (it reads the bond delay); token and validator set stay unused.
 */
import type { network } from "hardhat";

type Viem = Awaited<ReturnType<typeof network.create>>["viem"];
const UNUSED_TOKEN = "0x0000000000000000000000000000000000000001";
const UNUSED_VALIDATORS = "0x0000000000000000000000000000000000000003";

export async function deploySettlementOnly(viem: Viem, rate: { perCall: bigint; perKiloInputToken: bigint; perKiloOutputToken: bigint }) {
  const [ownerWallet] = await viem.getWalletClients();
  const owner = ownerWallet!.account.address;
  const registry = await viem.deployContract("GatewayRegistry", [UNUSED_TOKEN, UNUSED_VALIDATORS, owner, owner, 0n, 1n, 86_400n, 0]);
  return viem.deployContract("ProofSettlement", [
    UNUSED_TOKEN,
    registry.address,
    UNUSED_VALIDATORS,
    { owner, treasury: owner, rate, maxBatchSize: 8192, challengeWindow: 3600, withdrawDelay: 3600, validatorBps: 5000, treasuryBps: 3000, burnBps: 2000, rejectedRefundBps: 0 },
  ]);
}
