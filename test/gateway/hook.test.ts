/**
 * The hook end to end on a real anvil: config and call validation, durable/sealed/settled receipts,
 * the HTTP API (receipt + inclusion proof checked by the contract's verifyReceipt, batch for
 * validators, metrics, health), usage and fee as the contract computes them, store ownership.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, toHex, type Hex } from "viem";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { models, recordCalls, testHook } from "./helpers/hookRun.js";
import { newLedger } from "./helpers/verify.js";
import {
  createHookApp,
  GatewayConfigError,
  InvalidCallError,
  createSettlementHook,
  type SettlementHook,
} from "../../gateway/index.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { Store } from "../../gateway/store.js";
import { SUCCESSOR_META } from "../../gateway/succession.js";
import { batchHeaderSchema } from "../../sdk/types.js";
import { buildTree, verifyProof } from "../../sdk/merkle.js";
import { receiptLeaf } from "../../sdk/hashing.js";
import { recoverReceiptSigner } from "../../sdk/eip712.js";
import { delay } from "../../tools/waitFor.js";
import type { HookConfigInput } from "../../gateway/config.js";
import type { Call } from "../../gateway/index.js";

const h32 = (s: string): Hex => keccak256(toHex(s));

describe("gateway hook (real chain)", function () {
  this.timeout(120_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook;
  const ledger = newLedger();

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-hook-"));
    hook = await testHook({
      store: path.join(dir, "gw.db"),
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      daBaseUrl: "https://gw.example/da/",
    });
  });
  after(async () => {
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("config", () => {
    const base = () => ({
      store: path.join(dir, "cfg.db"),
      enclaveKey: pp.enclaveKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      daBaseUrl: "http://x",
    });
    const cases: [string, (c: Record<string, unknown>) => void][] = [
      ["store", (c) => delete c.store],
      ["store", (c) => (c.store = ":memory:")], // receipts must survive a crash
      ["enclaveKey", (c) => (c.enclaveKey = "0x1234")],
      ["rpcUrl", (c) => (c.rpcUrl = "not a url")],
      ["daBaseUrl", (c) => delete c.daBaseUrl],
      ["settlement", (c) => delete c.settlement],
      ["settlement", (c) => (c.settlement = "0xnope")],
      ["batch.maxCalls", (c) => (c.batch = { maxCalls: 0 })],
      ["batch.maxAgeMs", (c) => (c.batch = { maxAgeMs: "soon" })],
      ["confirmations", (c) => (c.confirmations = -1)],
      ["commitIntervalMs", (c) => (c.commitIntervalMs = -1)],
      ["bogus", (c) => (c.bogus = 1)],
      [
        "deployment",
        (c) => {
          delete c.settlement;
          c.deployment = path.join(dir, "missing.json");
        },
      ],
    ];
    for (const [field, mutate] of cases) {
      it(`test_config_${field}_reverts`, async () => {
        const c: Record<string, unknown> = base();
        mutate(c);
        await assert.rejects(
          createSettlementHook(c as HookConfigInput), // deliberately invalid
          (e: unknown) => e instanceof GatewayConfigError && e.field === field && e.message.includes(field),
        );
      });
    }

    it("test_config_storeOfAnotherGateway_reverts", async () => {
      const other = `0x${"11".repeat(32)}`;
      await assert.rejects(
        testHook({
          store: path.join(dir, "gw.db"),
          enclaveKey: other as Hex,
          rpcUrl: anvil.url,
          settlement: pp.settlement,
        }),
        (e: unknown) => e instanceof GatewayConfigError && e.field === "store",
      );
    });

    it("test_config_storeTakenOverBySuccessor_retiredKeyRefused_reverts", async () => {
      // A successor fenced this store (key succession): the retired key's hook must not record into it.
      const file = path.join(dir, "retired.db");
      const s = new Store(file, "normal");
      s.setMeta(SUCCESSOR_META, "0x000000000000000000000000000000000000bEEF");
      s.close();
      await assert.rejects(
        testHook({ store: file, enclaveKey: pp.enclaveKey, rpcUrl: anvil.url, settlement: pp.settlement }),
        (e: unknown) => e instanceof GatewayConfigError && e.field === "store" && /taken over/.test(e.message),
      );
    });

    it("test_config_predecessorNotSucceeded_keyMayNotSignForIt_reverts", async () => {
      // A dead key's store with callSeqs reserved, but no GatewayRegistry.succeed naming this key.
      const dead = privateKeyToAccount(generatePrivateKey()).address;
      const file = path.join(dir, "dead.db");
      const s = new Store(file, "normal");
      s.setMeta("gateway", dead);
      s.raiseReservation(16);
      s.close();
      await assert.rejects(
        testHook({
          store: path.join(dir, "successor.db"),
          enclaveKey: generatePrivateKey(),
          rpcUrl: anvil.url,
          settlement: pp.settlement,
          predecessors: [{ account: dead, store: file }],
        }),
        (e: unknown) => e instanceof GatewayConfigError && e.field === "predecessors" && /may not sign/.test(e.message),
      );
    });
  });

  describe("record", () => {
    const good = { modelId: h32("m"), requestHash: h32("q"), responseHash: h32("r"), inputTokens: 1, outputTokens: 2 };
    const bad: [string, Record<string, unknown>][] = [
      ["modelId", { modelId: "0x12" }],
      ["modelId", { modelId: 5 }],
      ["requestHash", { requestHash: h32("q").replace("0x", "0y") }],
      ["responseHash", { responseHash: new Uint8Array(31) }],
      ["inputTokens", { inputTokens: -1 }],
      ["inputTokens", { inputTokens: 1.5 }],
      ["outputTokens", { outputTokens: 2 ** 32 }],
      ["outputTokens", { outputTokens: "3" }],
      ["servedAt", { servedAt: -5 }],
    ];
    it("test_record_invalidCall_throwsTypedErrorAndAllocatesNothing_reverts", () => {
      const first = hook.record(good);
      for (const [field, patch] of bad) {
        assert.throws(
          () => hook.record({ ...good, ...patch }),
          (e: unknown) => e instanceof InvalidCallError && e.field === field,
          field,
        );
      }
      assert.throws(() => hook.record(null as unknown as Call), InvalidCallError); // deliberately invalid
      const next = hook.record(good);
      assert.equal(next.callSeq, first.callSeq + 1n, "a rejected call consumed a callSeq");
      ledger.returned.set(Number(first.callSeq), first.digest);
      ledger.returned.set(Number(next.callSeq), next.digest);
    });

    it("test_record_returnsLeafAndSharedDurablePromise_succeeds", async () => {
      const servedAt = 1_700_000_000_123;
      const a = hook.record({ ...good, servedAt, requestHash: h32("a") });
      const b = hook.record({ ...good, servedAt, requestHash: h32("b") });
      assert.equal(a.durable, b.durable, "one promise per group commit");
      assert.equal(
        a.digest,
        receiptLeaf({ gateway: pp.enclave.address, callSeq: a.callSeq, ...good, requestHash: h32("a"), servedAt }),
      );
      await a.durable;
      assert.equal(hook.receipt(Number(a.callSeq))?.durable, true);
      // Read first once durable: the leaf the commit worker computed and stored.
      assert.equal(
        b.digest,
        receiptLeaf({ gateway: pp.enclave.address, callSeq: b.callSeq, ...good, requestHash: h32("b"), servedAt }),
      );
      assert.equal(hook.receipt(Number(b.callSeq))?.receipt.leaf, b.digest);
      ledger.returned.set(Number(a.callSeq), a.digest);
      ledger.returned.set(Number(b.callSeq), b.digest);
    });
  });

  it("test_record_commitInterval_holdsNextGroupCommitBack_succeeds", async () => {
    // Its own deployment and gateway, so a second hook does not share the main one's callSeqs.
    const other = await deployDevNet(anvil);
    const slow = await testHook({
      store: path.join(dir, "interval.db"),
      enclaveKey: other.enclaveKey,
      rpcUrl: anvil.url,
      settlement: other.settlement,
      commitIntervalMs: 300,
      submit: false,
    });
    try {
      // The first commit also waits for the worker to start: warm it, then let the interval pass.
      await slow.record({
        modelId: h32("m"),
        requestHash: h32("0"),
        responseHash: h32("r"),
        inputTokens: 1,
        outputTokens: 1,
      }).durable;
      await delay(350);
      const first = slow.record({
        modelId: h32("m"),
        requestHash: h32("1"),
        responseHash: h32("r"),
        inputTokens: 1,
        outputTokens: 1,
      });
      const sentAt = performance.now(); // this group goes at once (next turn), so no earlier than this
      await first.durable;
      const b = slow.record({
        modelId: h32("m"),
        requestHash: h32("2"),
        responseHash: h32("r"),
        inputTokens: 1,
        outputTokens: 1,
      });
      await delay(20); // later event-loop turns, nothing in flight
      const c = slow.record({
        modelId: h32("m"),
        requestHash: h32("3"),
        responseHash: h32("r"),
        inputTokens: 1,
        outputTokens: 1,
      });
      assert.equal(b.durable, c.durable, "calls within the interval share one group commit");
      assert.equal(slow.receipt(Number(b.callSeq))?.durable, false);
      await c.durable;
      const waited = performance.now() - sentAt;
      assert.ok(
        waited >= 290,
        `the next group went ${waited.toFixed(0)} ms after the first, not after the 300 ms interval`,
      );
      assert.equal(slow.receipt(Number(c.callSeq))?.durable, true);
    } finally {
      await slow.close();
    }
  });

  describe("settlement and HTTP", () => {
    let app: ReturnType<typeof createHookApp>;
    before(async () => {
      app = createHookApp(hook);
      await recordCalls(hook, 200, ledger);
      await hook.flush();
      await hook.settled(60_000);
    });

    it("test_receipt_confirmedWithProof_verifiesOnChain_succeeds", async () => {
      const res = await app.request("/receipts/37");
      assert.equal(res.status, 200);
      const v = (await res.json()) as Record<string, any>;
      assert.equal(v.status, "confirmed");
      assert.equal(v.receipt.leaf, ledger.returned.get(37));
      assert.ok(verifyProof(v.header.root, v.receipt.leaf, v.proof));
      const header = batchHeaderSchema.parse(v.header);
      assert.equal(header.daURI, `https://gw.example/da/batches/${v.batchSeq}`);
      const { kind: _k, leaf: _l, ...fields } = v.receipt;
      const onChain = await anvil.client.readContract({
        address: pp.settlement,
        abi: proofSettlementAbi,
        functionName: "verifyReceipt",
        args: [header, { ...fields, callSeq: BigInt(fields.callSeq), servedAt: BigInt(fields.servedAt) }, v.proof],
      });
      assert.equal(onChain, 1, "proven in a Submitted batch (not final until attested and finalized)");
      const signer = await recoverReceiptSigner(
        hook.domain,
        { ...fields, callSeq: BigInt(fields.callSeq), servedAt: BigInt(fields.servedAt) },
        v.receiptSignature,
      );
      assert.equal(signer, pp.enclave.address);
    });

    it("test_batch_receiptsRebuildRootUsageAndFee_succeeds", async () => {
      const res = await app.request("/batches/1");
      assert.equal(res.status, 200);
      const b = (await res.json()) as Record<string, any>;
      const header = batchHeaderSchema.parse(b.header);
      assert.equal(b.receipts.length, header.count);
      assert.equal(buildTree(b.receipts.map((r: { leaf: Hex }) => r.leaf)).root, header.root);
      assert.deepEqual(
        header.usage.map((u) => u.modelId),
        [...new Set(models)].sort().filter((m) => header.usage.some((u) => u.modelId === m)),
      );
      const calls = header.usage.reduce((a, u) => a + u.calls, 0);
      assert.equal(calls, b.receipts.filter((r: { kind: string }) => r.kind === "served").length);
      const fee = await anvil.client.readContract({
        address: pp.settlement,
        abi: proofSettlementAbi,
        functionName: "computeFee",
        args: [header.usage],
      });
      assert.equal(fee, header.fee);
    });

    it("test_http_badAndUnknownIds_400and404_succeeds", async () => {
      for (const p of [
        "/receipts/-1",
        "/receipts/abc",
        "/receipts/01",
        "/receipts/99999999999999999999",
        "/batches/1.5",
        "/batches/0x1",
      ]) {
        const r = await app.request(p);
        assert.equal(r.status, 400, p);
        assert.match(((await r.json()) as { message: string }).message, /expected a non-negative decimal integer/);
      }
      assert.equal((await app.request("/receipts/100000")).status, 404);
      assert.equal((await app.request("/batches/100000")).status, 404);
      assert.equal((await app.request("/nope")).status, 404);
    });

    it("test_metricsAndHealth_succeeds", async () => {
      const m = await (await app.request("/metrics")).text();
      for (const name of [
        "recorded_total",
        "durable_total",
        "batches_sealed_total",
        "batches_submitted_total",
        "batches_confirmed_total",
        "queue_depth",
        "submit_latency_seconds_bucket",
      ]) {
        assert.match(m, new RegExp(`proofpath_gateway_${name}`), name);
      }
      assert.match(m, /proofpath_gateway_durable_total \d+/);
      const h = await app.request("/health");
      assert.equal(h.status, 200);
      assert.equal(((await h.json()) as { ok: boolean }).ok, true);
    });
  });
});
