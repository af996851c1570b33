/**
 * A/B of the Ponder patch, one change at a time (`npm run bench:ponder-ab -- 06 02 …`): on one anvil
 * chain of BENCH_EVENTS BatchSubmitted events (./benchChain.ts, as `bench:indexer`), the indexer
 * backfills it with the whole patch (A) and with the patch minus that change (B), in rounds of
 * A,B then B,A (drift on a shared machine cancels in pairs), each run on a fresh database (its own
 * sync store, so RPC fetching is measured too). Ponder's floor (./ponder-floor, a no-op handler)
 * is measured in the same run, before and after. Reports per change the median ratio of backfill
 * events/s (A/B) and of the indexer process's CPU seconds from its backfill's start (B/A), both > 1 when the change helps.
 * `none` as a change id compares the whole patch with none of it. A dropped change
 * (patches/ponder-changes/dropped) is measured as the shipped patch with it (A) and without (B);
 * a comma list of dropped ones (`02,03`) measures them together. Change 11 (CORS after the
 * handler) only touches the HTTP server: for it each run is a `ponder serve` replica over the
 * indexed schema, saturated with `/calls` reads for AB_SERVE_S (default 8) s by autocannon;
 * reported as the ratio of requests/s and of replica CPU per request.
 *
 * node_modules/ponder is rewritten in place per run (scripts/ponder-patch.ts install) and put back
 * to the shipped patch at the end; run nothing else on this checkout meanwhile.
 */
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
// @ts-expect-error autocannon ships no type declarations (and @types/autocannon is not installed)
import autocannon from "autocannon";
import pg from "pg";
import { repoRoot, startPonder } from "../../indexer/harness/ponder.js";
import { startPostgres } from "../../indexer/harness/postgres.js";
import { install, readChanges } from "../ponder-patch.js";
import { waitFor } from "../../tools/waitFor.js";
import { emitBenchChain } from "./benchChain.js";
import { backfillSeconds, cpuSeconds, readAtBackfillStart, startBackfill } from "./ponderBackfill.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.AB_ROUNDS ?? 2);
const log = (...a: unknown[]) => console.log(`[bench:ponder-ab ${new Date().toISOString().slice(11, 19)}]`, ...a);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const ids = process.argv.slice(2);
  const known = readChanges().map((c) => c.id);
  if (ids.length === 0) throw new Error(`name the changes to measure: ${known.join(" ")} or none`);
  for (const id of ids)
    for (const one of id.split(",")) if (id !== "none" && !known.includes(one)) throw new Error(`no change ${one}`);

  const { anvil, file, head, gateways, next, count } = await emitBenchChain(EVENTS, log);
  const postgres = await startPostgres();
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  const bench = { admin, postgresUrl: postgres.url, deploymentFile: file, rpcUrl: anvil.url };
  let runs = 0;
  let indexed: { db: string; schema: string } | undefined; // the first indexer run's, for change 11
  /** One backfill from scratch; events/s between Ponder's backfill log markers, process CPU s. */
  const backfill = async (spec: string, root?: string) => {
    install(spec);
    const db = `ab${runs++}`;
    const ponder = await startBackfill(bench, { db, logPrefix: "ab", root });
    const cpuAtStart = readAtBackfillStart(ponder.logFile, () => cpuSeconds(ponder.child.pid!), 50);
    if (!root) indexed ??= { db, schema: ponder.schema };
    let cpu: number;
    try {
      await ponder.waitForBlock(head, 1_800_000);
      cpu = cpuSeconds(ponder.child.pid!) - (cpuAtStart.taken() ?? 0);
      if (!root) {
        const stats = await ponder.getJson("/network/stats");
        if (stats.batchesSubmitted !== EVENTS) throw new Error(`${spec}: ${stats.batchesSubmitted} batches`);
      }
    } finally {
      cpuAtStart.taken();
      await ponder.stop();
    }
    const sec = backfillSeconds(ponder.logFile);
    const eventsPerSec = Math.round(EVENTS / sec);
    log(`${root ? "floor" : "indexer"} ${spec}: ${eventsPerSec} events/s, ${cpu.toFixed(1)} s CPU`);
    return { eventsPerSec, cpu };
  };
  /** Change 11: one `ponder serve` replica of `schema`, saturated with /calls reads. */
  const gw = gateways[0]!;
  const serve = async (spec: string) => {
    if (!indexed) await backfill("all");
    const { db, schema } = indexed!;
    install(spec);
    const replica = await startPonder({
      deploymentFile: file,
      rpcUrl: anvil.url,
      databaseUrl: postgres.socketUrl.replace("@/postgres?", `@/${db}?`),
      schema,
      command: "serve",
      logName: `ab-serve-${Date.now().toString(36)}`,
    });
    try {
      await waitFor("the serve replica", async () => (await replica.get("/ready").catch(() => undefined))?.ok, 120_000);
      const calls = Number(next.get(gw)!) * count;
      let k = 0;
      const run = (duration: number) =>
        autocannon({
          url: replica.url,
          connections: 32,
          duration,
          requests: [{ setupRequest: (req: object) => ({ ...req, path: `/calls/${gw}/${(k++ * 7919) % calls}` }) }],
        });
      await run(2); // warm-up: JIT, pool, prepared statement
      const cpu0 = cpuSeconds(replica.child.pid!);
      const r = await run(Number(process.env.AB_SERVE_S ?? 8));
      const cpuMsPerRequest = ((cpuSeconds(replica.child.pid!) - cpu0) * 1000) / r.requests.total;
      log(`serve ${spec}: ${Math.round(r.requests.average)} req/s, ${cpuMsPerRequest.toFixed(3)} ms CPU per request`);
      return { eventsPerSec: Math.round(r.requests.average), cpu: cpuMsPerRequest };
    } finally {
      await replica.stop();
    }
  };
  const floorRoot = path.join(repoRoot, "scripts/bench/ponder-floor");
  const results: Record<string, unknown>[] = [];
  try {
    const floors = [(await backfill("all", floorRoot)).eventsPerSec];
    for (const id of ids) {
      // A dropped change (patches/ponder-changes/dropped) is measured as the shipped patch plus it.
      // A comma list of dropped changes is measured together (what dropping them all costs).
      const dropped = id.split(",").every((one) => readChanges().find((c) => c.id === one)?.shipped === false);
      const withIt = dropped ? `with:${id}` : "all";
      const without = id === "none" ? "none" : dropped ? "all" : `without:${id}`;
      const a: { eventsPerSec: number; cpu: number }[] = [];
      const b: typeof a = [];
      const one = id === "11" ? serve : backfill;
      for (let r = 0; r < ROUNDS; r++) {
        if (r % 2 === 0) {
          a.push(await one(withIt));
          b.push(await one(without));
        } else {
          b.push(await one(without));
          a.push(await one(withIt));
        }
      }
      const speedup = median(a.map((x, i) => x.eventsPerSec / b[i]!.eventsPerSec));
      const cpuSaved = median(a.map((x, i) => b[i]!.cpu / x.cpu));
      const result = {
        change: id === "none" ? "whole patch" : (readChanges().find((c) => c.id === id)?.name ?? `dropped ${id}`),
        measured: id === "11" ? "serve: req/s, ms CPU per request" : "backfill: events/s, s CPU",
        withEventsPerSec: a.map((x) => x.eventsPerSec),
        withoutEventsPerSec: b.map((x) => x.eventsPerSec),
        speedup: Number(speedup.toFixed(3)),
        withCpuS: a.map((x) => x.cpu),
        withoutCpuS: b.map((x) => x.cpu),
        cpuRatio: Number(cpuSaved.toFixed(3)),
      };
      results.push(result);
      log(
        `${result.change}: speedup ×${result.speedup} (events/s with/without), CPU ×${result.cpuRatio} (without/with)`,
      );
    }
    floors.push((await backfill("all", floorRoot)).eventsPerSec);
    const floor = Math.round((floors[0]! + floors[1]!) / 2);
    for (const r of results) {
      r.withOfFloor = Number((median(r.withEventsPerSec as number[]) / floor).toFixed(3));
      r.withoutOfFloor = Number((median(r.withoutEventsPerSec as number[]) / floor).toFixed(3));
    }
    const report = { events: EVENTS, rounds: ROUNDS, floorEventsPerSec: floors, loadAverage1m: loadavg()[0], results };
    console.log(JSON.stringify(report, null, 2));
    if (process.env.AB_OUT) writeFileSync(process.env.AB_OUT, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    install("all");
    await admin.end();
    await postgres.stop();
    await anvil.stop();
  }
}

process.on("SIGINT", () => {
  install("all");
  process.exit(130);
});
await main();
