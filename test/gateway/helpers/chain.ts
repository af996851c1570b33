/**
 * Reading a test chain's settlement: the batches a gateway settled and its next sequence numbers.
 * The chain itself comes from tools/devchain.ts, proofpath on it from tools/devnet.ts.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Address, ContractFunctionArgs, ContractFunctionName, Hex, PublicClient } from "viem";
import { proofSettlementAbi } from "../../../sdk/abis.js";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

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
  const [c, b] = await client.readContract({
    address: settlement,
    abi: proofSettlementAbi,
    functionName: "nextSeqs",
    args: [gateway],
  });
  return { nextCallSeq: Number(c), nextBatchSeq: Number(b) };
}

/** [functionName, args] of a ProofSettlement write: the ABI types each pair. */
export type SettlementCall = {
  [F in ContractFunctionName<typeof proofSettlementAbi, "nonpayable">]: [
    F,
    ContractFunctionArgs<typeof proofSettlementAbi, "nonpayable", F>,
  ];
}[ContractFunctionName<typeof proofSettlementAbi, "nonpayable">];
