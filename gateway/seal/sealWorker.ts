/**
 * Worker thread: turns a batch's fixed-size receipt records into its Merkle tree and per-model
 * usage, off the hook's event loop, and answers with the tree's nodes (transferred, not copied).
 * Given the enclave key (`workerData.signingKey`), it also signs batch headers, so the ~1-2 ms of
 * secp256k1 and EIP-712 work per batch does not stall the calls being served.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { Address, Hex, LocalAccount } from "viem";
import type { SettlementDomain } from "../../sdk/eip712.js";
import { buildTree } from "../../sdk/merkle.js";
import { bytesToHex32, type BatchHeaderFields, type ReceiptFields } from "../../sdk/hashing.js";
import {
  REC,
  OFF_INPUT,
  OFF_KIND,
  OFF_LEAF,
  OFF_MODEL,
  OFF_OUTPUT,
  KIND_VOID,
  servedAtOf,
  decodeRecord,
  receiptStruct,
} from "../record/receiptLayout.js";
import { Store } from "../store.js";
import { batchReceiptsJson } from "../serve/daReader.js";
import { lowerThreadPriority } from "../workerThread.js";

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
      usage: sorted.map(([modelId, u]) => ({
        modelId,
        calls: u.calls,
        inputTokens: String(u.inputTokens),
        outputTokens: String(u.outputTokens),
      })),
      firstServedAt: last === 0 ? 0 : first,
      lastServedAt: last,
    },
  };
}

export interface WorkerRequest {
  id: number;
  records?: Uint8Array;
  leaves?: Uint8Array;
  sign?: { domain: SettlementDomain; header: BatchHeaderFields };
  signReceipt?: { domain: SettlementDomain; receipt: ReceiptFields };
  /** The JSON array of a sealed batch's receipts (the bulk of `/batches/:n`), read from the store here. */
  batchJson?: { firstSeq: number; count: number };
  /** A port on which a DA worker asks for durable receipts' signatures by callSeq (see `DaChannel`). */
  receiptSigner?: { port: MessagePort; gateway: Address; domain: SettlementDomain };
}

export interface WorkerAnswer {
  id: number;
  error?: string;
  nodes?: Uint8Array;
  ms?: number;
  summary?: SealSummary;
  signature?: Hex;
  json?: Uint8Array;
}

const data = workerData as { signingKey?: Hex; store?: string; niceness?: number; receiptSignerOnly?: boolean } | null;
const signingKey = data?.signingKey;
const storeFile = data?.store;
// A receipt signer for a DA worker runs nicer than the fast path (see TreeBuilder.serveReceiptSigner).
if (data?.niceness) lowerThreadPriority(data.niceness);
let store: Store | undefined;

/** UTF-8 JSON of receipts [firstSeq, firstSeq+count) as the DA endpoint lists them. */
function batchJson({ firstSeq, count }: NonNullable<WorkerRequest["batchJson"]>): Uint8Array {
  return batchReceiptsJson(openStore(), firstSeq, count);
}

function openStore(): Store {
  if (!storeFile) throw new Error("no store to read receipts from");
  store ??= new Store(storeFile, "normal");
  return store;
}

/**
 * Signs receipts by callSeq for a DA worker, only as the store holds them durably: a callSeq the
 * store does not hold (recorded, not committed yet) or holds void is refused with "not_durable".
 */
function serveReceiptSigner({ port, gateway, domain }: NonNullable<WorkerRequest["receiptSigner"]>): void {
  port.on("message", ({ id, callSeq }: { id: number; callSeq: number }) => {
    let receipt: ReturnType<typeof receiptStruct>;
    try {
      const rec = openStore().record(callSeq);
      const stored = rec && decodeRecord(rec, 0, callSeq);
      if (stored?.kind !== "served") {
        port.postMessage({ id, error: "not_durable" });
        return;
      }
      receipt = receiptStruct(gateway, stored);
    } catch (e) {
      port.postMessage({ id, error: (e as Error).message });
      return;
    }
    sign({ id, signReceipt: { domain, receipt } }).then(
      (signature) => port.postMessage({ id, signature }),
      (e: Error) => port.postMessage({ id, error: e.message }),
    );
  });
  // Its DA worker is gone: a worker that only signs for it has nothing left to do.
  if (data?.receiptSignerOnly) port.on("close", () => process.exit(0));
}
let signer: Promise<{ account: LocalAccount; eip712: typeof import("../../sdk/eip712.js") }> | undefined;

/**
 * The enclave's signature over a batch header or a receipt (the main thread signs a receipt only
 * once it is durable); viem and the signer load on the first request only.
 */
async function sign(msg: WorkerRequest): Promise<Hex> {
  if (!signingKey) throw new Error("no signing key");
  signer ??= Promise.all([import("viem/accounts"), import("../../sdk/eip712.js")]).then(([a, e]) => ({
    account: a.privateKeyToAccount(signingKey),
    eip712: e,
  }));
  const { account, eip712 } = await signer;
  if (msg.sign) return (await eip712.signHeader(account, msg.sign.domain, msg.sign.header)).signature;
  return (await eip712.signReceipt(account, msg.signReceipt!.domain, msg.signReceipt!.receipt)).signature;
}

parentPort!.on("message", (msg: WorkerRequest) => {
  if (msg.receiptSigner) return serveReceiptSigner(msg.receiptSigner);
  if (msg.batchJson) {
    try {
      const json = batchJson(msg.batchJson);
      parentPort!.postMessage({ id: msg.id, json } satisfies WorkerAnswer, [json.buffer as ArrayBuffer]);
    } catch (e) {
      parentPort!.postMessage({ id: msg.id, error: (e as Error).message } satisfies WorkerAnswer);
    }
    return;
  }
  if (msg.sign || msg.signReceipt) {
    sign(msg).then(
      (signature) => parentPort!.postMessage({ id: msg.id, signature } satisfies WorkerAnswer),
      (e: Error) => parentPort!.postMessage({ id: msg.id, error: e.message } satisfies WorkerAnswer),
    );
    return;
  }
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
