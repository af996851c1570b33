/**
 * Answers of the validator's `/da/...` routes from the receipt store (receiptStore.ts), with an
 * LRU of prepared batches capped in bytes: a batch's `/batches` body is assembled once (the stored
 * receipts JSON is used verbatim) and its leaves parsed once; a receipt's answer is then a lookup
 * plus a Merkle proof read from the stored tree (log n hashes), never a whole-batch serialization.
 */
import type { Address, Hex } from "viem";
import type { BatchHeader } from "../sdk/types.js";
import type { MerkleTree } from "../sdk/merkle.js";
import type { ReceiptStore } from "./receiptStore.js";
import { daBatchFromJson, type DaLeaf } from "./da.js";

const utf8 = new TextEncoder();
const toJson = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

interface Prepared {
  headerHash: Hex;
  header: BatchHeader;
  body: Uint8Array;
  wire: Record<string, unknown>[];
  leaves: DaLeaf[];
  tree: MerkleTree;
  bytes: number;
}

export interface DaServer {
  /** `/batches`-shaped body of the held batch `gateway`/`batchSeq`. */
  batchBody(gateway: Address, batchSeq: bigint): Uint8Array | undefined;
  /** The held leaf at `callSeq`, its Merkle proof and the header that settles it. */
  receipt(gateway: Address, callSeq: bigint): object | undefined;
  /** Leaves of a held batch (equivocation proofs), from the cache or the store. */
  leaves(headerHash: Hex): { header: BatchHeader; leaves: DaLeaf[]; tree: MerkleTree } | undefined;
  readonly cachedBytes: number;
}

export function createDaServer(store: ReceiptStore, o: { maxCacheBytes: number }): DaServer {
  const lru = new Map<string, Prepared>();
  let bytes = 0;

  function prepare(h: Hex): Prepared | undefined {
    const key = h.toLowerCase();
    const hit = lru.get(key);
    if (hit) {
      lru.delete(key);
      lru.set(key, hit);
      return hit;
    }
    const b = store.get(h);
    if (!b) return undefined;
    const head = `{"gateway":"${b.header.gateway}","header":${toJson(b.header)},"headerHash":"${b.headerHash}","signature":null,"status":"held","receipts":`;
    const body = utf8.encode(`${head}${b.receiptsJson}}`);
    const wire = JSON.parse(b.receiptsJson) as Record<string, unknown>[];
    const leaves = daBatchFromJson(
      { gateway: b.header.gateway, receipts: wire },
      `da.db:${b.headerHash}`,
      b.header.count,
    ).leaves;
    // Rough: the body, the tree, and the parsed leaves (objects cost a few times their JSON).
    const size = body.length + b.tree.nodes.length + 3 * b.receiptsJson.length;
    const p: Prepared = { headerHash: b.headerHash, header: b.header, body, wire, leaves, tree: b.tree, bytes: size };
    if (size <= o.maxCacheBytes) {
      lru.set(key, p);
      bytes += size;
      for (const [k, v] of lru) {
        if (bytes <= o.maxCacheBytes) break;
        lru.delete(k);
        bytes -= v.bytes;
      }
    }
    return p;
  }

  return {
    batchBody(gateway, batchSeq) {
      const h = store.byBatchSeq(gateway, batchSeq);
      return h ? prepare(h)?.body : undefined;
    },
    receipt(gateway, callSeq) {
      const h = store.byCallSeq(gateway, callSeq);
      const p = h ? prepare(h) : undefined;
      if (!p) return undefined;
      const i = Number(callSeq - p.header.firstCallSeq);
      return JSON.parse(
        toJson({
          headerHash: p.headerHash,
          header: p.header,
          index: i,
          root: p.tree.root,
          leaf: { gateway: p.header.gateway, ...p.wire[i] },
          leafHash: p.tree.leaf(i),
          proof: p.tree.proof(i),
        }),
      );
    },
    leaves(h) {
      const p = prepare(h);
      return p ? { header: p.header, leaves: p.leaves, tree: p.tree } : undefined;
    },
    get cachedBytes() {
      return bytes;
    },
  };
}
