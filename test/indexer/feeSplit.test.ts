/**
 * The per-model split of a batch's fee, as the indexer stores it, follows the fee schedule the
 * contract enforced for that very batch, even when governance changes a model's rate between two
 * batches of one block (the handler reads the schedule once a block and must drop it on a change),
 * and when Ponder re-runs events in the same process (the memo must not outlive the rollback).
 */
import assert from "node:assert/strict";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { BlockMemo } from "../../indexer/src/lib/blockMemo.js";
import { usageFee } from "../../sdk/fees.js";
import { localDeployDefaults } from "../../tools/deploy.js";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { MODELS, setupProtocol } from "./helpers/protocol.js";

describe("indexer: fee split per model", function () {
  this.timeout(600_000);
  let anvil: DevChain;
  let ponder: Ponder;

  after(async () => {
    await ponder?.stop();
    await anvil?.stop();
  });

  it("test_feeSplit_modelRateChangedBetweenBatchesOfOneBlock_eachBatchSplitAtItsOwnRate", async () => {
    anvil = await startDevChain();
    const p = await setupProtocol(anvil.url, anvil.rpc);
    const calls = [
      { modelId: MODELS.llama, inputTokens: 1_000, outputTokens: 3_000 },
      { modelId: MODELS.mistral, inputTokens: 2_000, outputTokens: 500 },
    ];
    // A block before, so the handler has read (and remembers) the schedule of an earlier block too.
    await p.submit(calls);
    const old = localDeployDefaults.rate;
    const rate = { perCall: old.perCall * 3n, perKiloInputToken: old.perKiloInputToken * 2n, perKiloOutputToken: 7n };
    const { before, after, block } = await p.modelRateChangeInBlock(MODELS.llama, rate, calls, calls);
    ponder = await startPonder({ deploymentFile: p.deploymentFile, rpcUrl: anvil.url, logName: "fee-split" });
    await ponder.waitForBlock(block, 240_000);

    for (const [header, llamaRate] of [
      [before, old],
      [after, rate],
    ] as const) {
      const b = await ponder.getJson(`/batches/${header.gateway.toLowerCase()}:${header.batchSeq}`);
      assert.equal(b.fee, header.fee.toString(), "the batch's fee as submitted");
      const byModel = new Map(b.usage.map((u: { modelId: string; fee: string }) => [u.modelId, u.fee]));
      for (const u of header.usage) {
        const expected = usageFee(u, u.modelId === MODELS.llama ? llamaRate : old);
        assert.equal(
          byModel.get(u.modelId.toLowerCase()),
          expected.toString(),
          `batch ${header.batchSeq} ${u.modelId}`,
        );
      }
      const sum = b.usage.reduce((n: bigint, u: { fee: string }) => n + BigInt(u.fee), 0n);
      assert.equal(sum, header.fee, "the split adds up to the fee the contract took");
    }
  });

  it("test_blockMemo_eventsReRunAfterRollbackOrOtherBlock_startEmpty", () => {
    const memo = new BlockMemo<number>();
    const block = { hash: `0x${"aa".repeat(32)}` as const };
    const ev = (id: string, b = block) => ({ id, block: b });
    memo.at(ev("0001"), 1).set("default", 1);
    assert.equal(memo.at(ev("0002"), 1).get("default"), 1, "later events of the block share it");
    assert.equal(memo.at(ev("0002"), 2).size, 0, "another chain has its own");
    assert.equal(memo.at(ev("0003"), 1).size, 1);
    // Ponder rolls the tables back and runs the block's events again: what was read after the
    // rollback point may be gone from the tables, so the memo starts over
    assert.equal(memo.at(ev("0001"), 1).size, 0, "an event at or before the last one seen");
    memo.at(ev("0002"), 1).set("default", 2);
    assert.equal(memo.at(ev("0004", { hash: `0x${"bb".repeat(32)}` }), 1).size, 0, "another block");
    memo.at(ev("0005", { hash: `0x${"bb".repeat(32)}` }), 1).set("default", 3);
    memo.drop(1);
    assert.equal(memo.at(ev("0006", { hash: `0x${"bb".repeat(32)}` }), 1).size, 0, "dropped by a rate change");
  });
});
