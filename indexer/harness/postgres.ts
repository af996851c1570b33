/**
 * Starts a throwaway Postgres 15 cluster from the Debian binaries for a test: initdb in a temp dir,
 * owned by the `postgres` user (initdb refuses to run as root), on a free port, socket in the dir.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./ports.js";

const BIN = "/usr/lib/postgresql/15/bin";

export interface Postgres {
  url: string;
  port: number;
  /** The same database over the cluster's Unix socket, for a client on the same host. */
  socketUrl: string;
  stop(): void;
}

function asPostgres(args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? "runuser" : args[0]!;
  const argv = asRoot ? ["-u", "postgres", "--", ...args] : args.slice(1);
  const r = spawnSync(cmd, argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export async function startPostgres(): Promise<Postgres> {
  const dir = mkdtempSync(path.join(tmpdir(), "proofpath-pg-"));
  chmodSync(dir, 0o777);
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres:postgres", dir]);
  const data = path.join(dir, "data");
  const port = await freePort();
  asPostgres([`${BIN}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  // lz4 TOAST compression (PG ≥ 14; what we would set in production too): Ponder's sync store keeps
  // every log's data, ~2 KB of hex per BatchSubmitted, and pglz made its inserts ~40 % slower.
  asPostgres([
    `${BIN}/pg_ctl`, "-D", data, "-l", path.join(dir, "log"), "-w", "-t", "60",
    "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c default_toast_compression=lz4`,
    "start",
  ]);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    socketUrl: `postgresql://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    stop() {
      try {
        asPostgres([`${BIN}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
