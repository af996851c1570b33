/**
 * Rollup read cost on a large `batch` table (`npm run bench:rollups`): the indexer backfills a small
 * chain, then BENCH_ROWS (default 1,000,000) synthetic batches spread over BENCH_DAYS (default 365)
 * days are added beside its rows, the tables vacuumed and analyzed, and each rollup REST route is
 * read with its default window (last 7 days of hours, last 365 of days). Reports the median answer
 * time per route and, for the views the routes read, the plan's scan of `batch` and its time
 * (BENCH_PLAN=1 prints the plans).
 */
import { performance } from "node:perf_hooks";
import pg from "pg";
import { startPonder } from "../../indexer/harness/ponder.js";
import { startPostgres } from "../../indexer/harness/postgres.js";
import { emitBenchChain } from "./benchChain.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const DAYS = Number(process.env.BENCH_DAYS ?? 365);
const READS = 7;
const log = (...a: unknown[]) => console.log(`[bench:rollups ${new Date().toISOString().slice(11, 19)}]`, ...a);

async function main(): Promise<void> {
  const { anvil, file, head, gateways } = await emitBenchChain(1000, log);
  const postgres = await startPostgres();
  const stops: (() => Promise<void> | void)[] = [() => anvil.stop(), () => postgres.stop()];
  try {
    const ponder = await startPonder({
      deploymentFile: file,
      rpcUrl: anvil.url,
      databaseUrl: postgres.url,
      env: { PROOFPATH_INDEXER_POLLING_INTERVAL_MS: "1000" },
    });
    stops.unshift(() => ponder.stop());
    await ponder.waitForBlock(head, 600_000);

    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    const s = `"${ponder.schema}"`;
    const now = Math.floor(Date.now() / 1000);
    const usage = JSON.stringify([
      { modelId: `0x${"aa".repeat(32)}`, calls: 2, inputTokens: "500", outputTokens: "900", fee: "1000" },
      { modelId: `0x${"bb".repeat(32)}`, calls: 3, inputTokens: "500", outputTokens: "900", fee: "1500" },
    ]);
    const t0 = performance.now();
    // Triggers off for the bulk load: Ponder's live-query and reorg triggers are for its own writes.
    await db.query("set session_replication_role = replica");
    await db.query(
      `insert into ${s}.batch (id, gateway, batch_seq, first_call_seq, count, root, fee, header_hash, usage, calls,
         input_tokens, output_tokens, first_served_at, last_served_at, da_uri, status, submit_tx, submit_block,
         submitted_at, receipts_indexed)
       select 'synthetic:' || i, ($1::text[])[1 + i % 10], 1000000 + i, 8000000 + i * 8, 8, '0x' || repeat('00', 32),
         2500, '0x' || repeat('00', 32), $2::json, 5, 1000, 1800, 0, 0, '', case when i % 50 = 0 then 'rejected' else 'finalized' end,
         '0x' || repeat('00', 32), 0, $3::bigint - (i::bigint * $4::bigint) / $5::bigint, false
       from generate_series(1, $5::integer) i`,
      [gateways.map((g) => g.toLowerCase()), usage, now, DAYS * 86_400, ROWS],
    );
    await db.query("set session_replication_role = origin");
    await db.query(`vacuum analyze ${s}.batch`);
    log(`added ${ROWS} batches over ${DAYS} days in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const gw = gateways[0]!.toLowerCase();
    const routes = [
      `/gateways/${gw}/usage`,
      `/gateways/${gw}/usage?granularity=day`,
      "/models/usage",
      "/models/usage?granularity=day",
      "/network/activity",
      "/network/activity?granularity=day",
    ];
    const results: Record<string, number> = {};
    for (const route of routes) {
      const ms: number[] = [];
      for (let i = 0; i < READS; i++) {
        const t = performance.now();
        const res = await ponder.get(route);
        if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      results[route] = Number(ms[READS >> 1]!.toFixed(1));
      log(`${route}: median ${results[route]} ms over ${READS} reads`);
    }
    const from = now - 7 * 86_400 - ((now - 7 * 86_400) % 3600);
    for (const [name, where] of [
      ["gateway_rollup", `period = 'hour' and gateway = '${gw}' and bucket >= ${from}`],
      ["usage_rollup", `period = 'hour' and bucket >= ${from}`],
      ["network_rollup", `period = 'hour' and bucket >= ${from}`],
    ] as const) {
      const plan = (await db.query(`explain (analyze, format json) select * from ${s}.${name} where ${where}`)).rows[0][
        "QUERY PLAN"
      ][0];
      const scans: string[] = [];
      const walk = (n: any) => {
        if (n["Relation Name"] === "batch")
          scans.push(`${n["Node Type"]}${n["Index Name"] ? ` ${n["Index Name"]}` : ""}`);
        for (const c of n.Plans ?? []) walk(c);
      };
      walk(plan.Plan);
      if (process.env.BENCH_PLAN)
        for (const r of (await db.query(`explain (analyze, costs off) select * from ${s}.${name} where ${where}`)).rows)
          console.log(r["QUERY PLAN"]);
      log(`${name} (last 7 days of hours): ${plan["Execution Time"].toFixed(1)} ms, batch read by ${scans.join(", ")}`);
    }
    await db.end();
    console.log(JSON.stringify({ rows: ROWS, days: DAYS, medianMs: results }));
  } finally {
    for (const stop of stops) await stop();
  }
}

await main();
