/**
 * Worker thread: turns a batch's fixed-size receipt records into its Merkle tree and per-model
 * usage, off the hook's event loop. Answers with the tree's nodes (transferred, not copied).
 */
import { parentPort } from "node:worker_threads";
import { buildTree } from "../sdk/merkle.js";
import { bytesToHex32 } from "../sdk/hashing.js";
import { REC, OFF_INPUT, OFF_KIND, OFF_LEAF, OFF_MODEL, OFF_OUTPUT, KIND_VOID, servedAtOf } from "./record.js";

export interface SealSummary {
  usage: { modelId: string; calls: number; inputTokens: string; outputTokens: string }[];
  firstServedAt: number;
  lastServedAt: number;
}

function summarize(records: Uint8Array, n: number): { leaves: Uint8Array; summary: SealSummary } {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  const leaves = new Uint8Array(n * 32);
  const usage = new Map<string, { calls: number; inputTokens: bigint; outputTokens: bigint }>();
  let first = Number.MAX_SAFE_INTEGER;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const at = i * REC;
    leaves.set(records.subarray(at + OFF_LEAF, at + OFF_LEAF + 32), i * 32);
    if (records[at + OFF_KIND] === KIND_VOID) continue;
    const model = bytesToHex32(records, at + OFF_MODEL);
    let u = usage.get(model);
    if (!u) usage.set(model, (u = { calls: 0, inputTokens: 0n, outputTokens: 0n }));
    u.calls++;
    u.inputTokens += BigInt(view.getUint32(at + OFF_INPUT));
    u.outputTokens += BigInt(view.getUint32(at + OFF_OUTPUT));
    const t = servedAtOf(view, at);
    if (t < first) first = t;
    if (t > last) last = t;
  }
  // The contract wants strictly ascending modelIds; equal-length lowercase hex sorts like uint256.
  const sorted = [...usage.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    leaves,
    summary: {
      usage: sorted.map(([modelId, u]) => ({ modelId, calls: u.calls, inputTokens: String(u.inputTokens), outputTokens: String(u.outputTokens) })),
      firstServedAt: last === 0 ? 0 : first,
      lastServedAt: last,
    },
  };
}

parentPort!.on("message", (msg: { id: number; records?: Uint8Array; leaves?: Uint8Array }) => {
  try {
    let leaves = msg.leaves;
    let summary: SealSummary | undefined;
    if (msg.records) ({ leaves, summary } = summarize(msg.records, msg.records.length / REC));
    const t0 = performance.now();
    const nodes = buildTree(leaves!).nodes;
    const ms = performance.now() - t0;
    parentPort!.postMessage({ id: msg.id, nodes, ms, summary }, [nodes.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error).message });
  }
});
