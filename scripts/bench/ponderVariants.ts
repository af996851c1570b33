/**
 * Backfill variants side by side (`npm run bench:ponder-variants -- floor indexer v1 v1 indexer floor`):
 * on one anvil chain of BENCH_EVENTS BatchSubmitted events (./benchChain.ts) and one Postgres, each
 * named run backfills it from scratch on its own database, in the order given (repeat names in
 * mirrored order, A B B A, so drift cancels). `floor` is ./ponder-floor, `rowfloor` the same app
 * writing one two-column row per event (the ceiling for a handler that writes), `indexer` the real
 * indexer; any other name is the indexer unless VARIANT_<name>_ROOT names another app root (a copy
 * of indexer/ with a handler changed). VARIANT_<name>_ENV (JSON) adds environment variables and
 * VARIANT_<name>_FLAGS node flags (e.g. "--max-semi-space-size=128"); PROFILE_DIR writes a
 * `--cpu-prof` profile per run, HEAP_PROFILE_DIR a sampling heap profile of everything the run
 * allocated (./heapSample.mjs), and BENCH_PG_STATEMENTS=1 prints each run's most expensive
 * Postgres statements (pg_stat_statements: calls, executor milliseconds, rows). Per run: events/s
 * between Ponder's backfill log lines, the CPU seconds of the Ponder process, of Postgres and of
 * anvil over the backfill, and Ponder's step metrics. For handler, configuration and V8-flag
 * levers; `bench:ponder-ab` measures patch changes.
 */
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { repoRoot } from "../../indexer/harness/ponder.js";
import { startPostgres } from "../../indexer/harness/postgres.js";
import { emitBenchChain } from "./benchChain.js";
import { backfillSeconds, backfillSteps, cpuSeconds, readAtBackfillStart, startBackfill } from "./ponderBackfill.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const log = (...a: unknown[]) => console.log(`[bench:ponder-variants ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** CPU seconds so far of the processes whose command line matches (Linux). */
function cpuOf(match: (cmdline: string) => boolean): number {
  let sum = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (match(readFileSync(`/proc/${pid}/cmdline`, "utf8"))) sum += cpuSeconds(pid);
    } catch {
      // the process exited meanwhile
    }
  }
  return sum;
}

/**
 * Per name: runs, mean events/s, the sample standard deviation as a share of the mean, and the mean
 * as a share of the floor's. On this 2-core VM one run of the same app varies by ±5-8 %, so an
 * effect smaller than that needs several mirrored runs before its mean says anything.
 */
function summarize(results: Record<string, number[]>): string[] {
  const stats = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
    return { mean, sd };
  };
  const floor = results.floor ? stats(results.floor).mean : undefined;
  return Object.entries(results).map(([name, xs]) => {
    const { mean, sd } = stats(xs);
    const spread = xs.length < 2 ? "" : ` ±${((100 * sd) / mean).toFixed(1)} % (sd)`;
    const ofFloor = floor && name !== "floor" ? `, ${((100 * mean) / floor).toFixed(1)} % of the floor` : "";
    return `${name}: ${xs.length} run(s), mean ${Math.round(mean)} events/s${spread}${ofFloor}`;
  });
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  if (names.length === 0) throw new Error("name the runs, e.g. floor indexer v1 v1 indexer floor");
  const { anvil, file, head } = await emitBenchChain(EVENTS, log);
  const statements = process.env.BENCH_PG_STATEMENTS === "1";
  if (statements)
    process.env.PROOFPATH_PG_OPTIONS = `${process.env.PROOFPATH_PG_OPTIONS ?? ""} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all`;
  const postgres = await startPostgres();
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  if (statements) await admin.query("create extension pg_stat_statements");
  const bench = { admin, postgresUrl: postgres.url, deploymentFile: file, rpcUrl: anvil.url };
  const results: Record<string, number[]> = {};
  try {
    for (const [i, name] of names.entries()) {
      const key = name.replace(/\W/g, "_");
      const root =
        name === "floor" || name === "rowfloor"
          ? path.join(repoRoot, "scripts/bench/ponder-floor")
          : process.env[`VARIANT_${key}_ROOT`];
      const flags = [
        process.env[`VARIANT_${key}_FLAGS`] ?? "",
        process.env.PROFILE_DIR ? `--cpu-prof --cpu-prof-dir=${path.join(process.env.PROFILE_DIR, `${i}-${key}`)}` : "",
        process.env.HEAP_PROFILE_DIR ? `--import=${path.join(repoRoot, "scripts/bench/heapSample.mjs")}` : "",
      ];
      const heapDir = process.env.HEAP_PROFILE_DIR ? path.join(process.env.HEAP_PROFILE_DIR, `${i}-${key}`) : undefined;
      if (heapDir) mkdirSync(heapDir, { recursive: true });
      process.env.PONDER_NODE_FLAGS = flags.join(" ").trim(); // read by the harness as it starts Ponder
      const db = `variant${i}`;
      const ponder = await startBackfill(bench, {
        db,
        logPrefix: "variant",
        root,
        env: {
          ...(name === "rowfloor" ? { PROOFPATH_FLOOR_ROW: "1" } : {}),
          ...JSON.parse(process.env[`VARIANT_${key}_ENV`] ?? "{}"),
          ...(heapDir ? { HEAP_PROFILE_DIR: heapDir } : {}),
        },
      });
      // The Ponder process by its pid; Postgres and anvil by their command lines.
      const cpuNow = () => ({
        ponder: cpuSeconds(ponder.child.pid!),
        postgres: cpuOf((c) => c.startsWith("postgres:")),
        anvil: cpuOf((c) => c.includes("/anvil")),
      });
      const atStart = readAtBackfillStart(ponder.logFile, cpuNow, 20);
      let cpu: ReturnType<typeof cpuNow>;
      let st: Record<string, number>;
      try {
        await ponder.waitForBlock(head, 1_800_000);
        const [now, start] = [cpuNow(), atStart.taken()];
        cpu = {
          ponder: now.ponder - (start?.ponder ?? 0),
          postgres: now.postgres - (start?.postgres ?? 0),
          anvil: now.anvil - (start?.anvil ?? 0),
        };
        st = await backfillSteps(ponder);
      } finally {
        atStart.taken();
        await ponder.stop();
      }
      if (statements) {
        const top = await admin.query(
          "select calls, round(total_exec_time) as ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as query from pg_stat_statements order by total_exec_time desc limit 12",
        );
        console.table(top.rows);
        await admin.query("select pg_stat_statements_reset()");
      }
      const sec = backfillSeconds(ponder.logFile);
      const eventsPerSec = Math.round(EVENTS / sec);
      (results[name] ??= []).push(eventsPerSec);
      log(
        `${name}: ${eventsPerSec} events/s (${sec.toFixed(2)} s); CPU s ponder ${cpu.ponder.toFixed(2)}, postgres ${cpu.postgres.toFixed(2)}, anvil ${cpu.anvil.toFixed(2)}; steps ${JSON.stringify(st)}`,
      );
    }
    console.log(JSON.stringify({ events: EVENTS, eventsPerSec: results }, null, 2));
    for (const line of summarize(results)) log(line);
  } finally {
    await admin.end();
    await postgres.stop();
    await anvil.stop();
  }
}

await main();
