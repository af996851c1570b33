/**
 * Runs the Ignition module (ignition/modules/Proofpath.ts) against the `deploy` network of
 * hardhat.config.ts and returns the deployment record (sdk/deployment.ts) with each contract's
 * transaction hash, constructor arguments and build-info id, the parameters and the git commit.
 *
 * Resuming: Ignition's journal in ignition/deployments/<id>/ records every transaction, so running
 * again with the same id and parameters continues a deployment that was killed, sending nothing twice.
 * The settlement's predicted address is part of that: once the ValidatorSet or the registry has been
 * started, the prediction is read back from their journaled constructor arguments, never recomputed.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { getAddress, getContractAddress, type Address, type Hex } from "viem";
import hre from "hardhat";
import { deploymentOrder, MODULE_ID, proofpathModule } from "../ignition/modules/Proofpath.js";
import { readJournal, type Journal } from "./ignitionJournal.js";
import type { Deployment } from "../sdk/deployment.js";

export interface IgnitionDeployOptions {
  rpcUrl: string;
  /** A raw key (local chains); without it the `deploy` network's DEPLOYER_PRIVATE_KEY (the keystore). */
  privateKey?: Hex;
  deploymentId: string;
  /** Deploy an OPGToken (test chains) instead of using `parameters.token`. */
  deployToken: boolean;
  /** The Timelock is the treasury when no `parameters.treasury` is given. */
  treasuryIsTimelock: boolean;
  /** The module's parameters, except `settlement` (predicted here). */
  parameters: Record<string, unknown>;
  /** What the operator configured, kept in the record as given. */
  recordParameters: Record<string, unknown>;
}

const futureId = (name: string) => `${MODULE_ID}#${name}`;

/**
 * The settlement's address: journaled when the validator set or registry already holds it, else the
 * deployer's address at the nonce the settlement will take (every earlier future not yet sent takes
 * the next nonce, one after another).
 */
export function predictSettlement(
  journal: Journal,
  order: string[],
  deployer: Address,
  pendingNonce: number,
): { address: Address; nonce?: number } {
  for (const name of ["ValidatorSet", "GatewayRegistry"]) {
    const args = journal.futures.get(futureId(name))?.constructorArgs;
    if (args) return { address: getAddress(String(args[name === "ValidatorSet" ? 1 : 2])) };
  }
  const unsent = order.slice(0, -1).filter((n) => !journal.futures.get(futureId(n))?.nonces.length).length;
  const next = Math.max(pendingNonce, (journal.maxNonce ?? -1) + 1);
  const nonce = next + unsent;
  return { address: getContractAddress({ from: deployer, nonce: BigInt(nonce) }), nonce };
}

function gitCommit(): { commit?: string; dirty?: boolean } {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).trim() !== "";
    return { commit, dirty };
  } catch {
    return {};
  }
}

const jsonSafe = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));

export async function deployWithIgnition(o: IgnitionDeployOptions): Promise<Deployment> {
  const connection = await hre.network.connect({
    network: "deploy",
    override: { url: o.rpcUrl, ...(o.privateKey ? { accounts: [o.privateKey] } : {}) },
  });
  const provider = connection.provider;
  const [deployer] = (await provider.request({ method: "eth_accounts" })) as Address[];
  if (!deployer) throw new Error("the deploy network has no account: set DEPLOYER_PRIVATE_KEY in the keystore");
  const chainId = Number(await provider.request({ method: "eth_chainId" }));
  const deploymentDir = path.join(hre.config.paths.ignition, "deployments", o.deploymentId);
  const order = deploymentOrder(o.deployToken);

  const journal = readJournal(deploymentDir);
  const pendingNonce = Number(
    await provider.request({ method: "eth_getTransactionCount", params: [deployer, "pending"] }),
  );
  const settlement = predictSettlement(journal, order, deployer, pendingNonce);
  const settlementFuture = journal.futures.get(futureId("ProofSettlement"));
  if (settlement.nonce === undefined && !settlementFuture?.nonces.length) {
    // Resuming with the prediction locked in: the settlement must still get its nonce.
    const sent = order.slice(0, -1).filter((n) => journal.futures.get(futureId(n))?.nonces.length).length;
    const expected = Math.max(pendingNonce, (journal.maxNonce ?? -1) + 1) + (order.length - 1 - sent);
    const predictedAt = getContractAddress({ from: deployer, nonce: BigInt(expected) });
    if (getAddress(predictedAt) !== settlement.address)
      throw new Error(
        `deployment ${o.deploymentId}: the ValidatorSet and registry point at ${settlement.address}, but the settlement would now land at ${predictedAt} (the deployer ${deployer} sent other transactions); this deployment cannot be completed, start a new one with --deployment-id`,
      );
  }
  console.log(
    `${journal.exists ? "resuming" : "starting"} Ignition deployment ${o.deploymentId} on chain ${chainId} from ${deployer}; ProofSettlement at ${settlement.address}`,
  );

  await connection.ignition.deploy(
    proofpathModule({ deployToken: o.deployToken, treasuryIsTimelock: o.treasuryIsTimelock }),
    {
      parameters: { [MODULE_ID]: { ...o.parameters, settlement: settlement.address } },
      deploymentId: o.deploymentId,
      displayUi: true,
    },
  );

  const done = readJournal(deploymentDir);
  const contract = (name: string) => {
    const f = done.futures.get(futureId(name));
    if (!f?.complete || !f.address) throw new Error(`Ignition finished but ${name} is not in the journal`);
    return f;
  };
  const names = order;
  const transactions: NonNullable<Deployment["transactions"]> = {};
  for (const name of names) {
    const f = contract(name);
    const artifact = JSON.parse(readFileSync(path.join(deploymentDir, "artifacts", `${futureId(name)}.json`), "utf8"));
    transactions[name] = {
      hash: f.txHash!,
      blockNumber: f.blockNumber,
      constructorArgs: f.constructorArgs ?? [],
      buildInfoId: artifact.buildInfoId,
    };
  }
  const address = (name: string) => getAddress(contract(name).address!);
  const token = o.deployToken ? address("OPGToken") : getAddress(String(o.parameters.token));
  const { commit, dirty } = gitCommit();
  await connection.close();
  return {
    chainId,
    startBlock: Math.min(...names.map((n) => contract(n).blockNumber ?? Number.MAX_SAFE_INTEGER)),
    deployer: getAddress(deployer),
    contracts: {
      OPGToken: token,
      ValidatorSet: address("ValidatorSet"),
      GatewayRegistry: address("GatewayRegistry"),
      ProofSettlement: address("ProofSettlement"),
      Timelock: address("Timelock"),
    },
    deployedAt: new Date().toISOString(),
    ignition: { deploymentId: o.deploymentId, module: MODULE_ID },
    parameters: jsonSafe(o.recordParameters) as Record<string, unknown>,
    transactions,
    gitCommit: commit,
    gitDirty: dirty,
  };
}
