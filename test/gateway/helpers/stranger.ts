/**
 * A stranger on the gateway's public endpoints: it polls every public GET route of a running
 * gateway child (receipts by callSeq and by requestHash, batches, health, metrics, OHTTP keys) as
 * fast as a few clients can, aiming at the newest callSeqs — the ones a crash may void — and keeps
 * every enclave signature it is handed. After the runs, {@link judgeStranger} checks each signed
 * receipt against what was settled: a signature over a receipt whose callSeq settled as anything
 * else is an equivocation proof anyone can take the gateway's bond with.
 */
import type { Address, Hex } from "viem";
import { receiptLeaf } from "../../../sdk/hashing.js";
import { recoverReceiptSigner, type SettlementDomain } from "../../../sdk/eip712.js";
import { Store } from "../../../gateway/store.js";
import { decodeRecord } from "../../../gateway/record/receiptLayout.js";
import type { ChildRun } from "./child.js";
import { delay } from "../../../tools/waitFor.js";

interface SignedReceipt {
  receipt: {
    gateway: Address;
    callSeq: bigint;
    modelId: Hex;
    requestHash: Hex;
    responseHash: Hex;
    inputTokens: number;
    outputTokens: number;
    servedAt: bigint;
  };
  signature: Hex;
  path: string;
  /** `durable` as the gateway claimed it in the same answer. */
  durable: unknown;
}

const SIG = /0x[0-9a-fA-F]{130}(?![0-9a-fA-F])/g;

export class Stranger {
  /** callSeq → receiptLeaf of the signed fields → first sighting. */
  readonly signed = new Map<number, Map<Hex, SignedReceipt>>();
  requests = 0;
  failed = 0;
  /** Signature-shaped strings seen anywhere in an answer (receipt and header signatures). */
  signaturesSeen = 0;
  receiptSignatures = 0;
  readonly byStatus: Record<string, number> = {};
  readonly paths = new Set<string>();
  private lastBatch = 0;

  /**
   * Polls `run` with `clients` concurrent clients until the returned function is called; `users`
   * more clients ask only for recent receipts already reported durable, as users collecting the
   * signatures of their answers would (each of those is handed a signature).
   */
  watch(run: ChildRun, clients = 3, users = 0): () => Promise<void> {
    let on = true;
    const loops = Array.from({ length: clients + users }, (_, i) => this.loop(run, () => on, i >= clients));
    return async () => {
      on = false;
      await Promise.all(loops);
    };
  }

  private pick(run: ChildRun, user: boolean): string {
    if (user) return `/da/receipts/${Math.max(0, run.maxDurable - Math.floor(Math.random() * 64))}`;
    const max = run.maxReturned;
    const r = Math.random();
    const near = Math.max(0, max - Math.floor(Math.random() * 4) + (Math.random() < 0.2 ? 1 : 0));
    if (r < 0.5) return `/da/receipts/${near}`;
    if (r < 0.75) {
      const h = run.requestHashes.get(near) ?? run.requestHashes.get(max);
      if (h) return `/da/receipts/by-request/${h}`;
      return `/da/receipts/${near}`;
    }
    if (r < 0.82) return `/da/receipts/${Math.floor(Math.random() * (max + 1))}`;
    if (r < 0.92) return `/da/batches/${Math.max(0, this.lastBatch - Math.floor(Math.random() * 3))}`;
    return ["/da/health", "/da/metrics", "/health", "/ohttp-keys"][Math.floor(Math.random() * 4)]!;
  }

