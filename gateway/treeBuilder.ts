/**
 * Client of the Merkle worker thread: `seal(records)` / `build(leaves)` resolve with the tree built
 * on the worker.
 */
import type { Worker } from "node:worker_threads";
import { treeFromNodes, type MerkleTree } from "../sdk/merkle.js";
import type { SealSummary } from "./merkleWorker.js";
import { startWorker } from "./workerThread.js";

export interface BuiltTree {
  tree: MerkleTree;
  /** Tree build time on the worker (excludes messaging). */
  ms: number;
  summary?: SealSummary;
}

export class TreeBuilder {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (t: BuiltTree) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    const w = startWorker("merkleWorker");
    w.on("message", (m: { id: number; nodes?: Uint8Array; ms?: number; error?: string; summary?: SealSummary }) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined || !m.nodes) p.reject(new Error(`Merkle worker: ${m.error}`));
      else p.resolve({ tree: treeFromNodes(m.nodes), ms: m.ms ?? 0, ...(m.summary ? { summary: m.summary } : {}) });
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

  private send(msg: { records?: Uint8Array; leaves?: Uint8Array }, buf: ArrayBuffer): Promise<BuiltTree> {
    this.worker ??= this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker!.postMessage({ id, ...msg }, [buf]);
    });
  }

  /** Tree of flat leaves (n*32 bytes; the buffer is transferred). */
  build(leaves: Uint8Array): Promise<BuiltTree> {
    return this.send({ leaves }, leaves.buffer as ArrayBuffer);
  }

  /** Tree + usage summary of fixed-size receipt records (the buffer is transferred). */
  seal(records: Uint8Array): Promise<BuiltTree> {
    return this.send({ records }, records.buffer as ArrayBuffer);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}
