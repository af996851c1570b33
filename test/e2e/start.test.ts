/**
 * The path of `npm start` end to end, as CI runs it: a real chain, contracts, indexer (PGlite),
 * gateway with the hook, three validators and a load generator — every call must end finalized and
 * the indexer's figures must equal the load generator's counts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function runStart(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(root, "node_modules/tsx/dist/cli.mjs"), "scripts/start.ts", ...args],
      {
        cwd: root,
        env: { ...process.env, PROOFPATH_SUMMARY_JSON: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`npm start did not finish in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe("e2e: npm start --once", function () {
  this.timeout(300_000);

  it("test_start_once60Calls_everyCallFinalizedAndIndexerMatchesLoadGenerator", async () => {
    const calls = 60;
    const { code, out } = await runStart(
      ["--once", "--calls", String(calls), "--rate", "30", "--batch-size", "16", "--window", "10"],
      280_000,
    );
    const line = out.split("\n").find((l) => l.startsWith("SUMMARY "));
    assert.ok(line, `no SUMMARY line in the output:\n${out}`);
    const s = JSON.parse(line.slice("SUMMARY ".length));
    assert.equal(code, 0, out);
    assert.equal(s.served, calls, "every chat call was answered");
    assert.equal(s.callsSettled, calls, "the indexer counts every call as settled");
    assert.equal(s.callsFinalized, calls, "every call is in a finalized batch");
    assert.equal(s.allFinalized, true);
    assert.equal(s.batchesByStatus.finalized, s.batches);
    assert.equal(s.batchesByStatus.rejected, 0);
    assert.ok(s.batches >= Math.ceil(calls / 16), `at least ${Math.ceil(calls / 16)} batches (got ${s.batches})`);
    assert.ok(BigInt(s.feesPaidWei) > 0n, "fees were paid");
    assert.ok(s.gasPerCall > 0);
  });

  it("test_start_helpFlag_listsOptionsAndExits0", async () => {
    const { code, out } = await runStart(["--help"], 60_000);
    assert.equal(code, 0);
    for (const opt of ["--calls", "--rate", "--batch-size", "--validators", "--once"])
      assert.match(out, new RegExp(opt));
  });

  it("test_start_badCallsValue_clearMessageAndExits2", async () => {
    const { code, out } = await runStart(["--calls", "lots"], 60_000);
    assert.equal(code, 2);
    assert.match(out, /--calls must be an integer/);
  });
});
