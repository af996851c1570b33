/**
 * One indexer following two chains (two anvils, chain ids 31337 and 31338) on which the same enclave
 * key settles different batches: every answer names its chain and holds only that chain's rows (the
 * key's batch 0 exists twice and never merges), and a chain whose RPC hangs neither stalls the other
 * chain nor itself when it has a fallback RPC.
 */
import assert from "node:assert/strict";
import { generatePrivateKey } from "viem/accounts";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { waitFor } from "../../tools/waitFor.js";
import { launchBrowser } from "../helpers/browser.js";
import { setupProtocol, type Protocol } from "./helpers/protocol.js";
import { startRpcProxy, type RpcProxy } from "./helpers/rpcProxy.js";

const A = 31337;
const B = 31338;
const MODEL = `0x${"ab".repeat(32)}` as const;
const calls = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ modelId: MODEL, inputTokens: 10 + i, outputTokens: 5 }));

describe("indexer: several chains", function () {
  this.timeout(900_000);
  let anvilA: DevChain;
  let anvilB: DevChain;
  let pa: Protocol;
  let pb: Protocol;
  /** Chain A's preferred RPC (a proxy a test can hang), and its fallback (the same node, answering 150 ms slower,
   *  so that Ponder prefers the primary until it fails). */
  let primaryA: RpcProxy;
  let fallbackA: RpcProxy;
  /** Chain B's only RPC. */
  let onlyB: RpcProxy;
  let ponder: Ponder;
  let gw: string;

  before(async () => {
    [anvilA, anvilB] = await Promise.all([startDevChain({ chainId: A }), startDevChain({ chainId: B })]);
    const gatewayKey = generatePrivateKey();
    [pa, pb] = await Promise.all([
      setupProtocol(anvilA.url, anvilA.rpc, { chainId: A, gatewayKey }),
      setupProtocol(anvilB.url, anvilB.rpc, { chainId: B, gatewayKey }),
    ]);
    gw = pa.gateway.address.toLowerCase();
    assert.equal(pb.gateway.address.toLowerCase(), gw, "one key on both chains");
    // Chain A: batches 0 (3 calls, attested and finalized) and 1 (2 calls). Chain B: batch 0 (5 calls), pending.
    const a0 = await pa.submit(calls(3));
    await pa.submit(calls(2));
    await pa.attest([a0.header]);
    await pa.passChallengeWindow();
    await pa.finalize([a0.header]);
    await pb.submit(calls(5));
    [primaryA, fallbackA, onlyB] = await Promise.all([
      startRpcProxy(anvilA.url),
      startRpcProxy(anvilA.url, { delayMs: 150 }),
      startRpcProxy(anvilB.url),
    ]);
    ponder = await startPonder({
      chains: [
        { deployment: pa.deploymentFile, rpcUrls: [primaryA.url, fallbackA.url], name: "chain A" },
        { deployment: pb.deploymentFile, rpcUrls: [onlyB.url], name: "chain B", pollingIntervalMs: 250 },
      ],
      logName: "chains",
    });
    await ponder.waitForBlock(await anvilA.client.getBlockNumber(), 300_000, `proofpath_${A}`);
    await ponder.waitForBlock(await anvilB.client.getBlockNumber(), 300_000, `proofpath_${B}`);
  });

  after(async () => {
    await ponder?.stop();
    await Promise.all([primaryA?.close(), fallbackA?.close(), onlyB?.close()]);
    await Promise.all([anvilA?.stop(), anvilB?.stop()]);
  });

  it("test_indexer_sameGatewayKeyOnTwoChains_answersEachChainSeparately", async () => {
    const batchA = await ponder.getJson(`/batches/${gw}:0?chainId=${A}`);
    const batchB = await ponder.getJson(`/batches/${gw}:0?chainId=${B}`);
    assert.deepEqual(
      [batchA.chainId, batchA.count, batchA.status, batchA.final],
      [A, 3, "finalized", true],
      "chain A's batch 0",
    );
    assert.deepEqual([batchB.chainId, batchB.count, batchB.status, batchB.final], [B, 5, "submitted", false]);
    assert.equal(batchA.id, batchB.id, "the same id on both chains: two rows, told apart by chainId");
    assert.notEqual(batchA.root, batchB.root);

    // No chainId: the default chain (the first configured), and the answer says so.
    const dflt = await ponder.getJson(`/batches/${gw}:0`);
    assert.deepEqual([dflt.chainId, dflt.count], [A, 3]);

    const gwA = await ponder.getJson(`/gateways/${gw}?chainId=${A}`);
    const gwB = await ponder.getJson(`/gateways/${gw}?chainId=${B}`);
    assert.deepEqual([gwA.chainId, gwA.batches, gwA.calls, gwA.nextCallSeq], [A, 2, "5", "5"]);
    assert.deepEqual([gwB.chainId, gwB.batches, gwB.calls, gwB.nextCallSeq], [B, 1, "5", "5"]);

    // callSeq 3 is in chain A's batch 1 (calls 3–4) but in chain B's batch 0 (calls 0–4).
    const callA = await ponder.getJson(`/calls/${gw}/3?chainId=${A}`);
    const callB = await ponder.getJson(`/calls/${gw}/3?chainId=${B}`);
    assert.deepEqual([callA.chainId, callA.batch.batchSeq, callA.index, callA.status], [A, "1", "0", "submitted"]);
    assert.deepEqual([callB.chainId, callB.batch.batchSeq, callB.index, callB.status], [B, "0", "3", "submitted"]);
    const pendingB = await ponder.getJson(`/calls/${gw}/5?chainId=${B}`);
    assert.deepEqual([pendingB.chainId, pendingB.status], [B, "pending"]);

    const listB = await ponder.getJson(`/batches?chainId=${B}`);
    assert.equal(listB.chainId, B);
    assert.deepEqual(
      listB.items.map((b: { chainId: number; id: string }) => [b.chainId, b.id]),
      [[B, `${gw}:0`]],
    );
    const statsA = await ponder.getJson(`/network/stats?chainId=${A}`);
    const statsB = await ponder.getJson(`/network/stats?chainId=${B}`);
    assert.deepEqual(
      [statsA.chainId, statsA.batchesSubmitted, statsA.batchesFinalized, statsA.callsSettled],
      [A, 2, 1, "5"],
    );
    assert.deepEqual(
      [statsB.chainId, statsB.batchesSubmitted, statsB.batchesFinalized, statsB.callsSettled],
      [B, 1, 0, "5"],
    );
    const usageB = await ponder.getJson(`/gateways/${gw}/usage?chainId=${B}&from=0`);
    assert.equal(usageB.chainId, B);
    assert.deepEqual(
      usageB.buckets.map((u: { calls: string; batches: number }) => [u.calls, u.batches]),
      [["5", 1]],
    );
    const validatorsB = await ponder.getJson(`/validators?chainId=${B}`);
    assert.ok(validatorsB.items.length > 0 && validatorsB.items.every((v: { chainId: number }) => v.chainId === B));

    const config = await ponder.getJson("/config");
    assert.equal(config.chainId, A);
    assert.deepEqual(
      config.chains.map((c: { chain: { id: number; name: string } }) => [c.chain.id, c.chain.name]),
      [
        [A, "chain A"],
        [B, "chain B"],
      ],
    );
    assert.equal(
      (await ponder.getJson(`/config?chainId=${B}`)).contracts.ProofSettlement,
      pb.deployment.contracts.ProofSettlement,
    );

    // A chain this indexer does not follow is an error, never an empty (or another chain's) answer.
    const res = await ponder.get(`/batches/${gw}:0?chainId=1`);
    assert.equal(res.status, 400);
    assert.equal((await res.json()).field, "chainId");

    // GraphQL: the rows carry their chain; the key's batch 0 is two rows.
    const gql = await fetch(`${ponder.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `{ batchs(where: { gateway: "${gw}", batchSeq: "0" }, orderBy: "chainId") { items { chainId id count gateway { chainId batches batchList { items { chainId batchSeq } } } } } }`,
      }),
    });
    const body = (await gql.json()) as { data: { batchs: { items: unknown[] } }; errors?: unknown };
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    assert.deepEqual(body.data.batchs.items, [
      {
        chainId: A,
        id: `${gw}:0`,
        count: 3,
        gateway: {
          chainId: A,
          batches: 2,
          batchList: {
            items: [
              { chainId: A, batchSeq: "0" },
              { chainId: A, batchSeq: "1" },
            ],
          },
        },
      },
      {
        chainId: B,
        id: `${gw}:0`,
        count: 5,
        gateway: { chainId: B, batches: 1, batchList: { items: [{ chainId: B, batchSeq: "0" }] } },
      },
    ]);
  });

  it("test_dashboard_chainIdInPageUrl_showsThatChainAndLinksTheOthers", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const api: string[] = [];
      page.on("request", (r) => {
        const u = new URL(r.url());
        if (u.pathname !== "/" && !/\.(js|css|html)$/.test(u.pathname)) api.push(u.pathname + u.search);
      });
      await page.goto(`${ponder.url}/?chainId=${B}`, { waitUntil: "load" });
      await page.waitForFunction(
        () => (window as any).__dashboard?.ready === true || (window as any).__dashboard?.errors.length > 0,
        null,
        { timeout: 30_000 },
      );
      assert.deepEqual(await page.evaluate(() => (window as any).__dashboard.errors), []);
      assert.match((await page.textContent("#chain")) ?? "", /^chain B \(chain 31338\) · chain A$/);
      assert.equal(await page.getAttribute("#chain a", "href"), `?chainId=${A}`);
      // Every API request the page made asked about chain B.
      assert.ok(api.length > 3, api.join(" "));
      for (const r of api) assert.match(r, new RegExp(`[?&]chainId=${B}(&|$)`), r);
      const gateways = await page.$$eval("#gateways tbody tr", (trs) =>
        trs.map((tr) => (tr as HTMLElement).dataset.address),
      );
      assert.deepEqual(gateways, [gw]);
    } finally {
      await browser.close();
    }
  });

  it("test_attack_hangingRpcs_fallbackRpcAndPerChainOrderingKeepAnswersLive", async () => {
    // Ponder routes by measured latency: the preferred RPC (150 ms faster) is in use while it answers.
    // (Not a strict majority: on a loaded machine the latencies it measures are noisy.)
    assert.ok(primaryA.forwarded > 0, `${primaryA.forwarded} vs ${fallbackA.forwarded}`);
    const fallbackBefore = fallbackA.forwarded;
    // Chain A's preferred RPC and chain B's only RPC stop answering (accept, never reply).
    primaryA.setHang(true);
    onlyB.setHang(true);
    const started = Date.now();
    const a2 = await pa.submit(calls(4));
    await pb.submit(calls(1));
    // Chain A keeps indexing through its fallback, and chain B's stall does not hold it back.
    await waitFor(
      "chain A's new batch through the fallback RPC while chain B is stalled",
      async () => (await ponder.get(`/batches/${gw}:${a2.header.batchSeq}?chainId=${A}`)).ok,
      120_000,
      250,
    );
    const liveAfterMs = Date.now() - started;
    assert.ok(primaryA.hung > 0, "the indexer did ask the hanging primary");
    assert.ok(fallbackA.forwarded > fallbackBefore, "and the fallback answered instead");
    const b1 = await ponder.get(`/batches/${gw}:1?chainId=${B}`);
    assert.equal(b1.status, 404, "chain B's RPC hangs: its new batch is not indexed yet");
    // Chain B's earlier answers are still served (the API reads the database, not the RPC).
    assert.equal((await ponder.getJson(`/gateways/${gw}?chainId=${B}`)).batches, 1);
    console.log(
      `      chain A live ${liveAfterMs} ms after its primary hung; ` +
        `requests hung: primary A ${primaryA.hung}, only B ${onlyB.hung}; ` +
        `fallback A answered ${fallbackA.forwarded - fallbackBefore}`,
    );

    // Chain B's RPC comes back: it catches up on its own.
    onlyB.setHang(false);
    await waitFor(
      "chain B to catch up once its RPC answers again",
      async () => (await ponder.get(`/batches/${gw}:1?chainId=${B}`)).ok,
      180_000,
      250,
    );
    const gwB = await ponder.getJson(`/gateways/${gw}?chainId=${B}`);
    assert.deepEqual([gwB.chainId, gwB.batches, gwB.calls], [B, 2, "6"]);
    const gwA = await ponder.getJson(`/gateways/${gw}?chainId=${A}`);
    assert.deepEqual([gwA.chainId, gwA.batches, gwA.calls], [A, 3, "9"]);
  });
});
