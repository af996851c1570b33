/**
 * What the Ponder benchmarks (bench:indexer, bench:ponder-ab, bench:ponder-variants) read about a
 * backfill: its duration between Ponder's own log lines, where its time went from Ponder's metrics,
 * and a process's CPU time.
 */
import { existsSync, readFileSync } from "node:fs";
import type pg from "pg";
import { startPonder } from "../../indexer/harness/ponder.js";

/** CPU time (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number | string): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
}

function logTime(file: string, msg: string): number | undefined {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    const j = JSON.parse(line) as { msg?: string; time?: number };
    if (j.msg === msg) return j.time;
  }
  return undefined;
}

/** Seconds between Ponder's "Started backfill indexing" and "Completed backfill indexing" log lines. */
export function backfillSeconds(file: string): number {
  const started = logTime(file, "Started backfill indexing");
  const completed = logTime(file, "Completed backfill indexing across all chains");
  if (!started || !completed) throw new Error(`backfill markers missing in ${file}`);
  return (completed - started) / 1000;
}

/**
 * Takes `read()` once Ponder has logged the backfill's start (so boot and build are not counted),
 * polling its log every `everyMs` beside the wait; `taken()` stops the polling and gives the reading
 * (undefined if the start never came).
 */
export function readAtBackfillStart<T>(logFile: string, read: () => T, everyMs: number): { taken(): T | undefined } {
  let value: T | undefined;
  const poll = setInterval(() => {
    if (value !== undefined || !existsSync(logFile)) return; // the harness opens the log asynchronously
    if (readFileSync(logFile, "utf8").includes('"Started backfill indexing"')) value = read();
  }, everyMs);
  return {
    taken() {
      clearInterval(poll);
      return value;
    },
  };
}

/**
 * Where a backfill's time went, from Ponder's own metrics (seconds): `extract` is time spent waiting
 * for the next range of events (RPC, sync store, decoding not hidden behind indexing), `transform`
 * the rest, split into its steps (`index`: the handlers and the store; `load`: the flush to
 * Postgres; `finalize`: the checkpoint); `format`, `build` and `decode` are the extract steps done
 * on the indexing thread — to tell what a change moved.
 */
export async function backfillSteps(p: { get(path: string): Promise<Response> }): Promise<Record<string, number>> {
  const text = await (await p.get("/metrics")).text();
  const steps: Record<string, number> = {};
  for (const m of text.matchAll(
    /^ponder_historical_(?:concurrency_group|transform|extract)_duration\{(?:group|step)="(\w+)"\} ([\d.e+]+)$/gm,
  ))
    steps[m[1]!] = Number((Number(m[2]) / 1000).toFixed(2));
  return steps;
}

/** What every backfill of one bench run shares: the chain, its deployment and one Postgres. */
export interface BackfillBench {
  admin: pg.Client;
  postgresUrl: string;
  deploymentFile: string;
  rpcUrl: string;
}

/**
 * A Ponder app (the indexer unless `root` names another) backfilling the bench chain into a new
 * database `db` of its own, polling for new blocks every second like on a real chain; its log is
 * `<logPrefix>-<db>-<time>`.
 */
export async function startBackfill(
  bench: BackfillBench,
  run: { db: string; logPrefix: string; root?: string | undefined; env?: Record<string, string> },
) {
  await bench.admin.query(`create database ${run.db}`);
  return startPonder({
    ...(run.root ? { root: run.root } : {}),
    deploymentFile: bench.deploymentFile,
    rpcUrl: bench.rpcUrl,
    databaseUrl: bench.postgresUrl.replace(/\/postgres$/, `/${run.db}`),
    logName: `${run.logPrefix}-${run.db}-${Date.now().toString(36)}`,
    env: { PROOFPATH_INDEXER_POLLING_INTERVAL_MS: "1000", ...run.env },
  });
}
