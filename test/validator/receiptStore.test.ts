/**
 * The validator's DA store and its serving layer without a chain: durable rows across reopen,
 * lookups by batchSeq and callSeq, retention after a batch concludes, the byte-capped cache, and
 * the /da routes' rate limit.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { hashHeader, receiptLeaf, voidLeaf } from "../../sdk/hashing.js";
import { buildTree, verifyProof } from "../../sdk/merkle.js";
import type { BatchHeader } from "../../sdk/types.js";
import type { ValidatorAppDeps } from "../../validator/http.js";
import type { DaLeaf } from "../../validator/da.js";
import { openReceiptStore } from "../../validator/receiptStore.js";
import { createDaServer } from "../../validator/daServe.js";
import { createValidatorApp } from "../../validator/http.js";
import { createMetrics } from "../../validator/metrics.js";
import { makeLeaves } from "./helpers/setup.js";

const gateway = privateKeyToAccount(generatePrivateKey()).address as Address;
const leafOf = (l: DaLeaf) => (l.kind === "served" ? receiptLeaf(l.receipt) : voidLeaf(l.gateway, l.callSeq));

function batch(batchSeq: bigint, first: bigint, n: number) {
  const leaves = makeLeaves(gateway, first, n, [1]);
  const tree = buildTree(leaves.map(leafOf));
  const header: BatchHeader = {
    gateway,
    batchSeq,
    firstCallSeq: first,
    count: n,
    root: tree.root,
    usage: [],
    fee: 0n,
    firstServedAt: 0n,
    lastServedAt: 0n,
    daURI: `http://gw.example/batches/${batchSeq}`,
  };
  return { header, headerHash: hashHeader(header) as Hex, da: { gateway, leaves }, tree };
}

describe("validator DA store (da.db) and /da serving", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "pp-da-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("test_receiptStore_reopened_findsBatchesBySeqAndPrunesOnlyConcludedAfterRetention", () => {
    const file = path.join(dir, "da.db");
    let s = openReceiptStore(file);
    const a = batch(0n, 0n, 5);
    const b = batch(1n, 5n, 3);
    s.put(a);
    s.put(b);
    s.put(a); // idempotent
    s.close();
    s = openReceiptStore(file);
    assert.equal(s.count(), 2);
    assert.equal(s.byBatchSeq(gateway, 1n), b.headerHash);
    assert.equal(s.byCallSeq(gateway, 4n), a.headerHash);
    assert.equal(s.byCallSeq(gateway, 5n), b.headerHash);
    assert.equal(s.byCallSeq(gateway, 8n), undefined);
    assert.equal(s.get(a.headerHash)!.tree.root, a.tree.root);
    s.concluded(a.headerHash, 1_000);
    assert.equal(s.prune(1_000), 0, "not before the retention ends");
    assert.equal(s.prune(1_001), 1);
    assert.equal(s.has(a.headerHash), false);
    assert.equal(s.has(b.headerHash), true, "an unconcluded batch is never pruned");
    s.close();
  });

  it("test_daServer_receiptLookup_leafProvesSettledRootAndCacheBoundedInBytes", () => {
    const s = openReceiptStore(path.join(dir, "da.db"));
    const batches = [batch(0n, 0n, 40), batch(1n, 40n, 40), batch(2n, 80n, 40)];
    for (const x of batches) s.put(x);
    const one = createDaServer(s, { maxCacheBytes: 1 << 30 });
    one.batchBody(gateway, 0n);
    const perBatch = one.cachedBytes;
    const da = createDaServer(s, { maxCacheBytes: Math.floor(perBatch * 1.5) });
    for (const x of batches) da.batchBody(gateway, x.header.batchSeq);
    assert.ok(da.cachedBytes <= perBatch * 1.5, `cache ${da.cachedBytes} > cap`);
    const r = da.receipt(gateway, 41n) as {
      leafHash: Hex;
      proof: Hex[];
      header: { root: Hex };
      index: number;
      leaf: { kind: string };
    };
    assert.equal(r.index, 1);
    assert.equal(r.leaf.kind, "void");
    assert.equal(r.leafHash, leafOf(batches[1]!.da.leaves[1]!));
    assert.ok(verifyProof(batches[1]!.tree.root, r.leafHash, r.proof));
    s.close();
  });

  it("test_daServer_pastRateLimit_429", async () => {
    const s = openReceiptStore(path.join(dir, "da.db"));
    s.put(batch(0n, 0n, 4));
    const app = createValidatorApp({
      signing: { get: () => undefined } as unknown as ValidatorAppDeps["signing"], // only get() is reached
      metrics: createMetrics(),
      health: () => ({ ok: true }),
      challenge: async () => "0x",
      approve: async () => {
        throw new Error("unused");
      },
      onError: () => undefined,
      da: createDaServer(s, { maxCacheBytes: 1 << 20 }),
      daLimits: { perClient: { rate: 1, burst: 3 }, holdRefusedMs: 0 },
    });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await app.request(`/da/receipts/${gateway}/2`)).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    s.close();
  });
});
