/**
 * Reorgs on a real anvil (`anvil_reorg`): batches confirmed at depth 2 are reorged out; the hook
 * must notice (nextSeqs drops below them), settle them again, and never settle one twice.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { nextSeqs, settledBatches } from "./helpers/chain.js";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { newLedger, verifySettlement } from "./helpers/verify.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import type { SettlementHook } from "../../gateway/index.js";
import { waitFor } from "../../tools/waitFor.js";

describe("gateway reorg handling (anvil_reorg)", function () {
  this.timeout(180_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook | undefined;

  before(async () => {
    anvil = await startDevChain({ stderr: "inherit" }); // automine only: the test decides when blocks come
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-reorg-"));
  });
  after(async () => {
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_reorg_confirmedBatchesReorgedOut_settledAgainOnce_succeeds", async () => {
    const store = path.join(dir, "gateway.db");
    const ledger = newLedger();
    const gw = pp.enclave.address;
    hook = await testHook({
      store,
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      confirmations: 2,
    });
    const mine = (n: number) => anvil.test.mine({ blocks: n });

    let reorgs = 0;
    for (let round = 0; round < 3; round++) {
      await recordCalls(hook, 150, ledger); // 3 batches of ≤ 64
      await hook.flush();
      const sealedSoFar = Math.ceil(ledger.returned.size / 64);
      await waitFor(
        "batches included",
        async () => (await nextSeqs(anvil.client, pp.settlement, gw)).nextCallSeq === ledger.returned.size,
        30_000,
        100,
      );
      await mine(2);
      await waitFor(
        "batches confirmed",
        () => ((hook!.health().batches as Record<string, number>).confirmed ?? 0) >= sealedSoFar - 1,
        30_000,
        100,
      );
      const before = await nextSeqs(anvil.client, pp.settlement, gw);
      const head = await anvil.client.getBlockNumber({ cacheTime: 0 });
      const last = (await settledBatches(anvil.client, pp.settlement, gw)).at(-1)!;
      const receipt = await anvil.client.getTransactionReceipt({ hash: last.txHash });
      const depth = Number(head - receipt.blockNumber) + 1 + round; // at least the last batch, sometimes more
      await anvil.rpc("anvil_reorg", [depth, []]); // not among viem's test actions
      const after = await nextSeqs(anvil.client, pp.settlement, gw);
      assert.ok(
        after.nextBatchSeq < before.nextBatchSeq,
        `reorg of depth ${depth} did not remove a batch (${before.nextBatchSeq} -> ${after.nextBatchSeq})`,
      );
      reorgs += before.nextBatchSeq - after.nextBatchSeq;
      // Keep the chain moving so resubmissions get mined and confirmed.
      await waitFor(
        "re-settled",
        async () => {
          await mine(1);
          return (await nextSeqs(anvil.client, pp.settlement, gw)).nextBatchSeq >= before.nextBatchSeq;
        },
        60_000,
        100,
      );
    }
    await mine(3);
    await hook.settled(60_000);
    const reorged = (await hook.metrics.reorged.get()).values[0]?.value ?? 0;
    await hook.close();
    hook = undefined;
    const v = await verifySettlement(anvil.client, pp.settlement, gw, store, ledger);
    console.log(
      `      reorg: ${reorgs} batch settlements reorged out, hook resubmitted ${reorged}; ${JSON.stringify(v)}`,
    );
    assert.ok(reorged >= 1, "the hook never noticed a reorg");
    // settledBatches() asserts (in verifySettlement) one canonical BatchSubmitted per batchSeq.
    assert.equal(v.served, v.returned);
  });
});
