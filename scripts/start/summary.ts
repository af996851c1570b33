/**
 * The end of `npm start`: what the indexer says happened, checked against what the load generator
 * sent, as a table plus a few calls' proof statuses. Across a key handover it counts per key (the
 * killed enclave's account and its successor's): calls served, settled, voided and finalized, and
 * checks every receipt the client kept against the leaf at its callSeq in a finalized batch. Returns
 * true only when every account is finalized to its end and every kept receipt is in it.
 */
import { parseAbiItem, type Address, type Hex, type PublicClient } from "viem";
import type { Deployment } from "../../sdk/deployment.js";
import { receiptLeaf } from "../../sdk/hashing.js";
import { leafOfBatchLeaf, parseBatchLeaves, type BatchLeaf } from "../../sdk/readClient.js";
import type { Receipt } from "../../sdk/types.js";
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

/** One enclave key's account: what the client saw of it, and where it must be settled to. */
export interface AccountInput {
  address: Address;
  label: string;
  /** Calls the load generator got an answer for from this key. */
  answered: number;
  /** Every callSeq below this must end finalized (served or void): the account's settled end for a
   *  retired key, at least the calls answered for a live one. */
  end: number;
  /** The enclave-signed receipts the client fetched and kept for this key's calls. */
  receipts: readonly { receipt: Receipt }[];
}

export interface AccountSummary {
  address: Address;
  label: string;
  answered: number;
  served: number;
  voided: number;
  settled: number;
  /** callSeqs (served and void) in finalized batches. */
  finalized: number;
  /** Served calls in finalized batches. */
  servedFinalized: number;
  batches: number;
  receiptsKept: number;
  receiptsFinalized: number;
  allFinalized: boolean;
}

export interface SummaryInput {
  ponder: Ponder;
  publicClient: PublicClient;
  deployment: Deployment;
  accounts: AccountInput[];
  served: number;
  outcomes: CallOutcome[];
  validators: Validator[];
  formatOpg(wei: bigint): string;
}

export interface Summary {
  served: number;
  callsSettled: number;
  /** Served calls in finalized batches. */
  callsFinalized: number;
  /** callSeqs (served and void) in finalized batches. */
  callSeqsFinalized: number;
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
  accounts: AccountSummary[];
  /** Receipts the client kept, and how many of them are the leaf at their callSeq in a finalized batch. */
  receiptsKept: number;
  receiptsFinalized: number;
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

/** The leaves each batch's daURI serves (a dead key's batches: from its successor). */
async function fetchLeaves(batches: BatchRow[]): Promise<Map<BatchRow, BatchLeaf[]>> {
  const out = new Map<BatchRow, BatchLeaf[]>();
  for (const b of batches) {
    // The gateway bounds batch reads per client (429 with Retry-After): wait as it asks.
    for (let attempt = 0; attempt < 10; attempt++) {
      const res = await fetch(b.daURI).catch(() => undefined);
      if (res?.ok) {
        out.set(b, parseBatchLeaves(b.daURI, await res.json()));
        break;
      }
      if (res?.status !== 429) break;
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get("retry-after") ?? 1)));
    }
  }
  return out;
}

/**
 * Per batch, its last served call to its attestation (batches of void leaves only have no served
 * call: left out, which the network-wide figure does not do).
 */
function batchLatency(leaves: Map<BatchRow, BatchLeaf[]>) {
  const ms: number[] = [];
  for (const [b, ls] of leaves) {
    const last = ls.reduce((m, l) => (l.kind === "served" && l.receipt.servedAt > m ? l.receipt.servedAt : m), 0n);
    if (b.attestedAt !== null && last > 0n) ms.push(Number(b.attestedAt) * 1000 - Number(last));
  }
  const st = stats(ms);
  return { proofLatencyAvgMs: st?.avgMs ?? null, proofLatencyP95Ms: st?.p95Ms ?? null };
}

