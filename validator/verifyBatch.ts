/**
 * Recomputes a batch from its published leaves and compares it with the settled header: every leaf
 * (receipt or void), the Merkle root, the callSeq range and gateway of every leaf, usage per model
 * (sorted, summed over served receipts), the servedAt range and the fee under the schedule the batch was submitted under
 * (chain.ts `feeScheduleAtSubmission`).
 * Pure and synchronous: the caller fetches leaves and rates.
 */
import type { Hex } from "viem";
import { receiptLeaf, voidLeaf } from "../sdk/hashing.js";
import { buildTree, type MerkleTree } from "../sdk/merkle.js";
import { computeFee, type FeeRateFields, type PerModelRates } from "../sdk/fees.js";
import type { BatchHeader, ModelUsage } from "../sdk/types.js";
import type { DaLeaf } from "./da.js";

/** Which part of the header the receipts contradict. */
export type Mismatch = "count" | "range" | "gateway" | "root" | "usage" | "servedAt" | "fee";

export interface BatchCheck {
  ok: boolean;
  mismatches: { what: Mismatch; detail: string }[];
  /** The tree of the published leaves (present when there was at least one leaf). */
  tree: MerkleTree | undefined;
  usage: ModelUsage[];
  fee: bigint;
}

/** Usage per model over served leaves, strictly ascending by modelId (what the contract requires). */
export function usageOf(leaves: readonly DaLeaf[]): ModelUsage[] {
  const m = new Map<Hex, ModelUsage>();
  for (const l of leaves) {
    if (l.kind !== "served") continue;
    const id = l.receipt.modelId.toLowerCase() as Hex;
    let u = m.get(id);
    if (!u) m.set(id, (u = { modelId: id, calls: 0, inputTokens: 0n, outputTokens: 0n }));
    u.calls++;
    u.inputTokens += BigInt(l.receipt.inputTokens);
    u.outputTokens += BigInt(l.receipt.outputTokens);
  }
  return [...m.values()].sort((a, b) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0));
}

function sameUsage(a: readonly ModelUsage[], b: readonly ModelUsage[]): boolean {
  return (
    a.length === b.length &&
    a.every((u, i) => {
      const v = b[i]!;
      return (
        u.modelId.toLowerCase() === v.modelId.toLowerCase() &&
        u.calls === v.calls &&
        u.inputTokens === v.inputTokens &&
        u.outputTokens === v.outputTokens
      );
    })
  );
}

export function verifyBatch(p: {
  header: BatchHeader;
  leaves: readonly DaLeaf[];
  rate: FeeRateFields;
  modelRates?: PerModelRates;
}): BatchCheck {
  const { header: h, leaves } = p;
  const mismatches: BatchCheck["mismatches"] = [];
  const gw = h.gateway.toLowerCase();

  if (leaves.length !== h.count)
    mismatches.push({ what: "count", detail: `${leaves.length} leaves published, header count ${h.count}` });
  const hashes: Hex[] = [];
  let first = -1n;
  let last = 0n;
  for (let i = 0; i < leaves.length; i++) {
    const l = leaves[i]!;
    const callSeq = l.kind === "served" ? l.receipt.callSeq : l.callSeq;
    const gateway = (l.kind === "served" ? l.receipt.gateway : l.gateway).toLowerCase();
    if (callSeq !== h.firstCallSeq + BigInt(i)) {
      mismatches.push({
        what: "range",
        detail: `leaf ${i} has callSeq ${callSeq}, expected ${h.firstCallSeq + BigInt(i)}`,
      });
      break;
    }
    if (gateway !== gw) {
      mismatches.push({ what: "gateway", detail: `leaf ${i} belongs to ${gateway}, not ${gw}` });
      break;
    }
    if (l.kind === "served") {
      hashes.push(receiptLeaf(l.receipt));
      const t = l.receipt.servedAt;
      if (first < 0n || t < first) first = t;
      if (t > last) last = t;
    } else hashes.push(voidLeaf(l.gateway, l.callSeq));
  }
  const tree = hashes.length > 0 && hashes.length === leaves.length ? buildTree(hashes) : undefined;
  if (!tree) {
    if (mismatches.length === 0) mismatches.push({ what: "count", detail: "no leaves published" });
  } else if (tree.root !== h.root.toLowerCase()) {
    mismatches.push({ what: "root", detail: `receipts give root ${tree.root}, header has ${h.root}` });
  }

  const usage = usageOf(leaves);
  if (!sameUsage(usage, h.usage))
    mismatches.push({
      what: "usage",
      detail: `receipts give ${usage.length} model(s) / ${usage.reduce((s, u) => s + u.calls, 0)} calls, header differs`,
    });
  // An all-void batch carries 0/0, as the gateway's sealer writes it.
  if (first < 0n) first = 0n;
  if (first !== h.firstServedAt || last !== h.lastServedAt) {
    mismatches.push({
      what: "servedAt",
      detail: `receipts span ${first}..${last}, header ${h.firstServedAt}..${h.lastServedAt}`,
    });
  }
  const fee = computeFee(usage, p.rate, p.modelRates);
  if (fee !== h.fee) mismatches.push({ what: "fee", detail: `schedule gives ${fee}, header has ${h.fee}` });
  return { ok: mismatches.length === 0, mismatches, tree, usage, fee };
}
