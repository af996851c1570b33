/**
 * A store that is missing or behind the chain must never reuse a callSeq. The attack: the gateway's
 * store is lost (new disk) or restored from a backup; the key has already settled batches, and its
 * enclave has signed receipts for callSeqs past the store's end. A gateway that "continues after
 * the chain's state" hands those callSeqs out again with other receipts: equivocation, the bond
 * slashed. Real processes: a gateway child settles calls, then starts on an empty store and on a
 * stale copy of its store; each start must fail closed, hand out nothing, and say what to do.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { nextSeqs } from "./helpers/chain.js";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { buildChild, runChild } from "./helpers/child.js";

describe("gateway store missing or behind the chain", function () {
  this.timeout(240_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let env: Record<string, string>;
  const store = () => path.join(dir, "gateway.db");

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    await buildChild();
    dir = mkdtempSync(path.join(tmpdir(), "pp-behind-"));
    env = { RPC_URL: anvil.url, SETTLEMENT: pp.settlement, ENCLAVE_KEY: pp.enclaveKey, RELAYER_KEY: pp.relayerKey };
  });
  after(async () => {
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function settleCalls(n: number): Promise<void> {
    const run = runChild({ ...env, STORE: store(), CALLS: String(n) });
    const end = await run.exit;
    assert.ok(run.done && end.code === 0, `settling run failed (${JSON.stringify(end)}): ${run.stderr}`);
  }

  async function refusedStart(storeFile: string): Promise<string> {
    const run = runChild({ ...env, STORE: storeFile, CALLS: "50" });
    const end = await Promise.race([run.exit, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
    if (end === null) run.proc.kill("SIGKILL");
    assert.notEqual(end, null, "the gateway kept running on a store behind the chain");
    assert.equal(
      run.returned.size,
      0,
      `a store behind the chain handed out callSeqs ${[...run.returned.keys()].slice(0, 5).join(", ")}…`,
    );
    assert.notEqual(end!.code, 0, "the gateway must fail closed");
    return run.stderr;
  }

  it("test_storeLostOrRestoredFromBackup_neverReusesCallSeq_failsClosedWithAdvice", async () => {
    await settleCalls(150);
    const backup = path.join(dir, "backup.db");
    copyFileSync(store(), backup);
    for (const ext of ["-wal", "-shm"]) if (existsSync(store() + ext)) copyFileSync(store() + ext, backup + ext);
    await settleCalls(150);
    const chain = await nextSeqs(anvil.client, pp.settlement, pp.enclave.address);
    assert.ok(chain.nextCallSeq >= 300 && chain.nextBatchSeq > 0);

    // A lost store: an empty one for a key that has settled batches.
    const lost = await refusedStart(path.join(dir, "new-disk.db"));
    assert.match(lost, /behind the chain/);
    assert.match(lost, /key succession/);

    // A store restored from a backup taken before the last run.
    const restored = await refusedStart(backup);
    assert.match(restored, /behind the chain/);
    assert.match(restored, /key succession/);

    // Neither attempt moved the chain, and the real store still works.
    assert.deepEqual(await nextSeqs(anvil.client, pp.settlement, pp.enclave.address), chain);
    await settleCalls(20);
  });
});
