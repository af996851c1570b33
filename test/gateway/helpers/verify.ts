/**
 * The settlement invariants the crash, fault and reorg tests check against the real chain and the
 * gateway's store: batches gap-free and each batchSeq settled once, every callSeq ever returned
 * settled exactly once (served with its digest, or void), every durable receipt settled as served,
 * and the store's records hashing to the settled roots.
 */
import assert from "node:assert/strict";
import type { Address, PublicClient } from "viem";
import { buildTree } from "../../../sdk/merkle.js";
import { voidLeaf } from "../../../sdk/hashing.js";
import { Store } from "../../../gateway/store.js";
import { decodeRecord } from "../../../gateway/record/receiptLayout.js";
import { settledBatches, nextSeqs } from "./chain.js";

export interface Ledger {
  /** callSeq → digest over every run; a callSeq returned twice is a reuse. */
  returned: Map<number, string>;
  durable: Set<number>;
  reused: number;
  /** requestHashes of calls a kill interrupted between record() and its report: at most one per run. */
  inFlight: Set<string>;
}

export function newLedger(): Ledger {
  return { returned: new Map(), durable: new Set(), reused: 0, inFlight: new Set() };
}

export function addRun(
  l: Ledger,
  run: { returned: Map<number, string>; durable: Set<number>; inFlight?: string | undefined },
): void {
  if (run.inFlight !== undefined) l.inFlight.add(run.inFlight);
  for (const [seq, digest] of run.returned) {
    if (l.returned.has(seq)) l.reused++;
    l.returned.set(seq, digest);
  }
  for (const s of run.durable) l.durable.add(s);
}

export async function verifySettlement(
  client: PublicClient,
  settlement: Address,
  gateway: Address,
  storeFile: string,
  ledger: Ledger,
) {
  const batches = await settledBatches(client, settlement, gateway);
  const chain = await nextSeqs(client, settlement, gateway);
  assert.equal(ledger.reused, 0, "a callSeq was handed out twice");
  let end = 0;
  batches.forEach((b, i) => {
    assert.equal(b.batchSeq, i, `batchSeq ${b.batchSeq} settled out of order or twice`);
    assert.equal(b.firstCallSeq, end, `batch ${b.batchSeq} starts at ${b.firstCallSeq}, expected ${end}`);
    end += b.count;
  });
  assert.equal(chain.nextBatchSeq, batches.length);
  assert.equal(chain.nextCallSeq, end);
  let maxReturned = -1;
  for (const s of ledger.returned.keys()) if (s > maxReturned) maxReturned = s;
  assert.ok(maxReturned < end, `callSeq ${maxReturned} was returned but the chain settled only up to ${end - 1}`);

  const store = new Store(storeFile, "normal");
  let served = 0;
  let servedUnreported = 0;
  let voided = 0;
  try {
    for (const b of batches) {
      const recs = store.records(b.firstCallSeq, b.count);
      const leaves = new Uint8Array(b.count * 32);
      for (let i = 0; i < b.count; i++) {
        const r = decodeRecord(recs, i, b.firstCallSeq);
        const seq = b.firstCallSeq + i;
        leaves.set(recs.subarray(i * 145 + 112, i * 145 + 144), i * 32);
        const digest = ledger.returned.get(seq);
        if (r.kind === "void") {
          voided++;
          assert.equal(r.leaf, voidLeaf(gateway, seq), `void leaf of ${seq}`);
          assert.ok(!ledger.durable.has(seq), `callSeq ${seq} was reported durable but settled as void`);
        } else {
          served++;
          if (digest === undefined) {
            // Only the call a kill cut off between record() and its report may settle unreported
            // (the root check below still holds its leaf to the store's record).
            assert.ok(
              ledger.inFlight.delete(r.requestHash),
              `callSeq ${seq} settled as served but never returned (not a call in flight at a kill)`,
            );
            servedUnreported++;
          } else {
            assert.equal(r.leaf, digest, `callSeq ${seq}: settled leaf differs from the digest record() returned`);
          }
        }
      }
      assert.equal(
        buildTree(leaves).root,
        b.root,
        `batch ${b.batchSeq}: store records do not hash to the settled root`,
      );
    }
  } finally {
    store.close();
  }
  for (const seq of ledger.durable) assert.ok(seq < end, `durable callSeq ${seq} not settled`);
  return {
    batches: batches.length,
    settled: end,
    served,
    servedUnreported,
    voided,
    returned: ledger.returned.size,
    durable: ledger.durable.size,
  };
}
