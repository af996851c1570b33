/**
 * Crash injection: the gateway runs in a child process and SIGKILLs itself at labelled points
 * (PROOFPATH_CRASH_AT=label:n), or is killed by the test when the point is not reached in time;
 * it is restarted every time against the same store and a real anvil chain. Finally a clean run
 * settles everything and the invariants are checked on-chain and against the store.
 * CI runs 12 kills; FULL=1 runs 120.
 *
 * Throughout, a stranger polls every public endpoint of each run (receipts by callSeq and by
 * requestHash, batches, health, metrics) and keeps every enclave signature it is handed. The attack
 * it tries: get the enclave's signature over a receipt that is not yet durable, wait for the crash
 * to void that callSeq, and prove "equivocation" to take the bond. Afterwards every signed receipt
 * must be settled exactly as signed: 0 slashable signatures, 0 reused callSeqs.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { buildChild, runChild } from "./helpers/child.js";
import { addRun, newLedger, verifySettlement } from "./helpers/verify.js";
import { Stranger, judgeStranger } from "./helpers/stranger.js";
import { settlementDomain } from "../../sdk/eip712.js";

const FULL = process.env.FULL === "1";
const KILLS = Number(process.env.CRASH_KILLS ?? (FULL ? 120 : 12));
const LABELS = [
  "mid-commit",
  "after-seal",
  "after-sign",
  "after-broadcast",
  "before-confirm",
  "mid-reconcile",
] as const;

describe("gateway crash safety (SIGKILL at labelled points)", function () {
  this.timeout(FULL ? 3_600_000 : 240_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    await buildChild();
    dir = mkdtempSync(path.join(tmpdir(), "pp-crash-"));
  });
  after(async () => {
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`test_crash_${KILLS}Kills_strangerPollingEveryEndpoint_noSlashableSignature_everyCallSeqSettledOnce_succeeds`, async () => {
    const store = path.join(dir, "gateway.db");
    const env = {
      STORE: store,
      RPC_URL: anvil.url,
      SETTLEMENT: pp.settlement,
      ENCLAVE_KEY: pp.enclaveKey,
      RELAYER_KEY: pp.relayerKey,
      SERVE: "1",
    };
    const stranger = new Stranger();
    const ledger = newLedger();
    const byLabel: Record<string, { self: number; external: number }> = {};
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);

    for (let k = 0; k < KILLS; k++) {
      const label = LABELS[k % LABELS.length]!;
      const nth = label === "mid-reconcile" ? 1 : 1 + rand(label === "mid-commit" ? 40 : 3);
      const run = runChild({ ...env, PROOFPATH_CRASH_AT: `${label}:${nth}` });
      const stopPolling = stranger.watch(run);
      const exited = await Promise.race([
        run.exit,
        run.waitReturned(1, 60_000).then(() => new Promise<null>((r) => setTimeout(() => r(null), 8_000))),
      ]);
      const rec = (byLabel[label] ??= { self: 0, external: 0 });
      if (exited === null) {
        run.proc.kill("SIGKILL"); // the point was not reached in time: an unlabelled kill
        await run.exit;
        rec.external++;
      } else {
        assert.equal(exited.signal, "SIGKILL", `child exited without the injected crash: ${run.stderr}`);
        rec.self++;
      }
      await stopPolling();
      addRun(ledger, run);
    }

    // A kill after record() returned but before the child reported it: that call settles as served
    // without the ledger having seen its callSeq; verifySettlement accepts it only as the run's call
    // in flight (by requestHash), so this must show up as one servedUnreported.
    const cutOff = runChild({ ...env, KILL_AFTER_RECORD: "5" });
    assert.equal((await cutOff.exit).signal, "SIGKILL", `cut-off run: ${cutOff.stderr}`);
    assert.ok(cutOff.inFlight !== undefined && cutOff.returned.size === 4, "the 5th call is in flight");
    addRun(ledger, cutOff);

    const drain = runChild({ ...env, MODE: "drain" });
    const end = await drain.exit;
    assert.ok(drain.done && end.code === 0, `drain run failed (${JSON.stringify(end)}): ${drain.stderr}`);
    const v = await verifySettlement(anvil.client, pp.settlement, pp.enclave.address, store, ledger);
    const s = await judgeStranger(stranger, {
      domain: settlementDomain(31337, pp.settlement),
      gateway: pp.enclave.address,
      storeFile: store,
      settledEnd: v.settled,
    });
    console.log(`      crash: ${KILLS} kills ${JSON.stringify(byLabel)}; ${JSON.stringify(v)}`);
    console.log(
      `      stranger: ${JSON.stringify({ ...s, statuses: stranger.byStatus, failed: stranger.failed, paths: [...stranger.paths].sort() })}`,
    );
    assert.equal(s.notByEnclave, 0, "every receipt signature the gateway serves is the enclave's");
    assert.equal(
      s.slashable,
      0,
      `the stranger holds ${s.slashable} enclave-signed receipts settled otherwise: ${s.examples.join("; ")}`,
    );
    assert.equal(s.reusedCallSeqs, 0, "two different signed receipts for one callSeq");
    assert.ok(s.receiptSignatures > 0, "the stranger saw no receipt signature at all: it did not test anything");
    assert.ok(v.returned > 0 && v.durable > 0);
    assert.ok(v.servedUnreported >= 1, "the cut-off run's durable call settled as served, unreported");
    // Every label must have fired by itself at least once, or the test did not test it.
    for (const l of LABELS) assert.ok((byLabel[l]?.self ?? 0) > 0, `crash point ${l} never fired`);
  });
});
