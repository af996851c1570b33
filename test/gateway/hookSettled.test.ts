/**
 * `hook.settled()` while the sealer is busy between sealing a batch and storing it: the batch's
 * receipts have left the sealer's queue, yet its row is not in the store, so neither shows anything
 * unsettled. settled() must wait for that batch, not resolve on the empty window. The window is held
 * open for real: another connection holds SQLite's write lock, so the commit worker's write of the
 * sealed batch waits (within its busy timeout) until the test lets it go.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { delay, waitFor } from "../../tools/waitFor.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import { newLedger } from "./helpers/verify.js";
import type { SettlementHook } from "../../gateway/index.js";

describe("hook.settled()", function () {
  this.timeout(120_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook;

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-settled-"));
  });
  after(async () => {
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_hookSettled_batchSealedNotYetStored_waitsUntilStoredAndConfirmed_succeeds", async () => {
    const store = path.join(dir, "gw.db");
    hook = await testHook({
      store,
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      // Nothing seals by itself: the test seals with flush() once the write lock is held.
      batch: { maxCalls: 1024, maxAgeMs: 600_000 },
    });
    await recordCalls(hook, 10, newLedger()); // durable, queued in the sealer
    const lock = new DatabaseSync(store);
    lock.exec("PRAGMA busy_timeout=5000; BEGIN IMMEDIATE");
    let released = false;
    try {
      const flushed = hook.flush(); // seals: tree, header, signature, then the write that waits on the lock
      await waitFor("the sealed batch's receipts to leave the queue", () => hook.health().queued === 0, 10_000, 10);
      assert.deepEqual(hook.health().batches, {}, "the batch is not in the store yet");
      let settled = false;
      const done = hook.settled(60_000).then(() => void (settled = true));
      await delay(500); // settled() polls every 100 ms: several polls see the empty window
      assert.equal(settled, false, "settled() resolved while a sealed batch was not stored");
      lock.exec("ROLLBACK");
      released = true;
      await flushed;
      await done;
      assert.deepEqual(hook.health().batches, { confirmed: 1 }, "settled means the batch is confirmed");
    } finally {
      if (!released) lock.exec("ROLLBACK");
      lock.close();
    }
  });
});
