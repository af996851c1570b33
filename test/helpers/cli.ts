/**
 * Runs the real `proofpath` CLI (scripts/cli.ts through tsx) as an operator would: a child process
 * with the given PROOFPATH_* environment (the ambient ones cleared), its exit code and output.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** This process's environment without the CLI's own variables: only what a test passes counts. */
function ambient(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^PROOFPATH_(OPERATOR|VERIFY)_/.test(k)));
}

export type CliRun = { code: number | null; stdout: string; stderr: string };

/** Starts the CLI and leaves it running (e.g. `gateway-sidecar`): stdout and stderr are piped. */
export function spawnCli(
  args: string[],
  env: Record<string, string | undefined>,
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [path.join(root, "node_modules/tsx/dist/cli.mjs"), "scripts/cli.ts", ...args], {
    cwd: root,
    env: { ...ambient(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function cli(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawnCli(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The run's stdout as JSON (for `--json`), or an error that shows what came instead. */
export function cliJson<T = Record<string, unknown>>(r: CliRun): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
}
