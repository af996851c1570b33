/**
 * Crash injection for the crash-safety tests: `PROOFPATH_CRASH_AT=label:n` makes the process SIGKILL
 * itself the n-th time (default 1st) it passes `crashPoint(label)`. With `PROOFPATH_CRASH_ARMED_BY=file`
 * only passes while that file exists count (the succession test arms a successor once it serves under
 * its own key; worker threads see the same file). A no-op when the variable is unset.
 */
import { existsSync } from "node:fs";

const spec = process.env.PROOFPATH_CRASH_AT;
const armedBy = process.env.PROOFPATH_CRASH_ARMED_BY;
const [target, nth] = spec ? [spec.split(":")[0], Number(spec.split(":")[1] ?? "1")] : [undefined, 0];
let hits = 0;

/** Labels the hook passes; the tests pick one. */
export type CrashLabel =
  | "mid-commit"
  | "after-seal"
  | "after-sign"
  | "after-broadcast"
  | "before-confirm"
  | "mid-reconcile"
  | "host-mid-append";

export function crashPoint(label: CrashLabel): void {
  if (label !== target) return;
  if (armedBy && !existsSync(armedBy)) return;
  if (++hits >= nth) {
    process.stderr.write(`crash injected at ${label}:${hits}\n`);
    process.kill(process.pid, "SIGKILL");
  }
}
