/**
 * The gateway's submitter sends through the SDK's transaction manager (sdk/transactions.ts): with
 * the base fee spiked above the relayer's `maxFeePerGas` cap it signs nothing, reports the cap
 * (FeeCapExceededError in /health's lastError), and settles once the base fee has fallen back.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseGwei } from "viem";
import type { SettlementHook } from "../../gateway/index.js";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { waitFor } from "../../tools/waitFor.js";
import { nextSeqs } from "./helpers/chain.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import { newLedger, verifySettlement } from "./helpers/verify.js";

describe("gateway submitter through the transaction manager", function () {
  this.timeout(120_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook | undefined;

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-gw-tx-"));
  });
  after(async () => {
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_submitter_baseFeeAboveMaxFeePerGas_signsNothingReportsCap_settlesWhenFeesFall", async () => {
    const cap = parseGwei("50");
    // A fee spike: the next block's base fee is 4× the cap; empty blocks then lower it by 12.5 %
    // each, so it is back under the cap some 11 blocks (s) later.
    await anvil.rpc("anvil_setNextBlockBaseFeePerGas", [`0x${parseGwei("200").toString(16)}`]);
    await waitFor(
      "the spiked block",
      async () => ((await anvil.client.getBlock()).baseFeePerGas ?? 0n) > 4n * (cap / 5n),
      10_000,
      100,
    );
    const store = path.join(dir, "gw.db");
    hook = await testHook({
      store,
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      confirmations: 1,
      maxFeePerGas: cap,
    });
    const ledger = newLedger();
    await recordCalls(hook, 50, ledger);
    await hook.flush();
    const h = hook;
    const reported = await waitFor(
      "the fee cap reported",
      () => {
        const e = (h.health() as { lastError: string | null }).lastError;
        return e && /maxFeePerGas cap/.test(e) ? e : undefined;
      },
      10_000,
      50,
    );
    assert.match(reported, new RegExp(`cap \\(${cap} wei/gas\\)`));
    assert.equal(
      (await nextSeqs(anvil.client, pp.settlement, pp.enclave.address)).nextBatchSeq,
      0,
      "nothing sent above the cap",
    );
    // The base fee falls block by block: the same batches go out, under the cap.
    await hook.settled(60_000);
    const settled = await nextSeqs(anvil.client, pp.settlement, pp.enclave.address);
    assert.ok(settled.nextBatchSeq >= 1);
    for (let n = 0; n < settled.nextBatchSeq; n++) {
      const b = hook.batch(n)!;
      const tx = await anvil.client.getTransaction({ hash: b.tx!.hash as `0x${string}` });
      assert.ok(tx.maxFeePerGas! <= cap, `batch ${n} signed at ${tx.maxFeePerGas} wei/gas, above the cap`);
    }
    assert.equal((hook.health() as { lastError: string | null }).lastError, null);
    await hook.close();
    hook = undefined;
    const v = await verifySettlement(anvil.client, pp.settlement, pp.enclave.address, store, ledger);
    assert.equal(v.served, v.returned);
  });
});
