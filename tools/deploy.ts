/**
 * Deploys proofpath (OPGToken unless a token is given, ValidatorSet, GatewayRegistry, ProofSettlement)
 * to any EVM chain with viem clients and returns the deployment record (sdk/deployment.ts). No set-once wiring: the registry and the
 * validator set are deployed with the settlement's address, predicted from the deployer's nonce, and
 * the settlement's constructor checks they point at it.
 */
import {
  getContractAddress,
  isAddressEqual,
  maxUint256,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { loadArtifact, type ContractName } from "./artifacts.js";
import type { Deployment } from "../sdk/deployment.js";

export interface DeployParams {
  /** Existing OPG token; when absent an OPGToken is deployed with `initialSupply` to the deployer. */
  token?: Address;
  initialSupply?: bigint;
  /** Owner of the three protocol contracts (default: the deployer); a Timelock in production. */
  owner?: Address;
  treasury?: Address;
  /** Validators admitted at launch. */
  validators: Address[];
  /** When set, the deployer stakes this much OPG for each admitted validator (local chains). */
  validatorStake?: bigint;
  quorum: number;
  minStake: bigint;
  /** Seconds a leaving validator's stake stays locked (>= 1 h and >= challengeWindow). */
  exitDelay: number;
  proverRewardBps: number;
  rate: { perCall: bigint; perKiloInputToken: bigint; perKiloOutputToken: bigint };
  maxBatchSize: number;
  challengeWindow: number;
  withdrawDelay: number;
  validatorBps: number;
  treasuryBps: number;
  burnBps: number;
  rejectedRefundBps: number;
  attesterSlashBps: number;
  minBond: bigint;
  heartbeatInterval: number;
  bondWithdrawDelay: number;
  challengerRewardBps: number;
  rejectedSlashBps: number;
}

/** Sensible local defaults: short windows for demos and tests. */
export const localDeployDefaults: Omit<DeployParams, "validators" | "quorum"> = {
  initialSupply: 1_000_000_000n * 10n ** 18n,
  rate: { perCall: 10n ** 12n, perKiloInputToken: 10n ** 13n, perKiloOutputToken: 3n * 10n ** 13n },
  maxBatchSize: 8192,
  challengeWindow: 60,
  withdrawDelay: 3600,
  validatorBps: 7000,
  treasuryBps: 2000,
  burnBps: 1000,
  rejectedRefundBps: 0,
  attesterSlashBps: 1000,
  minStake: 10_000n * 10n ** 18n,
  validatorStake: 10_000n * 10n ** 18n,
  exitDelay: 3600,
  proverRewardBps: 1000,
  minBond: 1000n * 10n ** 18n,
  heartbeatInterval: 86_400,
  bondWithdrawDelay: 7 * 86_400,
  challengerRewardBps: 1000,
  rejectedSlashBps: 1000,
};

type Wallet = WalletClient<Transport, Chain | undefined, Account>;

async function deployOne(wallet: Wallet, pub: PublicClient, name: ContractName, args: unknown[]) {
  const { abi, bytecode } = loadArtifact(name);
  const hash = await wallet.deployContract({
    abi,
    bytecode,
    args,
    account: wallet.account,
    chain: wallet.chain ?? null,
  });
  const receipt = await pub.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress || receipt.status !== "success")
    throw new Error(`deploying ${name} failed (tx ${hash})`);
  return { address: receipt.contractAddress, blockNumber: Number(receipt.blockNumber) };
}

async function send(
  wallet: Wallet,
  pub: PublicClient,
  name: ContractName,
  address: Address,
  functionName: string,
  args: unknown[],
): Promise<Hex> {
  const { abi } = loadArtifact(name);
  const hash = await wallet.writeContract({
    address,
    abi,
    functionName,
    args,
    account: wallet.account,
    chain: wallet.chain ?? null,
  });
  const receipt = await pub.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${name}.${functionName} reverted (tx ${hash})`);
  return hash;
}

/**
 * Deploys every contract (the deployer is the owner: transfer it to governance afterwards with
 * Ownable2Step) and, with `validatorStake`, stakes for every admitted validator. Returns the
 * deployment record (see `writeDeployment`).
 */
export async function deployProofpath(wallet: Wallet, pub: PublicClient, p: DeployParams): Promise<Deployment> {
  const deployer = wallet.account.address;
  const owner = p.owner ?? deployer;
  const treasury = p.treasury ?? owner;
  const chainId = await pub.getChainId();
  let token = p.token;
  let startBlock: number | undefined;
  if (!token) {
    const t = await deployOne(wallet, pub, "OPGToken", [
      deployer,
      p.initialSupply ?? localDeployDefaults.initialSupply!,
    ]);
    token = t.address;
    startBlock = t.blockNumber;
  }
  // ValidatorSet, GatewayRegistry and ProofSettlement take the next three nonces.
  const nonce = await pub.getTransactionCount({ address: deployer, blockTag: "pending" });
  const predicted = getContractAddress({ from: deployer, nonce: BigInt(nonce + 2) });
  const vset = await deployOne(wallet, pub, "ValidatorSet", [
    token,
    predicted,
    owner,
    p.validators,
    BigInt(p.quorum),
    p.minStake,
    BigInt(p.exitDelay),
    p.proverRewardBps,
  ]);
  startBlock ??= vset.blockNumber;
  const registry = await deployOne(wallet, pub, "GatewayRegistry", [
    token,
    vset.address,
    predicted,
    owner,
    {
      minBond: p.minBond,
      heartbeatInterval: BigInt(p.heartbeatInterval),
      bondWithdrawDelay: BigInt(p.bondWithdrawDelay),
      challengerRewardBps: p.challengerRewardBps,
      rejectedSlashBps: p.rejectedSlashBps,
    },
  ]);
  const settlement = await deployOne(wallet, pub, "ProofSettlement", [
    token,
    registry.address,
    vset.address,
    {
      owner,
      treasury,
      rate: p.rate,
      maxBatchSize: p.maxBatchSize,
      challengeWindow: p.challengeWindow,
      withdrawDelay: p.withdrawDelay,
      validatorBps: p.validatorBps,
      treasuryBps: p.treasuryBps,
      burnBps: p.burnBps,
      rejectedRefundBps: p.rejectedRefundBps,
      attesterSlashBps: p.attesterSlashBps,
    },
  ]);
  if (!isAddressEqual(settlement.address, predicted))
    throw new Error(
      `ProofSettlement landed at ${settlement.address}, not the predicted ${predicted}: another transaction used the deployer's nonce`,
    );
  if (p.validatorStake) {
    await send(wallet, pub, "OPGToken", token, "approve", [vset.address, maxUint256]);
    for (const v of p.validators) await send(wallet, pub, "ValidatorSet", vset.address, "stake", [v, p.validatorStake]);
  }
  return {
    chainId,
    startBlock,
    deployer,
    contracts: {
      OPGToken: token,
      ValidatorSet: vset.address,
      GatewayRegistry: registry.address,
      ProofSettlement: settlement.address,
    },
    deployedAt: new Date().toISOString(),
  };
}
