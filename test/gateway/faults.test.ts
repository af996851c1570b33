/**
 * RPC faults: the hook talks to anvil only through a proxy that drops connections, loses
 * responses, delays, answers 5xx/429/internal errors and fake "nonce too low" / "replacement
 * underpriced". Load keeps coming while faults are injected; then the proxy turns transparent and
 * every batch must settle exactly once. CI injects ≥ 100 faults; FULL=1 ≥ 1,000.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { startFaultProxy, type FaultProxy } from "./helpers/faultProxy.js";
import { newLedger, verifySettlement } from "./helpers/verify.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import { delay } from "../../tools/waitFor.js";

const FULL = process.env.FULL === "1";
const TARGET_FAULTS = Number(process.env.FAULTS ?? (FULL ? 1_000 : 100));

describe("gateway submission under RPC faults", function () {
  this.timeout(FULL ? 1_800_000 : 180_000);
  let anvil: DevChain;
  let pp: DevNet;
  let proxy: FaultProxy;
  let dir: string;

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    proxy = await startFaultProxy(anvil.url, 0.4, 7);
    dir = mkdtempSync(path.join(tmpdir(), "pp-faults-"));
  });
  after(async () => {
    await proxy?.close();
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`test_faults_${TARGET_FAULTS}Injected_everyBatchSettlesOnce_succeeds`, async () => {
    const store = path.join(dir, "gateway.db");
    const ledger = newLedger();
    // The hook starts while faults are already on: startup reconciliation retries too.
    const hook = await testHook({
      store,
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: proxy.url,
      settlement: pp.settlement,
      maxInFlight: 4,
    });
    const t0 = Date.now();
    while (proxy.total() < TARGET_FAULTS) {
      await recordCalls(hook, 40, ledger);
      await delay(50); // load pacing, not a wait: the loop runs until enough faults are in
      assert.ok(Date.now() - t0 < (FULL ? 1_500_000 : 150_000), `only ${proxy.total()} faults injected in time`);
    }
    proxy.rate = 0;
    await hook.flush();
    await hook.settled(FULL ? 300_000 : 60_000);
    const reorged = (await hook.metrics.reorged.get()).values[0]?.value ?? 0;
    const bumps = (await hook.metrics.feeBumps.get()).values[0]?.value ?? 0;
    await hook.close();
    const v = await verifySettlement(anvil.client, pp.settlement, pp.enclave.address, store, ledger);
    console.log(
      `      faults: ${proxy.total()} ${JSON.stringify(proxy.counts)}; fee bumps ${bumps}, reorged ${reorged}; ${JSON.stringify(v)}`,
    );
    assert.equal(v.voided, 0, "no crash here: nothing may be voided");
    assert.equal(v.served, v.returned);
  });
});
