/**
 * The indexer on Postgres, end to end: a real anvil chain, a real Postgres cluster, a real
 * `ponder start` process. Statuses and rollups through REST, GraphQL, SQL over HTTP and a direct
 * pg query; the dashboard in headless Chromium; API fuzzing; an anvil reorg that removes a batch.
 */
import assert from "node:assert/strict";
import pg from "pg";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { checkDashboard } from "./helpers/dashboard.js";
import { fuzzApi } from "./helpers/fuzz.js";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { startPostgres, type Postgres } from "../../indexer/harness/postgres.js";
import { MODELS, setupProtocol, type Protocol } from "./helpers/protocol.js";
import {
  checkGraphql,
  checkRest,
  checkSql,
  expectedTotals,
  idOf,
  runScenario,
  sqlOverHttp,
  type Expected,
} from "./helpers/scenario.js";
import { waitFor } from "../../tools/waitFor.js";

describe("indexer on Postgres", function () {
  this.timeout(600_000);
  let anvil: DevChain;
  let postgres: Postgres;
  let protocol: Protocol;
  let expected: Expected;
  let ponder: Ponder;

  before(async () => {
    anvil = await startDevChain();
    postgres = await startPostgres();
    protocol = await setupProtocol(anvil.url, anvil.rpc);
    expected = await runScenario(protocol);
    ponder = await startPonder({
      deploymentFile: protocol.deploymentFile,
      rpcUrl: anvil.url,
      databaseUrl: postgres.url,
      logName: "postgres",
    });
    await ponder.waitForBlock(expected.lastBlock, 240_000);
  });

  after(async () => {
    await ponder?.stop();
    await anvil?.stop();
    postgres?.stop();
  });

  it("test_rest_scenarioIndexed_reportsStatusesAndRollups", async () => {
    await checkRest(ponder, expected);
  });

  it("test_rest_anyOriginSimpleOrPreflight_corsAllowsIt", async () => {
    // Ponder's CORS is patched (patches/ponder+0.16.10.patch) to set the header after the handler.
    const get = await fetch(`${ponder.url}/network/stats`, { headers: { origin: "https://dashboard.example" } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("access-control-allow-origin"), "*");
    assert.equal(get.headers.get("content-type"), "application/json");
    await get.arrayBuffer();
    const pre = await fetch(`${ponder.url}/calls/0x${"11".repeat(20)}/1`, {
      method: "OPTIONS",
      headers: {
        origin: "https://dashboard.example",
        "access-control-request-method": "GET",
        "access-control-request-headers": "content-type",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*");
    assert.equal(pre.headers.get("access-control-max-age"), "86400");
    assert.equal(pre.headers.get("access-control-allow-headers"), "content-type");
  });

  it("test_graphql_scenarioIndexed_reportsSameStatusesAndRollups", async () => {
    await checkGraphql(ponder, expected);
  });

  it("test_sql_overHttpAndDirectPostgres_reportsSameStatusesAndTotals", async () => {
    await checkSql(ponder, expected);
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; status: string; calls: number }>(
        `select id, status, calls from "${ponder.schema}".batch order by id`,
      );
      assert.deepEqual(
        rows.map((r) => [r.id, r.status]),
        expected.batches.map((b) => [idOf(b.header), b.status]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
      );
      const { rows: net } = await client.query<{ calls_settled: string }>(
        `select calls_settled::text from "${ponder.schema}".network`,
      );
      assert.equal(net[0]!.calls_settled, String(expectedTotals(expected).callsSettled));
    } finally {
      await client.end();
    }
  });

  it("test_attack_sqlNotJsonOrRefused_answered400WithTheReason", async () => {
    // Ponder answered both with a 500: a malformed parameter, and a query it refuses (a write).
    const notJson = await ponder.get("/sql/db?sql=not-json");
    assert.equal(notJson.status, 400);
    assert.deepEqual(await notJson.json(), { error: "sql: not JSON" });
    const write = await ponder.get(
      `/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql: "delete from batch", params: [] } }))}`,
    );
    assert.equal(write.status, 400);
    assert.match(((await write.json()) as { error: string }).error, /^query refused: /);
  });

  it("test_attack_crossJoinFlood_extraQueriesGet503AndRestKeepsAnswering", async function () {
    // A cross join of the batch table with itself is a valid read-only query that runs for seconds
    // (up to the read-only pool's 30 s statement timeout): a few at once used to hold every
    // connection the REST routes share. Now at most sqlMaxInFlight (2) run; the rest are 503 at once.
    this.timeout(120_000);
    const n = (await sqlOverHttp<{ n: number }>(ponder, "select count(*)::int as n from batch"))[0]!.n;
    const k = Math.max(2, Math.ceil(7.5 / Math.log10(Math.max(n, 2)))); // ~3e7 rows: seconds
    const from = Array.from({ length: k }, (_, i) => `batch t${i}`).join(", ");
    const q = encodeURIComponent(JSON.stringify({ json: { sql: `select count(*) from ${from}`, params: [] } }));
    const flood = Array.from({ length: 6 }, () => ponder.get(`/sql/db?sql=${q}`));
    const h = expected.batches[0]!.header;
    const t0 = performance.now();
    const call = await ponder.get(`/calls/${h.gateway}/${h.firstCallSeq}`);
    const callMs = performance.now() - t0;
    assert.equal(call.status, 200);
    const answers = await Promise.all(flood.map(async (r) => `${(await r).status} ${await (await r).text()}`));
    assert.equal(answers.filter((a) => a.startsWith("503") && a.includes("busy")).length, 4, answers.join("\n"));
    assert.ok(callMs < 10_000, `GET /calls took ${callMs.toFixed(0)} ms beside the flood`);
  });

  it("test_dashboard_scenarioIndexed_showsChartsValidatorsGatewaysAndEachCallStatus", async () => {
    const statuses = new Map(expected.batches.map((b) => [b.status, b]));
    assert.equal(statuses.size, 4);
    await checkDashboard(ponder, {
      lookups: [...statuses.values()].map((b) => ({
        gateway: b.header.gateway,
        callSeq: b.header.firstCallSeq,
        status: b.status,
      })),
      validators: Object.fromEntries(expected.validators.map((v) => [v.address.toLowerCase(), v.status])),
      gateways: Object.fromEntries(
        expected.gateways.map((g) => [
          g.address.toLowerCase(),
          g.address === expected.equivocator ? "slashed" : "active",
        ]),
      ),
    });
  });

  it("test_attack_fuzzesParametersAndInjectsSql_never5xxAndNothingChangedOrLeaked", async () => {
    const before = {
      stats: await ponder.getJson("/network/stats"),
      batches: await ponder.getJson("/batches?limit=1000"),
    };
    const h = expected.batches[0]!.header;
    const { statuses } = await fuzzApi(
      ponder,
      { gateway: h.gateway, callSeq: h.firstCallSeq.toString(), batchId: idOf(h) },
      Number(process.env.FUZZ_RUNS ?? 1000),
    );
    assert.ok((statuses[400] ?? 0) > 0 && (statuses[200] ?? 0) > 0, JSON.stringify(statuses));
    assert.deepEqual(await ponder.getJson("/network/stats"), before.stats);
    assert.deepEqual(await ponder.getJson("/batches?limit=1000"), before.batches);
  });

  it("test_reorg_removesIndexedBatch_statusAndRollupsGoBack", async () => {
    const gw2 = expected.gateways[1]!;
    const snapshot = async () => ({
      stats: await ponder.getJson("/network/stats"),
      usage: await ponder.getJson(`/gateways/${gw2.address}/usage?granularity=day&from=0&to=9999999999`),
      models: await ponder.getJson("/models/usage?granularity=hour&from=0&to=9999999999"),
      gateway: await ponder.getJson(`/gateways/${gw2.address}`),
    });
    const before = await snapshot();
    const { header, block } = await protocol.submit(
      Array.from({ length: 5 }, () => ({ modelId: MODELS.llama, inputTokens: 11, outputTokens: 22 })),
      { gw: gw2 },
    );
    await ponder.waitForBlock(block);
    const call = await ponder.getJson(`/calls/${gw2.address}/${header.firstCallSeq}`);
    assert.equal(call.status, "submitted");
    const during = await ponder.getJson("/network/stats");
    assert.equal(BigInt(during.callsSettled), BigInt(before.stats.callsSettled) + 5n);

    // Replace the block holding the batch with an empty one, then build on the new branch.
    const head = BigInt(await anvil.rpc<string>("eth_blockNumber"));
    await anvil.rpc("anvil_reorg", [Number(head - block) + 1, []]);
    await anvil.rpc("evm_mine", []);
    await anvil.rpc("evm_mine", []);
    const receipt = await anvil.rpc("eth_getTransactionReceipt", [call.txs.submit]);
    assert.equal(receipt, null, "the batch transaction is gone from the chain");

    await waitFor(
      "the indexer to drop the reorged batch",
      async () => (await ponder.getJson(`/calls/${gw2.address}/${header.firstCallSeq}`)).status === "pending",
      60_000,
    );
    const newHead = BigInt(await anvil.rpc<string>("eth_blockNumber"));
    await ponder.waitForBlock(newHead);
    const res = await ponder.get(`/batches/${idOf(header)}`);
    assert.equal(res.status, 404);
    assert.deepEqual(await snapshot(), before);
  });
});