  private async loop(run: ChildRun, on: () => boolean, user = false): Promise<void> {
    while (on()) {
      const port = run.port;
      // A user asks only once something is durable (before that every answer is a 409 on callSeq 0).
      const idle = user ? run.maxDurable < 0 : run.maxReturned < 0;
      if (port === undefined || idle || run.proc.exitCode !== null || run.proc.signalCode !== null) {
        await delay(5); // pacing: the child is down or not listening yet
        continue;
      }
      const p = this.pick(run, user);
      this.paths.add(p.replace(/\/(0x)?[0-9a-f]+$/, "/:id"));
      try {
        const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2_000) });
        const text = await res.text();
        this.requests++;
        this.byStatus[res.status] = (this.byStatus[res.status] ?? 0) + 1;
        this.signaturesSeen += text.match(SIG)?.length ?? 0;
        if ((res.headers.get("content-type") ?? "").includes("json"))
          this.take(JSON.parse(text) as Record<string, unknown>, p);
      } catch {
        this.failed++; // the child was killed mid-request
        await delay(5); // pacing after a refused request
      }
    }
  }

  private take(body: Record<string, unknown>, path: string): void {
    if (typeof body.batchSeq === "number" && body.batchSeq > this.lastBatch) this.lastBatch = body.batchSeq;
    const header = body.header as { batchSeq?: string | number } | undefined;
    if (header?.batchSeq !== undefined && Number(header.batchSeq) + 1 > this.lastBatch)
      this.lastBatch = Number(header.batchSeq) + 1;
    const sig = body.receiptSignature;
    const r = body.receipt as Record<string, string | number> | undefined;
    if (typeof sig !== "string" || !r) return;
    this.receiptSignatures++;
    const receipt: SignedReceipt["receipt"] = {
      gateway: r.gateway as Address,
      callSeq: BigInt(r.callSeq!),
      modelId: r.modelId as Hex,
      requestHash: r.requestHash as Hex,
      responseHash: r.responseHash as Hex,
      inputTokens: Number(r.inputTokens),
      outputTokens: Number(r.outputTokens),
      servedAt: BigInt(r.servedAt!),
    };
    const seq = Number(receipt.callSeq);
    const leaf = receiptLeaf(receipt);
    let m = this.signed.get(seq);
    if (!m) this.signed.set(seq, (m = new Map()));
    if (!m.has(leaf)) m.set(leaf, { receipt, signature: sig as Hex, path, durable: body.durable });
  }
}

export interface StrangerVerdict {
  requests: number;
  receiptSignatures: number;
  signaturesSeen: number;
  distinctSignedReceipts: number;
  /** Enclave-signed receipts whose callSeq settled as another leaf (void or different): each takes the bond. */
  slashable: number;
  /** callSeqs for which the stranger holds two different enclave-signed receipts. */
  reusedCallSeqs: number;
  notByEnclave: number;
  examples: string[];
}

/**
 * Judges what the stranger collected against the settled state: `settledEnd` is the chain's
 * nextCallSeq and `storeFile` the gateway's store, whose records `verifySettlement` has already
 * checked hash to the settled roots.
 */
export async function judgeStranger(
  s: Stranger,
  o: { domain: SettlementDomain; gateway: Address; storeFile: string; settledEnd: number },
): Promise<StrangerVerdict> {
  const v: StrangerVerdict = {
    requests: s.requests,
    receiptSignatures: s.receiptSignatures,
    signaturesSeen: s.signaturesSeen,
    distinctSignedReceipts: 0,
    slashable: 0,
    reusedCallSeqs: 0,
    notByEnclave: 0,
    examples: [],
  };
  const store = new Store(o.storeFile, "normal");
  try {
    for (const [seq, bySeq] of s.signed) {
      if (bySeq.size > 1) v.reusedCallSeqs++;
      for (const [leaf, x] of bySeq) {
        v.distinctSignedReceipts++;
        const signer = await recoverReceiptSigner(o.domain, x.receipt, x.signature);
        if (signer.toLowerCase() !== o.gateway.toLowerCase()) {
          v.notByEnclave++;
          continue;
        }
        const rec = seq < o.settledEnd ? store.record(seq) : undefined;
        const settled = rec ? decodeRecord(rec, 0, seq) : undefined;
        if (settled?.kind !== "served" || settled.leaf !== leaf) {
          v.slashable++;
          if (v.examples.length < 5)
            v.examples.push(
              `callSeq ${seq} signed via ${x.path} (durable: ${String(x.durable)}), settled as ${settled ? `${settled.kind} ${settled.leaf}` : "nothing"}`,
            );
        }
      }
    }
  } finally {
    store.close();
  }
  return v;
}
