/**
 * A real anvil chain with proofpath deployed for validator tests: three validators with known keys
 * (quorum 2) and gas, a short challenge window, one registered and funded enclave key, and
 * helpers to build, sign and submit batches from SDK receipts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, toHex, type Address, type Hex, type LocalAccount, type PublicClient } from "viem";
import { writeDeployment } from "../../../sdk/deployment.js";
import { proofSettlementAbi } from "../../../sdk/abis.js";
import { settlementDomain, signHeader } from "../../../sdk/eip712.js";
import { receiptLeaf, voidLeaf } from "../../../sdk/hashing.js";
import { buildTree } from "../../../sdk/merkle.js";
import { computeFee } from "../../../sdk/fees.js";
import type { BatchHeader, Receipt } from "../../../sdk/types.js";
import { usageOf } from "../../../validator/verifyBatch.js";
import type { DaLeaf } from "../../../validator/da.js";
import { devWallet, startDevChain, type DevChain } from "../../../tools/devchain.js";
import { addDevEnclave, deployDevNet, type DevNet } from "../../../tools/devnet.js";

/** Long enough for a validator's kill + restart under load; the suite's last test waits it out. */
export const CHALLENGE_WINDOW = 30;

export interface TestNet extends DevNet {
  anvil: DevChain;
  deploymentFile: string;
  relayer: ReturnType<typeof devWallet>;
  dir: string;
}

/** `blockTime` 0 = automine only (an idle chain's head timestamp then lags wall time). */
export async function startTestNet(opts: { blockTime?: number; challengeWindow?: number } = {}): Promise<TestNet> {
  // Interval mining keeps block timestamps moving, so challenge windows end without other traffic.
  const blockTime = opts.blockTime ?? 1;
  const anvil = await startDevChain({ blockTime, stderr: "inherit" });
  // Validators send their own transactions (attest, reject, heartbeat): give them gas.
  const net = await deployDevNet(anvil, {
    validatorGas: 10n ** 20n,
    params: { challengeWindow: opts.challengeWindow ?? CHALLENGE_WINDOW },
  });
  const dir = mkdtempSync(path.join(tmpdir(), "pp-validator-"));
  const deploymentFile = path.join(dir, "deployment.json");
  writeDeployment(deploymentFile, net.deployment);
  return { ...net, anvil, deploymentFile, relayer: devWallet(anvil, 1), dir };
}

/** Registers, approves and funds another enclave key (a second gateway). */
export function addEnclave(net: TestNet): Promise<LocalAccount> {
  return addDevEnclave(net.anvil, net);
}

const model = (name: string) => keccak256(toHex(name));
export const MODELS = [model("llama-3-8b"), model("mistral-7b")];

/** `n` leaves starting at `firstCallSeq`; indices in `voids` are void leaves. */
export function makeLeaves(gateway: Address, firstCallSeq: bigint, n: number, voids: number[] = []): DaLeaf[] {
  const base = 1_760_000_000_000n + firstCallSeq * 1000n;
  return Array.from({ length: n }, (_, i): DaLeaf => {
    const callSeq = firstCallSeq + BigInt(i);
    if (voids.includes(i)) return { kind: "void", gateway, callSeq };
    const receipt: Receipt = {
      gateway,
      callSeq,
      modelId: MODELS[i % 2]!,
      requestHash: keccak256(toHex(`req ${callSeq}`)),
      responseHash: keccak256(toHex(`resp ${callSeq}`)),
      inputTokens: 100 + i,
      outputTokens: 200 + 3 * i,
      servedAt: base + BigInt(i) * 7n,
    };
    return { kind: "served", receipt };
  });
}

export function leafHash(l: DaLeaf): Hex {
  return l.kind === "served" ? receiptLeaf(l.receipt) : voidLeaf(l.gateway, l.callSeq);
}

/** The honest header of `leaves` (override fields to make it dishonest). */
export async function headerFor(
  net: TestNet,
  enclave: LocalAccount,
  batchSeq: bigint,
  leaves: DaLeaf[],
  daBase: string,
  over: Partial<BatchHeader> = {},
): Promise<BatchHeader> {
  const rate = await net.anvil.client.readContract({
    address: net.settlement,
    abi: proofSettlementAbi,
    functionName: "feeRate",
  });
  const usage = usageOf(leaves);
  const served = leaves.flatMap((l) => (l.kind === "served" ? [l.receipt.servedAt] : []));
  const first = leaves[0]!;
  return {
    gateway: enclave.address,
    batchSeq,
    firstCallSeq: first.kind === "served" ? first.receipt.callSeq : first.callSeq,
    count: leaves.length,
    root: buildTree(leaves.map(leafHash)).root,
    usage,
    fee: computeFee(usage, rate),
    firstServedAt: served.length ? served.reduce((a, b) => (a < b ? a : b)) : 0n,
    lastServedAt: served.length ? served.reduce((a, b) => (a > b ? a : b)) : 0n,
    daURI: `${daBase}/batches/${batchSeq}`,
    ...over,
  };
}

/** Signs `header` with the enclave key and submits it. */
export async function submit(net: TestNet, enclave: LocalAccount, header: BatchHeader): Promise<void> {
  const { compact } = await signHeader(enclave, settlementDomain(net.deployment.chainId, net.settlement), header);
  const hash = await net.relayer.writeContract({
    address: net.settlement,
    abi: proofSettlementAbi,
    functionName: "submitBatch",
    args: [header, compact],
  });
  const r = await net.anvil.client.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`submitBatch reverted (${hash})`);
}

export async function nextSeqs(client: PublicClient, settlement: Address, gateway: Address) {
  const [callSeq, batchSeq] = await client.readContract({
    address: settlement,
    abi: proofSettlementAbi,
    functionName: "nextSeqs",
    args: [gateway],
  });
  return { callSeq, batchSeq };
}

/** The batch's status now, or as of `blockNumber` (what a transaction left, before anyone reacted). */
export async function batchStatus(
  net: TestNet,
  gateway: Address,
  batchSeq: bigint,
  blockNumber?: bigint,
): Promise<number> {
  const [status] = await net.anvil.client.readContract({
    address: net.settlement,
    abi: proofSettlementAbi,
    functionName: "batch",
    args: [gateway, batchSeq],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  });
  return Number(status);
}

/** Peer URLs of validator `i` in a mesh of validators on `ports` (every other one, on loopback). */
export function meshPeers(ports: readonly number[], i: number): string[] {
  return ports.filter((_, j) => j !== i).map((p) => `http://127.0.0.1:${p}`);
}

/** The signers of the attestation that attested the batch (they alone earn its fees), from its event. */
export async function attestersOf(net: TestNet, gateway: Address, batchSeq: bigint): Promise<Address[]> {
  const [, , , attestationId] = await net.anvil.client.readContract({
    address: net.settlement,
    abi: proofSettlementAbi,
    functionName: "batch",
    args: [gateway, batchSeq],
  });
  const logs = await net.anvil.client.getContractEvents({
    address: net.settlement,
    abi: proofSettlementAbi,
    eventName: "Attestation",
    args: { attestationId },
    fromBlock: 0n,
  });
  return [...(logs[0]?.args.signers ?? [])];
}

export { waitFor } from "../../../tools/waitFor.js";

export function writeJson(file: string, v: unknown): string {
  writeFileSync(file, JSON.stringify(v, null, 2));
  return file;
}
