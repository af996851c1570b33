/**
 * V8 flags the gateway process runs with, and a relaunch that applies them.
 *
 * A 64 MiB young generation (V8's default is 16 MiB on 64-bit): every call allocates ~130 KB
 * (HTTP parsing, HPKE, Binary HTTP, the receipt), so at 16 MiB a scavenge came every ~120 calls
 * and a 3-5 ms pause landed in about 1 % of OHTTP calls, which set their p99. At 64 MiB one comes
 * every ~400 calls: each pause is longer (~10-14 ms, 4-5 ms of it V8 freeing the KeyObjects that
 * died young) but lands in ~0.25 % of calls, out of the p99. The cost is ~100 MiB more RSS.
 * `--min-semi-space-size` pins the size from the start (V8 would grow it only as survival rises).
 * Node refuses `--min-semi-space-size` in NODE_OPTIONS, hence the relaunch.
 */
import { spawnSync } from "node:child_process";

export const GATEWAY_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64", "--min-semi-space-size=64"];

/**
 * When this process lacks {@link GATEWAY_NODE_FLAGS}, runs the same command again with them (same
 * loader flags, arguments, environment and terminal) and exits with its status; otherwise returns.
 * Set GATEWAY_NODE_FLAGS=off to run with Node's defaults instead.
 */
export function relaunchWithGatewayFlags(): void {
  if (process.env.GATEWAY_NODE_FLAGS === "off") return;
  if (GATEWAY_NODE_FLAGS.every((f) => process.execArgv.includes(f))) return;
  const r = spawnSync(process.execPath, [...GATEWAY_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
  });
  if (r.error) throw r.error;
  process.exit(r.status ?? 1);
}
