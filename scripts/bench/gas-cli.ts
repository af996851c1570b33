/**
 * `npm run bench:gas [-- --check]`: runs scripts/bench/gas.ts under `hardhat run` (which takes no
 * script flags), passing `--check` on as BENCH_GAS_CHECK=1.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const check = process.argv.includes("--check");
const r = spawnSync(path.join(root, "node_modules/.bin/hardhat"), ["run", "--no-compile", "scripts/bench/gas.ts"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, ...(check ? { BENCH_GAS_CHECK: "1" } : {}) },
});
process.exit(r.status ?? 1);
