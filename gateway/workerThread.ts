/**
 * Starts one of the hook's worker threads (the Merkle builder, the group committer, the DA server) from the file
 * beside this one — `.ts` when running from sources, `.js` when compiled.
 */
import { readlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setPriority } from "node:os";
import { Worker, type WorkerOptions } from "node:worker_threads";

const fromSources = import.meta.url.endsWith(".ts");
// Running from TypeScript sources under a runner with its own in-process loader: give the worker
// tsx explicitly, since in-process loader hooks do not reach worker threads. Only module-loading
// flags are passed on: V8 and process flags (--max-semi-space-size, --title, …) are refused in
// workers. Otherwise workers inherit the main thread's flags as Node filters them.
const LOADER_FLAG = /^--(import|require|loader|experimental-loader|conditions)(=|$)/;
function loaderFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = LOADER_FLAG.exec(argv[i]!);
    if (!m) continue;
    out.push(argv[i]!);
    if (m[2] === "" && i + 1 < argv.length) out.push(argv[++i]!); // `--import x`: keep its value too
  }
  return out;
}
const execArgv =
  fromSources && !process.execArgv.some((a) => a.includes("tsx"))
    ? [...loaderFlags(process.execArgv), "--import", import.meta.resolve("tsx")]
    : undefined;

/** The hook's worker threads, by path under gateway/; a bundled gateway must ship each as `<name>.js`. */
export const HOOK_WORKERS = ["seal/sealWorker", "commit/commitWorker", "serve/daWorker"] as const;

/** A worker running `gateway/<name>.ts|js`; unref'd, so it never keeps the process alive by itself. */
export function startWorker(
  name: (typeof HOOK_WORKERS)[number],
  options: Omit<WorkerOptions, "execArgv"> = {},
): Worker {
  const w = new Worker(new URL(`./${name}${fromSources ? ".ts" : ".js"}`, import.meta.url), {
    ...options,
    ...(execArgv ? { execArgv } : {}),
  });
  w.unref();
  return w;
}

/**
 * Lowers the calling thread's priority to `niceness` (Linux; 0 keeps the process's): on a loaded
 * host a nicer thread lets the scheduler give the fast path's thread the CPU first. A thread is a
 * task with its own id, which setpriority takes; elsewhere nothing changes. Returns why it could
 * not, if it could not.
 */
export function lowerThreadPriority(niceness: number): string | undefined {
  if (niceness <= 0 || process.platform !== "linux") return undefined;
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, Math.min(19, niceness));
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The hook's child processes (the DA process), by path under gateway/; a bundled gateway ships each as `<name>.js`. */
export const HOOK_PROCESSES = ["serve/daProcess"] as const;

/**
 * How to run `gateway/<name>.ts|js` as a child process with this process's node: the script and
 * the node flags it needs (from sources, the loader this process runs under, or tsx).
 */
export function childProcessArgs(name: (typeof HOOK_PROCESSES)[number]): string[] {
  const script = fileURLToPath(new URL(`./${name}${fromSources ? ".ts" : ".js"}`, import.meta.url));
  if (!fromSources) return [script];
  const flags = loaderFlags(process.execArgv);
  if (!flags.some((a) => a.includes("tsx"))) flags.push("--import", import.meta.resolve("tsx"));
  return [...flags, script];
}
