/**
 * Whole-batch DA answers kept as the bytes sent: built once per batch (again only when its head
 * moves: status, header, signature, tx), in a least-recently-used cache bounded by bytes, and sent
 * as they are. A flood of `/batches/:n` then costs the DA thread one row lookup per request and the
 * socket writes: no JSON work, no buffer built or copied per request.
 */
import type { BatchRow } from "../store.js";

export type BatchMeta = Omit<BatchRow, "tree">;

export interface BatchAnswer {
  /** The row the answer was built from. */
  meta: BatchMeta;
  /** The whole answer, UTF-8 JSON. */
  body: Buffer;
  /** Bytes of `body` before the receipts array (0 when not split so). */
  headLen: number;
}

/** True when an answer built from `a` is still the answer for `b` (the receipts never change). */
function sameHead(a: BatchMeta, b: BatchMeta): boolean {
  return (
    a.status === b.status &&
    a.header === b.header &&
    a.signature === b.signature &&
    a.txHash === b.txHash &&
    a.blockHash === b.blockHash &&
    a.blockNumber === b.blockNumber
  );
}

export class BatchAnswers {
  private readonly entries = new Map<string, BatchAnswer>();
  private bytes = 0;
  /** Answers built (misses and head changes), for tests. */
  built = 0;

  /** `maxBytes`: bytes kept in all; an answer larger than a quarter of it is built per request. */
  constructor(private readonly maxBytes: number) {}

  /**
   * The answer under `key` for the stored row `meta`; `build` makes it on a miss or when the head
   * moved (given the stale answer, whose receipts bytes it may reuse).
   */
  get(key: string, meta: BatchMeta, build: (stale?: BatchAnswer) => Omit<BatchAnswer, "meta">): BatchAnswer {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // most recently used last
      this.bytes -= hit.body.length;
      if (sameHead(hit.meta, meta)) {
        this.entries.set(key, hit);
        this.bytes += hit.body.length;
        return hit;
      }
    }
    this.built++;
    const a = { meta, ...build(hit) };
    if (a.body.length <= this.maxBytes / 4) {
      while (this.bytes + a.body.length > this.maxBytes && this.entries.size) {
        const [k, v] = this.entries.entries().next().value!;
        this.entries.delete(k);
        this.bytes -= v.body.length;
      }
      this.entries.set(key, a);
      this.bytes += a.body.length;
    }
    return a;
  }
}
