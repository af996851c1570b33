/**
 * Test chain: a real anvil process on a free port, proofpath deployed with tools/deploy.ts, and an
 * enclave key registered, approved by a validator quorum and funded (gateway/registration.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  http,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from "viem";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { deployProofpath, localDeployDefaults } from "../../../tools/deploy.js";
import type { Deployment } from "../../../sdk/deployment.js";
import { registerEnclave } from "../../../gateway/registration.js";
import { proofSettlementAbi } from "../../../sdk/abis.js";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const MNEMONIC = "test test test test test test test test test test test junk";
export const devAccount = (i: number) => mnemonicToAccount(MNEMONIC, { addressIndex: i });
export const devKey = (i: number): Hex => {
  const a = devAccount(i);
  return `0x${Buffer.from(a.getHdKey().privateKey!).toString("hex")}` as Hex;
};

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Anvil {
  url: string;
  port: number;
  proc: ChildProcess;
  client: PublicClient;
  stop(): Promise<void>;
}

/** Starts anvil (automine; `blockTime` adds interval mining so confirmations advance). */
export async function startAnvil(opts: { blockTime?: number } = {}): Promise<Anvil> {
  const port = await freePort();
  const args = ["--port", String(port), "--silent", "--chain-id", "31337"];
  if (opts.blockTime) args.push("--block-time", String(opts.blockTime), "--mixed-mining");
  const proc = spawn(path.join(root, "node_modules/.bin/anvil"), args, { stdio: ["ignore", "ignore", "inherit"] });
  // If the test process ends without after() (an uncaught error), don't leave the chain running.
  const reap = () => proc.kill("SIGKILL");
  process.once("exit", reap);
  proc.once("exit", () => process.off("exit", reap));
  const url = `http://127.0.0.1:${port}`;
  const client = createPublicClient({ chain: foundry, transport: http(url, { retryCount: 0 }) }) as PublicClient;
  for (let i = 0; ; i++) {
    try {
      await client.getChainId();
      break;
    } catch (e) {
      if (i > 100 || proc.exitCode !== null) throw new Error(`anvil did not start on ${url}`, { cause: e });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    proc,
    client,
    stop: () =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        proc.once("exit", () => r());
        proc.kill("SIGTERM");
      }),
  };
}

export interface Proofpath {
  deployment: Deployment;
  settlement: Address;
  enclave: LocalAccount;
  enclaveKey: Hex;
  /** Funded account that relays this gateway's batches. */
  relayerKey: Hex;
  validators: LocalAccount[];
}

/** Deploys proofpath on `anvil` and registers a fresh enclave key (relayed by dev account `relayerIndex`). */
export async function deployWithGateway(anvil: Anvil, relayerIndex = 1): Promise<Proofpath> {
  const owner = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(0) });
  const validators = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
  const deployment = await deployProofpath(owner, anvil.client, {
    ...localDeployDefaults,
    validators: validators.map((v) => v.address),
    quorum: 2,
  });
  const enclaveKey = generatePrivateKey();
  const enclave = privateKeyToAccount(enclaveKey);
  await registerEnclave(anvil.client, { deployment, owner, enclave, validators });
  return {
    deployment,
    settlement: deployment.contracts.ProofSettlement,
    enclave,
    enclaveKey,
    relayerKey: devKey(relayerIndex),
    validators,
  };
}

export interface SettledBatch {
  batchSeq: number;
  firstCallSeq: number;
  count: number;
  root: Hex;
  txHash: Hex;
}

/** Every BatchSubmitted of `gateway` on the canonical chain, in batchSeq order. */
export async function settledBatches(
  client: PublicClient,
  settlement: Address,
  gateway: Address,
): Promise<SettledBatch[]> {
  const logs = await client.getContractEvents({
    address: settlement,
    abi: proofSettlementAbi,
    eventName: "BatchSubmitted",
    args: { gateway },
    fromBlock: 0n,
    toBlock: "latest",
  });
  return logs
    .map((l) => ({
      batchSeq: Number(l.args.batchSeq),
      firstCallSeq: Number(l.args.firstCallSeq),
      count: Number(l.args.count),
      root: l.args.root as Hex,
      txHash: l.transactionHash,
    }))
    .sort((a, b) => a.batchSeq - b.batchSeq);
}

export async function nextSeqs(client: PublicClient, settlement: Address, gateway: Address) {
  const [c, b] = (await client.readContract({
    address: settlement,
    abi: proofSettlementAbi,
    functionName: "nextSeqs",
    args: [gateway],
  })) as readonly [bigint, bigint];
  return { nextCallSeq: Number(c), nextBatchSeq: Number(b) };
}
