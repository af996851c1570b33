/**
 * requestHash → callSeq, so a user who holds only their own encapsulated request can find the
 * receipt the enclave recorded for it (`GET /da/receipts/by-request/:requestHash`), then its
 * inclusion proof at `/da/receipts/:callSeq`.
 *
 * In memory and bounded (oldest entries go first): a lookup convenience, not the record. The
 * receipts themselves are durable in the hook's store and public in the DA batches
 * (`/da/batches/:n` lists every receipt with its requestHash), which is the fallback after a
 * restart or for calls older than the index remembers.
 */
import type { Hex } from "viem";

export class ReceiptIndex {
  private readonly byRequest = new Map<string, number>();

  constructor(private readonly maxEntries = 200_000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError("ReceiptIndex needs maxEntries ≥ 1");
  }

  get size(): number {
    return this.byRequest.size;
  }

  set(requestHash: Hex, callSeq: bigint): void {
    if (this.byRequest.size >= this.maxEntries) this.byRequest.delete(this.byRequest.keys().next().value!);
    this.byRequest.set(requestHash.toLowerCase(), Number(callSeq));
  }

  get(requestHash: string): number | undefined {
    return this.byRequest.get(requestHash.toLowerCase());
  }
}
