/**
 * The end of `npm start`: what the indexer says happened, checked against what the load generator
 * sent, as a table plus a few calls' proof statuses. Returns true only when every served call is in
 * a finalized batch.
 */
import { parseAbiItem, type Address, type PublicClient } from "viem";
import type { Deployment } from "../../sdk/deployment.js";
import { parseBatchLeaves } from "../../sdk/readClient.js";
import type { Validator } from "../../validator/index.js";
import type { Ponder } from "../../indexer/harness/ponder.js";

export interface CallOutcome {
  callSeq: bigint;
  status: Record<string, unknown>;
}

interface BatchRow {
  batchSeq: string;
  firstCallSeq: string;
  count: number;
  status: string;
  fee: string;
  daURI: string;
  attestedAt: string | null;
  finalizedAt: string | null;
}

export interface SummaryInput {
  ponder: Ponder;
  publicClient: PublicClient;
  deployment: Deployment;
  gateway: Address;
  served: number;
  outcomes: CallOutcome[];
  validators: Validator[];
  formatOpg(wei: bigint): string;
}

export interface Summary {
  served: number;
  callsSettled: number;
  callsFinalized: number;
  batches: number;
  batchesByStatus: Record<string, number>;
  submitGas: number;
  gasPerCall: number;
  feesPaidWei: string;
  proofLatencyAvgMs: number | null;
  proofLatencyP95Ms: number | null;
  /** Per call, from each call's own servedAt (its receipt at the batch's daURI) to the block time. */
  servedToAttested: LatencyStats | null;
  servedToFinal: LatencyStats | null;
  allFinalized: boolean;
}

interface LatencyStats {
  avgMs: number;
  p95Ms: number;
  calls: number;
}

function stats(ms: number[]): LatencyStats | null {
  if (!ms.length) return null;
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    avgMs: ms.reduce((n, x) => n + x, 0) / ms.length,
    p95Ms: sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!,
    calls: ms.length,
  };
}

/** Per-call latencies: every receipt's servedAt (fetched from its batch's daURI) against the batch's attest and finalize times. */
async function perCallLatencies(batches: BatchRow[]) {
  const attested: number[] = [];
  const final: number[] = [];
  for (const b of batches) {
    if (b.attestedAt === null) continue;
    const res = await fetch(b.daURI);
    if (!res.ok) continue;
    for (const l of parseBatchLeaves(b.daURI, await res.json())) {
      if (l.kind !== "served") continue;
      const served = Number(l.receipt.servedAt);
      attested.push(Number(b.attestedAt) * 1000 - served);
      if (b.finalizedAt !== null) final.push(Number(b.finalizedAt) * 1000 - served);
    }
  }
  return { servedToAttested: stats(attested), servedToFinal: stats(final) };
}

