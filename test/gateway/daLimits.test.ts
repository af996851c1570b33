/**
 * Cheap denial of service against the public DA endpoints (issue 17, item 7): a stranger hammering
 * `/receipts/:n` and `/batches/:n` gets 429s with Retry-After once past its budget, never a 5xx;
 * a whole batch is served from its cached, precomputed JSON (same bytes every time, and still the
 * receipts that rebuild the root); an oversized URL is a 414. The fast path's latency under such
 * traffic is measured by `npx tsx scripts/bench/daAttack.ts`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent, request } from "node:http";
import type { Hex } from "viem";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import { newLedger } from "./helpers/verify.js";
import { createHookApp, listen, type SettlementHook } from "../../gateway/index.js";
import { buildTree } from "../../sdk/merkle.js";

function get(
  agent: Agent,
  port: number,
  p: string,
): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: p, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers["retry-after"] as string | undefined }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("gateway DA endpoints under hostile traffic", function () {
  this.timeout(120_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook;

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-dalimits-"));
    hook = await testHook({
      store: path.join(dir, "gw.db"),
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
    });
    await recordCalls(hook, 150, newLedger());
    await hook.flush();
  });
  after(async () => {
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_dos_strangerHammersReceiptsAndBatches_429WithRetryAfterNever5xx_reverts", async () => {
    const server = await listen(createHookApp(hook, { perClient: { rate: 20, burst: 40 }, holdRefusedMs: 200 }));
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    try {
      const paths = Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? `/batches/${i % 2}` : `/receipts/${i % 150}`));
      const t0 = performance.now();
      const answers = await Promise.all(paths.map((p) => get(agent, server.port, p)));
      const sec = (performance.now() - t0) / 1000;
      const by: Record<number, number> = {};
      for (const a of answers) by[a.status] = (by[a.status] ?? 0) + 1;
      assert.ok(
        answers.every((a) => a.status < 500),
        JSON.stringify(by),
      );
      // One address gets its burst plus the rate over the time it kept asking, and not one more.
      const budget = 40 + Math.ceil(20 * sec);
      assert.ok(
        (by[200] ?? 0) > 0 && (by[200] ?? 0) <= budget,
        `at most ${budget} answers in ${sec.toFixed(2)} s, got ${JSON.stringify(by)}`,
      );
      assert.equal((by[200] ?? 0) + (by[429] ?? 0), paths.length, JSON.stringify(by));
      for (const a of answers.filter((x) => x.status === 429)) {
        assert.ok(Number(a.retryAfter) >= 1, "429 says when to retry");
        assert.match((JSON.parse(a.body) as { message: string }).message, /retry after/);
      }
      const long = await get(agent, server.port, `/receipts/${"1".repeat(600)}`);
      assert.equal(long.status, 414);
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  it("test_dos_batchServedFromPrecomputedJson_sameBytesAndRebuildsRoot_succeeds", async () => {
    const app = createHookApp(hook);
    const a = await (await app.request("/batches/1")).text();
    const b = await (await app.request("/batches/1")).text();
    assert.equal(a, b);
    const batch = JSON.parse(a) as {
      gateway: string;
      header: { root: Hex; count: string };
      receipts: { leaf: Hex; callSeq: string }[];
    };
    assert.equal(batch.gateway, hook.gateway);
    assert.equal(batch.receipts.length, Number(batch.header.count));
    assert.equal(buildTree(batch.receipts.map((r) => r.leaf)).root, batch.header.root);
    // The same receipts as the per-call view, field for field.
    const one = (await (await app.request(`/receipts/${batch.receipts[3]!.callSeq}`)).json()) as {
      receipt: Record<string, unknown>;
    };
    const { gateway: _g, ...fields } = one.receipt;
    assert.deepEqual(batch.receipts[3], fields);
  });

  it("test_dos_manyClientsPullWholeBatches_bytesCappedByBudget_429WithRetryAfter", async () => {
    // Per-address and request limits wide open: only the byte budget stands between 200 requests
    // for whole batches and the gateway's sockets.
    const open = { perClient: { rate: 1e6, burst: 1e6 }, global: { rate: 1e6, burst: 1e6 }, maxInFlight: 1e6 };
    const one = (await (await createHookApp(hook, open, open).request("/batches/0")).arrayBuffer()).byteLength;
    const burst = one * 3; // three batches at once, then `rate` bytes/s
    const rate = one * 2;
    const app = createHookApp(hook, open, open, { rate, burst });
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 200 }, () => app.request("/batches/0")));
    const sec = (performance.now() - t0) / 1000;
    const ok = answers.filter((a) => a.status === 200).length;
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(ok + refused.length, answers.length);
    assert.ok(ok >= 3 && ok <= 3 + Math.ceil(2 * sec) + 1, `${ok} batches sent in ${sec.toFixed(2)} s`);
    for (const a of refused) {
      assert.ok(Number(a.headers.get("retry-after")) >= 1);
      assert.match(((await a.json()) as { message: string }).message, /batch bytes; retry after/);
    }
  });
});
