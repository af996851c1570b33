/**
 * Crash safety: the indexer is SIGKILLed in the middle of a backfill of thousands of batches, then
 * started again on the same Postgres schema. It must resume and end in exactly the state the chain
 * implies (no batch lost, none counted twice).
 */
import assert from "node:assert/strict";
import pg from "pg";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { waitFor } from "../../tools/waitFor.js";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { startPostgres, type Postgres } from "../../indexer/harness/postgres.js";
import { MODELS, setupProtocol, type Header, type Protocol } from "./helpers/protocol.js";

const BATCHES = Number(process.env.RESTART_BATCHES ?? 3000);
// Spread over ~75 blocks: Ponder commits a backfill in block-range chunks (~26 blocks here), so the
// kill below lands between two commits.
const PER_BLOCK = 40;

describe("indexer killed mid-backfill", function () {
  this.timeout(900_000);
  let anvil: DevChain;
  let postgres: Postgres;
  let protocol: Protocol;
  let headers: Header[];
  let attested: Header[];
  let lastBlock: bigint;
  const ponders: Ponder[] = [];

  before(async () => {
    anvil = await startDevChain();
    postgres = await startPostgres();
    protocol = await setupProtocol(anvil.url, anvil.rpc);
    const models = [MODELS.llama, MODELS.mistral, MODELS.qwen];
    headers = await protocol.submitMany(
      Array.from({ length: BATCHES }, (_, i) =>
        Array.from({ length: 1 + (i % 3) }, (_, j) => ({
          modelId: models[(i + j) % 3]!,
          inputTokens: 10 + i,
          outputTokens: 20 + j,
        })),
      ),
      { perBlock: PER_BLOCK },
    );
    attested = headers.slice(0, 100);
    await protocol.attest(attested);
    // Push everything past Ponder's 30-block finality window, so it is a backfill, not live sync.
    await anvil.rpc("anvil_mine", ["0x40"]);
    lastBlock = BigInt(await anvil.rpc<string>("eth_blockNumber"));
  });

  after(async () => {
    for (const p of ponders) await p.stop("SIGKILL");
    await anvil?.stop();
    postgres?.stop();
  });

  it("test_indexer_sigkilledMidBackfill_resumesToSameStateWithoutDoubleCounting", async () => {
    const schema = `restart_${Date.now().toString(36)}`;
    const opts = { deploymentFile: protocol.deploymentFile, rpcUrl: anvil.url, databaseUrl: postgres.url, schema };
    const first = await startPonder({ ...opts, logName: `${schema}-1` });
    ponders.push(first);
    // Kill once the backfill has begun writing batches but before it is done.
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      // Kill once the backfill has committed its first chunk of batches but not the rest, so the
      // restart has to resume from a checkpoint in the middle (where double counting would show).
      const committed = async () =>
        client.query<{ n: string }>(`select count(*)::text as n from "${schema}".batch`).then(
          (r) => Number(r.rows[0]!.n),
          () => 0,
        );
      await waitFor("the backfill to commit a first chunk", async () => (await committed()) > 0, 300_000, 50);
      const ready = await first.get("/ready").then(
        (r) => r.ok,
        () => false,
      );
      await first.stop("SIGKILL");
      const partial = await committed();
      assert.equal(ready, false, "still backfilling when killed");
      assert.ok(partial > 0 && partial < BATCHES, `killed in the middle (${partial}/${BATCHES} batches committed)`);

      const second = await startPonder({ ...opts, logName: `${schema}-2` });
      ponders.push(second);
      await second.waitForBlock(lastBlock, 300_000);

      const stats = await second.getJson("/network/stats");
      const calls = headers.reduce((n, h) => n + h.count, 0);
      assert.equal(stats.batchesSubmitted, BATCHES);
      assert.equal(stats.batchesAttested, attested.length);
      assert.equal(stats.callsSettled, String(calls));
      assert.equal(stats.feesSubmitted, headers.reduce((n, h) => n + h.fee, 0n).toString());
      const { rows } = await client.query<{ n: string; calls: string; fees: string; distinct_seq: string }>(
        `select count(*)::text as n, sum(calls)::text as calls, sum(fee)::text as fees, count(distinct first_call_seq)::text as distinct_seq from "${schema}".batch`,
      );
      assert.deepEqual(rows[0], {
        n: String(BATCHES),
        calls: String(calls),
        fees: stats.feesSubmitted,
        distinct_seq: String(BATCHES),
      });
      const { rows: roll } = await client.query<{ calls: string; batches: string }>(
        `select sum(calls)::text as calls, sum(batches)::text as batches from "${schema}".gateway_rollup where period = 'day'`,
      );
      assert.deepEqual(roll[0], { calls: String(calls), batches: String(BATCHES) });
      // The per-call lookup (as the API runs it, on one chain) is one backward probe of the
      // (chain_id, gateway, first_call_seq) index, not a scan.
      await client.query(`analyze "${schema}".batch`);
      const plan = await client.query<{ "QUERY PLAN": string }>(
        `explain select * from "${schema}".batch where chain_id = $3 and gateway = $1 and first_call_seq <= $2 order by first_call_seq desc limit 1`,
        [headers[0]!.gateway.toLowerCase(), "1234", 31337],
      );
      assert.match(plan.rows.map((r) => r["QUERY PLAN"]).join("\n"), /Index Scan Backward using/);
      const last = headers.at(-1)!;
      const call = await second.getJson(`/calls/${last.gateway}/${last.firstCallSeq}`);
      assert.equal(call.batch.batchSeq, last.batchSeq.toString());
      assert.equal((await second.getJson(`/calls/${attested[0]!.gateway}/0`)).status, "attested");
    } finally {
      await client.end();
    }
  });
});