async function allBatches(ponder: Ponder, gateway: Address): Promise<BatchRow[]> {
  const rows: BatchRow[] = [];
  let cursor: string | null = null;
  do {
    const page = (await ponder.getJson(
      `/batches?gateway=${gateway}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    )) as { items: BatchRow[]; nextCursor: string | null };
    rows.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return rows.sort((a, b) => Number(BigInt(a.firstCallSeq) - BigInt(b.firstCallSeq)));
}

/** How many of the gateway's calls are in finalized batches, and whether all `served` calls are. */
export async function finality(ponder: Ponder, gateway: Address, served: number) {
  const batches = await allBatches(ponder, gateway);
  // Every served callSeq must be covered, in order and without gaps, by finalized batches.
  let covered = 0n;
  let finalizedCalls = 0;
  for (const b of batches) {
    if (BigInt(b.firstCallSeq) !== covered) break;
    covered += BigInt(b.count);
    if (b.status === "finalized") finalizedCalls += b.count;
  }
  const allFinalized =
    covered >= BigInt(served) && batches.every((b) => b.status === "finalized") && finalizedCalls >= served;
  return { batches, finalizedCalls, allFinalized };
}

export async function computeSummary(i: SummaryInput): Promise<Summary> {
  const net = (await i.ponder.getJson("/network/stats")) as Record<string, any>;
  const { batches, finalizedCalls, allFinalized } = await finality(i.ponder, i.gateway, i.served);

  // Gas actually paid by the submit transactions, read from the chain.
  const logs = await i.publicClient.getLogs({
    address: i.deployment.contracts.ProofSettlement,
    event: parseAbiItem(
      "event BatchSubmitted(address indexed gateway, uint64 indexed batchSeq, uint64 indexed firstCallSeq, uint32 count, bytes32 root, uint256 fee, bytes32 headerHash, (bytes32 modelId, uint32 calls, uint64 inputTokens, uint64 outputTokens)[] usage, uint64 firstServedAt, uint64 lastServedAt, string daURI)",
    ),
    fromBlock: BigInt(i.deployment.startBlock),
  });
  const txs = [...new Set(logs.map((l) => l.transactionHash))];
  let submitGas = 0n;
  for (const hash of txs) submitGas += (await i.publicClient.getTransactionReceipt({ hash })).gasUsed;
  const leaves = logs.reduce((n, l) => n + Number(l.args.count ?? 0), 0);
  const perCall = await perCallLatencies(batches);

  return {
    served: i.served,
    callsSettled: Number(net.callsSettled ?? 0),
    callsFinalized: finalizedCalls,
    batches: batches.length,
    batchesByStatus: net.batchesByStatus ?? {},
    submitGas: Number(submitGas),
    gasPerCall: leaves ? Number(submitGas) / leaves : 0,
    feesPaidWei: String(net.feesPaid ?? net.feesSubmitted ?? "0"),
    proofLatencyAvgMs: net.proofLatency?.avgMs ?? null,
    proofLatencyP95Ms: net.proofLatency?.p95Ms ?? null,
    ...perCall,
    allFinalized,
  };
}

export async function printSummary(i: SummaryInput): Promise<Summary> {
  const s = await computeSummary(i);
  const rewards = await Promise.all(
    i.validators.map(async (v) => ({ v: v.address, owed: await rewardsOwed(i, v.address) })),
  );
  const sec = (ms: number | null) => (ms === null ? "n/a" : `${(ms / 1000).toFixed(1)} s`);
  const lat = (l: LatencyStats | null) =>
    l === null ? "n/a" : `avg ${sec(l.avgMs)}, p95 ${sec(l.p95Ms)} (${l.calls} calls)`;
  const rows: [string, string][] = [
    ["calls answered (load generator)", String(s.served)],
    ["calls settled (indexer)", String(s.callsSettled)],
    ["calls finalized (indexer)", String(s.callsFinalized)],
    [
      "batches",
      `${s.batches} (${Object.entries(s.batchesByStatus)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")})`,
    ],
    ["gas per settled call (submit)", `${s.gasPerCall.toFixed(0)} (${s.submitGas.toLocaleString("en-US")} gas in all)`],
    ["fees paid", `${i.formatOpg(BigInt(s.feesPaidWei))} OPG`],
    [
      "batch proof latency (last served → attested)",
      `avg ${sec(s.proofLatencyAvgMs)}, p95 ${sec(s.proofLatencyP95Ms)}`,
    ],
    ["per call: served → attested", lat(s.servedToAttested)],
    ["per call: served → final", lat(s.servedToFinal)],
    ["validator rewards unclaimed", rewards.map((r) => `${r.v.slice(0, 8)}… ${i.formatOpg(r.owed)}`).join(", ")],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log("\nsummary");
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  console.log("\na few calls (GET /calls/:gateway/:callSeq on the indexer)");
  for (const o of i.outcomes) {
    const st = o.status as {
      status?: string;
      batch?: { batchSeq?: string } | null;
      txs?: { finalize?: string | null };
      proofLatencyMs?: number | null;
    };
    console.log(
      `  callSeq ${String(o.callSeq).padStart(5)}  ${String(st.status ?? "?").padEnd(9)}  batch ${st.batch?.batchSeq ?? "-"}  finalize tx ${st.txs?.finalize ?? "-"}`,
    );
  }
  console.log(`\n${s.allFinalized ? "✔ every call ended finalized" : "✘ not every call ended finalized"}`);
  if (process.env.PROOFPATH_SUMMARY_JSON) console.log(`SUMMARY ${JSON.stringify(s)}`);
  return s;
}

async function rewardsOwed(i: SummaryInput, validator: Address): Promise<bigint> {
  return i.publicClient.readContract({
    address: i.deployment.contracts.ProofSettlement, // rewards go to the signers of each attestation
    abi: [parseAbiItem("function rewardsOwed(address) view returns (uint256)")],
    functionName: "rewardsOwed",
    args: [validator],
  });
}
