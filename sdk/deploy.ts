/**
 * Deploys proofpath (OPGToken unless a token is given, ValidatorSet, GatewayRegistry, ProofSettlement)
 * to any EVM chain with viem clients, wires them together, and reads/writes the deployment file the
 * indexer, gateway and validators read their addresses and start block from.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { loadArtifact, type ContractName } from "./artifacts.js";

export interface DeployParams {
  /** Existing OPG token; when absent an OPGToken is deployed with `initialSupply` to the deployer. */
  token?: Address;
  initialSupply?: bigint;
  treasury?: Address;
  validators: Address[];
  quorum: number;
  rate: { perCall: bigint; perKiloInputToken: bigint; perKiloOutputToken: bigint };
  maxBatchSize: number;
  challengeWindow: number;
  withdrawDelay: number;
  validatorBps: number;
  treasuryBps: number;
  burnBps: number;
  rejectedRefundBps: number;
  minBond: bigint;
  heartbeatInterval: number;
  bondWithdrawDelay: number;
  challengerRewardBps: number;
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
  minBond: 1000n * 10n ** 18n,
  heartbeatInterval: 86_400,
  bondWithdrawDelay: 7 * 86_400,
  challengerRewardBps: 5000,
};

export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  startBlock: z.number().int().nonnegative(),
  deployer: z.string(),
  contracts: z.object({
    OPGToken: z.string(),
    ValidatorSet: z.string(),
    GatewayRegistry: z.string(),
    ProofSettlement: z.string(),
  }),
  deployedAt: z.string(),
});
export type Deployment = z.infer<typeof deploymentSchema> & {
  contracts: Record<ContractName, Address>;
};

type Wallet = WalletClient<Transport, Chain | undefined, Account>;

async function deployOne(wallet: Wallet, pub: PublicClient, name: ContractName, args: unknown[]) {
  const { abi, bytecode } = loadArtifact(name);
  const hash = await wallet.deployContract({ abi, bytecode, args, account: wallet.account, chain: wallet.chain ?? null } as never);
  const receipt = await pub.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress || receipt.status !== "success") throw new Error(`deploying ${name} failed (tx ${hash})`);
  return { address: receipt.contractAddress, blockNumber: Number(receipt.blockNumber) };
}

async function send(wallet: Wallet, pub: PublicClient, name: ContractName, address: Address, functionName: string, args: unknown[]): Promise<Hex> {
  const { abi } = loadArtifact(name);
  const hash = await wallet.writeContract({ address, abi, functionName, args, account: wallet.account, chain: wallet.chain ?? null } as never);
  const receipt = await pub.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${name}.${functionName} reverted (tx ${hash})`);
  return hash;
}

/**
 * Deploys and wires every contract; the deployer is the owner (transfer it to governance afterwards
 * with Ownable2Step). Returns the deployment record (see `writeDeployment`).
 */
export async function deployProofpath(wallet: Wallet, pub: PublicClient, p: DeployParams): Promise<Deployment> {
  const owner = wallet.account.address;
  const treasury = p.treasury ?? owner;
  const chainId = await pub.getChainId();
  let token = p.token;
  let startBlock: number | undefined;
  if (!token) {
    const t = await deployOne(wallet, pub, "OPGToken", [owner, p.initialSupply ?? localDeployDefaults.initialSupply!]);
    token = t.address;
    startBlock = t.blockNumber;
  }
  const vset = await deployOne(wallet, pub, "ValidatorSet", [owner, p.validators, BigInt(p.quorum)]);
  startBlock ??= vset.blockNumber;
  const registry = await deployOne(wallet, pub, "GatewayRegistry", [
    token, vset.address, owner, treasury, p.minBond, BigInt(p.heartbeatInterval), BigInt(p.bondWithdrawDelay), p.challengerRewardBps,
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
    },
  ]);
  await send(wallet, pub, "GatewayRegistry", registry.address, "setSettlement", [settlement.address]);
  await send(wallet, pub, "ValidatorSet", vset.address, "setSettlement", [settlement.address]);
  return {
    chainId,
    startBlock,
    deployer: owner,
    contracts: { OPGToken: token, ValidatorSet: vset.address, GatewayRegistry: registry.address, ProofSettlement: settlement.address },
    deployedAt: new Date().toISOString(),
  };
}

/** Writes the deployment record as JSON (creating the folder). */
export function writeDeployment(file: string, d: Deployment): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(d, null, 2) + "\n");
}

/** Reads and validates a deployment record; the error names the file and the bad field. */
export function readDeployment(file: string): Deployment {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new Error(`Cannot read deployment file ${file}: deploy first (npm run deploy or npm start).`, { cause });
  }
  const parsed = deploymentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Deployment file ${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data as Deployment;
}
