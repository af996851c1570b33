/**
 * Runs the real indexer (`ponder start --root indexer`) as a child process for a test, with its own
 * database schema (Postgres) or PGlite directory, and waits until it has indexed a given block.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../tools/devchain.js";
import { GiveUp, waitFor } from "../../tools/waitFor.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface PonderOptions {
  /** One chain: its deployment file and RPC URL. */
  deploymentFile?: string;
  rpcUrl?: string;
  /** Several chains instead (PROOFPATH_INDEXER_CHAINS): each `{ deployment, rpcUrls, name?, pollingIntervalMs? }`. */
  chains?: { deployment: string; rpcUrls: string[]; name?: string; pollingIntervalMs?: number }[];
  /** Postgres URL; PGlite (in `pgliteDir` or a fresh temp dir) when absent. */
  databaseUrl?: string;
  pgliteDir?: string;
  schema?: string;
  port?: number;
  command?: "start" | "serve";
  logName?: string;
  /** The Ponder app's root directory (default: the indexer); the benchmark also runs a no-op app. */
  root?: string;
  /** Extra environment for the process (e.g. PROOFPATH_INDEXER_POLLING_INTERVAL_MS). */
  env?: NodeJS.ProcessEnv;
}

export interface Ponder {
  url: string;
  port: number;
  schema: string;
  pgliteDir: string | undefined;
  logFile: string;
  child: ChildProcess;
  get(pathname: string): Promise<Response>;
  getJson<T = any>(pathname: string): Promise<T>;
  /** Waits until `/status` reports `block` (or later) indexed on `chain` (Ponder's chain name; default the one chain). */
  waitForBlock(block: bigint | number, timeoutMs?: number, chain?: string): Promise<void>;
  indexedBlock(chain?: string): Promise<number | undefined>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Node flags `ponder start` runs with, as `npm run indexer:start` does:
 * - a 64 MiB young generation. Backfill allocates copies of every row a handler writes; with V8's
 *   default 16 MiB semi-space the scavenger took ~15 % of the indexing thread, ~7 % with 64 MiB
 *   (at most ~150 MiB more memory);
 * - no memory reducer. Once a backfill ends and the indexer goes quiet, V8's memory reducer ran two
 *   full compacting GCs of the ~1 GB heap the backfill left (670 + 130 ms, on both cores) about a
 *   minute later — a stall for the replica and Postgres sharing the machine. Without it the heap
 *   is collected by ordinary GCs as live indexing allocates; RSS stays higher until then.
 */
const INDEXER_NODE_FLAGS = ["--max-semi-space-size=64", "--no-memory-reducer"];

let seq = 0;

export async function startPonder(o: PonderOptions): Promise<Ponder> {
  const port = o.port ?? (await freePort());
  const schema = o.schema ?? `t_${process.pid}_${Date.now().toString(36)}_${seq++}`;
  const pgliteDir = o.databaseUrl ? undefined : (o.pgliteDir ?? mkdtempSync(path.join(tmpdir(), "proofpath-pglite-")));
  const logDir = path.join(repoRoot, "test-results", "indexer-logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${o.logName ?? schema}.log`);
  const log = createWriteStream(logFile, { flags: "a" });
  const bin = path.join(repoRoot, "node_modules/ponder/dist/esm/bin/ponder.js");
  const args = [
    bin,
    "--root",
    o.root ?? path.join(repoRoot, "indexer"),
    o.command ?? "start",
    "--schema",
    schema,
    "--port",
    String(port),
    "--log-format",
    "json",
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PONDER_TELEMETRY_DISABLED: "true",
    ...(o.chains
      ? { PROOFPATH_INDEXER_CHAINS: JSON.stringify(o.chains) }
      : { PROOFPATH_INDEXER_DEPLOYMENT: o.deploymentFile, PROOFPATH_INDEXER_RPC_URL: o.rpcUrl }),
    PROOFPATH_INDEXER_DATABASE_URL: o.databaseUrl ?? "",
    PROOFPATH_INDEXER_PGLITE_DIR: pgliteDir ?? "",
    NODE_ENV: "production",
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the indexer itself.
    ...(process.env.PONDER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.PONDER_NODE_OPTIONS } : {}),
    ...o.env,
  };
  // PONDER_NODE_FLAGS: node flags NODE_OPTIONS refuses (e.g. "--trace-gc"), for both commands.
  const extraFlags = process.env.PONDER_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
  const nodeFlags = [...((o.command ?? "start") === "start" ? INDEXER_NODE_FLAGS : []), ...extraFlags];
  const child = spawn(process.execPath, [...nodeFlags, ...args], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const url = `http://127.0.0.1:${port}`;
  const get = (p: string) => fetch(url + p);
  const getJson = async (p: string) => {
    const res = await get(p);
    if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const indexedBlock = async (chain = "proofpath") => {
    const s = (await getJson("/status")) as Record<string, { block?: { number: number } }>;
    return s[chain]?.block?.number;
  };
  const exited = () =>
    child.exitCode !== null || child.signalCode !== null
      ? new Error(`ponder exited (${child.exitCode ?? child.signalCode}); log: ${logFile}`)
      : undefined;
  return {
    url,
    port,
    schema,
    pgliteDir,
    logFile,
    child,
    get,
    getJson,
    indexedBlock,
    async waitForBlock(block, timeoutMs = 120_000, chain = "proofpath") {
      await waitFor(
        `ponder to index block ${block} of ${chain} (log ${logFile})`,
        async () => {
          // A dead indexer will never get there: fail now, not after the whole timeout.
          const err = exited();
          if (err) throw new GiveUp(err.message);
          const ready = await get("/ready").then(
            (r) => r.ok,
            () => false,
          );
          const n = ready ? await indexedBlock(chain) : undefined;
          return n !== undefined && n >= Number(block);
        },
        timeoutMs,
        250,
      ).catch((e) => {
        throw exited() ?? e;
      });
    },
    stop(signal = "SIGTERM") {
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(t);
          log.end();
          resolve();
        });
        child.kill(signal);
      });
    },
  };
}
