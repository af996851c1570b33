/**
 * Starts one of the hook's worker threads (the Merkle builder, the group committer) from the file
 * beside this one — `.ts` when running from sources, `.js` when compiled.
 */
import { Worker, type WorkerOptions } from "node:worker_threads";

const fromSources = import.meta.url.endsWith(".ts");
// Running from TypeScript sources (tsx, or a test runner with its own in-process loader): give the
// worker tsx explicitly, since in-process loader hooks do not reach worker threads.
const execArgv = fromSources && !process.execArgv.some((a) => a.includes("tsx"))
  ? [...process.execArgv, "--import", import.meta.resolve("tsx")]
  : process.execArgv;

/** A worker running `gateway/<name>.ts|js`; unref'd, so it never keeps the process alive by itself. */
export function startWorker(name: string, options: Omit<WorkerOptions, "execArgv"> = {}): Worker {
  const w = new Worker(new URL(`./${name}${fromSources ? ".ts" : ".js"}`, import.meta.url), { ...options, execArgv });
  w.unref();
  return w;
}
