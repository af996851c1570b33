/**
 * Client of the seal worker thread (./sealWorker.ts): `seal(records)` / `build(leaves)` resolve
 * with the tree built on the worker; `signHeader` signs a batch header there, when the hook was
 * given the enclave key itself.
 */
import type { MessagePort, Worker } from "node:worker_threads";
import type { Address, Hex } from "viem";
import type { SettlementDomain } from "../../sdk/eip712.js";
import type { BatchHeaderFields, ReceiptFields } from "../../sdk/hashing.js";
import { treeFromNodes, type MerkleTree } from "../../sdk/merkle.js";
import type { SealSummary, WorkerAnswer, WorkerRequest } from "./sealWorker.js";
import { startWorker } from "../workerThread.js";

export interface BuiltTree {
  tree: MerkleTree;
  /** Tree build time on the worker (excludes messaging). */
  ms: number;
  summary?: SealSummary;
}

export class TreeBuilder {
  private worker: Worker | undefined;
  /** Seal workers that only sign receipts for DA workers ({@link serveReceiptSigner}). */
  private readonly receiptSigners = new Set<Worker>();
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (m: WorkerAnswer) => void; reject: (e: Error) => void }>();

  /**
   * `signingKey`: the enclave's private key, for {@link signHeader} (it never leaves this process);
   * `store`: the hook's store file, for {@link batchJson}.
   */
  constructor(private readonly opts: { signingKey?: Hex; store?: string } = {}) {}

  /** Whether headers can be signed on the worker. */
  get canSign(): boolean {
    return this.opts.signingKey !== undefined;
  }

  private start(): Worker {
    const w = startWorker("seal/sealWorker", {
      workerData: {
        ...(this.opts.signingKey ? { signingKey: this.opts.signingKey } : {}),
        ...(this.opts.store ? { store: this.opts.store } : {}),
      },
    });
    w.on("message", (m: WorkerAnswer) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`Merkle worker: ${m.error}`));
      else p.resolve(m);
    });
    w.on("error", (e) => this.failAll(e));
    w.on("exit", () => {
      this.worker = undefined;
      this.failAll(new Error("Merkle worker exited"));
    });
    return w;
  }

  private failAll(e: Error): void {
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  private send(msg: Omit<WorkerRequest, "id">, transfer: ArrayBuffer[] = []): Promise<WorkerAnswer> {
    this.worker ??= this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker!.postMessage({ id, ...msg }, transfer);
    });
  }

  private async tree(msg: Omit<WorkerRequest, "id">, buf: ArrayBuffer): Promise<BuiltTree> {
    const m = await this.send(msg, [buf]);
    if (!m.nodes) throw new Error("Merkle worker: answered without a tree");
    return { tree: treeFromNodes(m.nodes), ms: m.ms ?? 0, ...(m.summary ? { summary: m.summary } : {}) };
  }

  /** Tree of flat leaves (n*32 bytes; the buffer is transferred). */
  build(leaves: Uint8Array): Promise<BuiltTree> {
    return this.tree({ leaves }, leaves.buffer as ArrayBuffer);
  }

  /** Tree + usage summary of fixed-size receipt records (the buffer is transferred). */
  seal(records: Uint8Array): Promise<BuiltTree> {
    return this.tree({ records }, records.buffer as ArrayBuffer);
  }

  /**
   * The enclave's signature over `header` (65-byte hex, as `signHeader` in sdk/eip712.ts gives it),
   * computed on the worker: a signature costs ~1-2 ms of CPU, which would otherwise stall whatever
   * call the event loop is serving when a batch seals.
   */
  async signHeader(domain: SettlementDomain, header: BatchHeaderFields): Promise<Hex> {
    if (!this.canSign) throw new Error("TreeBuilder.signHeader: no signing key was given");
    const m = await this.send({ sign: { domain, header } });
    if (!m.signature) throw new Error("Merkle worker: answered without a signature");
    return m.signature;
  }

  /** The enclave's signature over a receipt, computed on the worker (see {@link signHeader}). */
  async signReceipt(domain: SettlementDomain, receipt: ReceiptFields): Promise<Hex> {
    if (!this.canSign) throw new Error("TreeBuilder.signReceipt: no signing key was given");
    const m = await this.send({ signReceipt: { domain, receipt } });
    if (!m.signature) throw new Error("Merkle worker: answered without a signature");
    return m.signature;
  }

  /** The JSON array (UTF-8) of durable receipts [firstSeq, firstSeq+count), built on the worker from the store. */
  async batchJson(firstSeq: number, count: number): Promise<Uint8Array> {
    const m = await this.send({ batchJson: { firstSeq, count } });
    if (!m.json) throw new Error("Merkle worker: answered without JSON");
    return m.json;
  }

  /**
   * Starts a seal worker of its own that signs durable receipts by callSeq on `port` for a DA worker
   * (`{ id, callSeq }` → `{ id, signature | error }`), reading each record from the store itself. Its
   * own thread at `niceness` (Linux): signatures strangers ask for (~1 ms of secp256k1 each) then
   * yield the CPU to the fast path and never queue behind, or ahead of, sealing. It ends with the
   * DA worker (the port closes).
   */
  serveReceiptSigner(port: MessagePort, ctx: { gateway: Address; domain: SettlementDomain }, niceness = 10): void {
    if (!this.canSign || !this.opts.store)
      throw new Error("TreeBuilder.serveReceiptSigner: needs the key and the store");
    const w = startWorker("seal/sealWorker", {
      workerData: { signingKey: this.opts.signingKey, store: this.opts.store, niceness, receiptSignerOnly: true },
    });
    this.receiptSigners.add(w);
    w.once("exit", () => this.receiptSigners.delete(w));
    w.postMessage({ id: -1, receiptSigner: { port, ...ctx } } satisfies WorkerRequest, [port]);
  }

  async close(): Promise<void> {
    await Promise.all([...this.receiptSigners].map((w) => w.terminate()));
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}
