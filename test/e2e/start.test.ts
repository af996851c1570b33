/**
 * The path of `npm start` end to end, as CI runs it: a real chain, contracts, indexer (PGlite),
 * enclave processes with the hook, three validators and a load generator. Midway the first enclave
 * is SIGKILLed and a successor key takes over its account: every receipt the user's client got (from
 * either key) must be the leaf at its callSeq in a finalized batch, the dead key's account must be
 * settled to its end (served + void), and a receipt from a batch the dead key put on-chain itself
 * must still verify (its daURI is now answered by the successor).
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

  it("test_start_enclaveKilledMidway_successorSettlesItsAccountAndEveryKeptReceiptFinalizes_succeeds", async () => {
    const calls = 60;
    const { code, out } = await runStart(
      ["--once", "--calls", String(calls), "--rate", "30", "--batch-size", "16", "--window", "10"],
      280_000,
    );
    const line = out.split("\n").find((l) => l.startsWith("SUMMARY "));
    assert.ok(line, `no SUMMARY line in the output:\n${out}`);
    const s = JSON.parse(line.slice("SUMMARY ".length));
    const hLine = out.split("\n").find((l) => l.startsWith("HANDOVER "));
    assert.ok(hLine, `no HANDOVER line in the output:\n${out}`);
    const h = JSON.parse(hLine.slice("HANDOVER ".length));
    assert.equal(code, 0, out);
    assert.equal(s.served, calls, "every chat call was answered (by one key or the other)");
    assert.equal(s.allFinalized, true);
    assert.equal(s.batchesByStatus.finalized, s.batches);
    assert.equal(s.batchesByStatus.rejected, 0);
    assert.ok(BigInt(s.feesPaidWei) > 0n, "fees were paid");
    assert.ok(s.gasPerCall > 0);

    // The handover happened: two keys, the first killed, the second its successor.
    assert.equal(h.handover, true);
    assert.match(out, /SIGKILL enclave 1/);
    assert.equal(s.accounts.length, 2);
    const [dead, successor] = s.accounts;
    assert.ok(dead.answered > 0 && successor.answered > 0, "both keys answered calls");
    assert.equal(dead.answered + successor.answered, calls);
    // The dead key's account is settled to its end: every callSeq it reserved, served or void.
    assert.equal(dead.served + dead.voided, dead.settled);
    // …and closed there by its operator: a receipt above the end would now prove against its bond.
    const closed = /account closed at callSeq (\d+)/.exec(out);
    assert.ok(closed, `no account closure in the output:\n${out}`);
    assert.equal(Number(closed[1]), dead.settled);
    assert.equal(dead.finalized, dead.settled);
    assert.ok(dead.served <= dead.answered, "no receipt appears that no user was answered for");
    assert.equal(successor.served, successor.answered);
    assert.equal(successor.finalized, successor.settled);
    assert.equal(s.callsSettled, dead.served + successor.served, "the indexer counts every served call");
    assert.equal(s.callsFinalized, s.callsSettled, "every settled call is finalized");

    // Every receipt the user's client got is the leaf at its callSeq in a finalized batch.
    assert.ok(dead.receiptsKept > 0 && successor.receiptsKept > 0, "the client kept receipts of both keys");
    assert.equal(dead.receiptsFinalized, dead.receiptsKept);
    assert.equal(successor.receiptsFinalized, successor.receiptsKept);
    assert.equal(s.receiptsFinalized, s.receiptsKept);

    // A receipt from a batch the dead key put on-chain itself verifies after the handover.
    assert.equal(h.verify?.verdict, "final", JSON.stringify(h.verify));
    assert.match(h.verify.daURI, new RegExp(`/da/accounts/${dead.address}/batches/`));
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