/** Per-call latencies: every receipt's servedAt against its batch's attest and finalize times. */
function perCallLatencies(leaves: Map<BatchRow, BatchLeaf[]>) {
  const attested: number[] = [];
  const final: number[] = [];
  for (const [b, ls] of leaves) {
    if (b.attestedAt === null) continue;
    for (const l of ls) {
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

/** How many of an account's calls are in finalized batches, and whether every callSeq below `end` is. */
export async function finality(ponder: Ponder, gateway: Address, end: number) {
  const batches = await allBatches(ponder, gateway);
  // Every callSeq below `end` must be covered, in order and without gaps, by finalized batches.
  let covered = 0n;
  let finalizedCalls = 0;
  for (const b of batches) {
    if (BigInt(b.firstCallSeq) !== covered) break;
    covered += BigInt(b.count);
    if (b.status === "finalized") finalizedCalls += b.count;
  }
  const allFinalized =
    covered >= BigInt(end) && batches.every((b) => b.status === "finalized") && finalizedCalls >= end;
  return { batches, finalizedCalls, allFinalized };
}

/** Finality of every account together (what the progress bar follows). */
export async function finalityOf(ponder: Ponder, accounts: Pick<AccountInput, "address" | "end">[]) {
  let finalizedCalls = 0;
  let allFinalized = true;
  for (const a of accounts) {
    const f = await finality(ponder, a.address, a.end);
    finalizedCalls += f.finalizedCalls;
    allFinalized &&= f.allFinalized;
  }
  return { finalizedCalls, allFinalized };
}

async function accountSummary(
  ponder: Ponder,
  a: AccountInput,
): Promise<{ summary: AccountSummary; leaves: Map<BatchRow, BatchLeaf[]> }> {
  const { batches, finalizedCalls, allFinalized } = await finality(ponder, a.address, a.end);
  const leaves = await fetchLeaves(batches);
  let served = 0;
  let voided = 0;
  let servedFinalized = 0;
  // callSeq → [leaf, finalized?] of what the chain settled, to check the client's receipts against.
  const settledLeaf = new Map<bigint, { leaf: Hex; final: boolean }>();
  for (const [b, ls] of leaves) {
    for (const l of ls) {
      if (l.kind === "served") served++;
      else voided++;
      if (l.kind === "served" && b.status === "finalized") servedFinalized++;
      const seq = l.kind === "served" ? l.receipt.callSeq : l.callSeq;
      settledLeaf.set(seq, { leaf: leafOfBatchLeaf(l), final: b.status === "finalized" });
    }
  }
  const receiptsFinalized = a.receipts.filter(({ receipt: r }) => {
    const s = settledLeaf.get(r.callSeq);
    return s?.final === true && s.leaf === receiptLeaf(r);
  }).length;
  return {
    summary: {
      address: a.address,
      label: a.label,
      answered: a.answered,
      served,
      voided,
      settled: batches.reduce((n, b) => n + b.count, 0),
      finalized: finalizedCalls,
      servedFinalized,
      batches: batches.length,
      receiptsKept: a.receipts.length,
      receiptsFinalized,
      allFinalized: allFinalized && receiptsFinalized === a.receipts.length,
    },
    leaves,
  };
}

export async function computeSummary(i: SummaryInput): Promise<Summary> {
  const net = (await i.ponder.getJson("/network/stats")) as Record<string, any>;
  const accounts: AccountSummary[] = [];
  const leaves = new Map<BatchRow, BatchLeaf[]>();
  for (const a of i.accounts) {
    const r = await accountSummary(i.ponder, a);
    accounts.push(r.summary);
    for (const [b, ls] of r.leaves) leaves.set(b, ls);
  }

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
  const nLeaves = logs.reduce((n, l) => n + Number(l.args.count ?? 0), 0);

  return {
    served: i.served,
    callsSettled: Number(net.callsSettled ?? 0),
    callsFinalized: accounts.reduce((n, a) => n + a.servedFinalized, 0),
    callSeqsFinalized: accounts.reduce((n, a) => n + a.finalized, 0),
    batches: accounts.reduce((n, a) => n + a.batches, 0),
    batchesByStatus: net.batchesByStatus ?? {},
    submitGas: Number(submitGas),
    gasPerCall: nLeaves ? Number(submitGas) / nLeaves : 0,
    feesPaidWei: String(net.feesPaid ?? net.feesSubmitted ?? "0"),
    ...batchLatency(leaves),
    ...perCallLatencies(leaves),
    accounts,
    receiptsKept: accounts.reduce((n, a) => n + a.receiptsKept, 0),
    receiptsFinalized: accounts.reduce((n, a) => n + a.receiptsFinalized, 0),
    allFinalized: accounts.every((a) => a.allFinalized),
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
    ["calls finalized (served, in finalized batches)", String(s.callsFinalized)],
    ["callSeqs finalized (served + void)", String(s.callSeqsFinalized)],
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
  if (s.accounts.length > 1 || s.receiptsKept > 0) {
    console.log("\nper enclave key (callSeqs of its account; served + voided = settled)");
    const head = ["key", "", "answered", "served", "settled", "voided", "finalized", "receipts final/kept"];
    const table = s.accounts.map((a) => [
      `${a.address.slice(0, 10)}…`,
      a.label,
      String(a.answered),
      String(a.served),
      String(a.settled),
      String(a.voided),
      String(a.finalized),
      `${a.receiptsFinalized}/${a.receiptsKept}`,
    ]);
    const widths = head.map((h, c) => Math.max(h.length, ...table.map((r) => r[c]!.length)));
    for (const r of [head, ...table]) console.log(`  ${r.map((x, c) => x.padEnd(widths[c]!)).join("  ")}`);
  }
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
