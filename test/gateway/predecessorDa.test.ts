/**
 * Attack review (session 10): a successor serves a dead key's batches at
 * `/da/accounts/<dead>/batches/<n>` and `/da/predecessors/<dead>/batches/<n>`. Those answers are
 * whole batches, like `/batches/<n>`, but were served outside the byte budget that bounds what a
 * stranger can pull from the gateway. Real parts: anvil, the dead key's hook settling its batches,
 * the registry's succession, the successor's hook, its HTTP app and its DA worker.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createWalletClient, http } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { createHookApp } from "../../gateway/serve/http.js";
import { registerEnclave, succeedEnclave } from "../../gateway/registration.js";
import { startDaServer, type SettlementHook } from "../../gateway/index.js";
import { devAccount, startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { testHook, recordCalls } from "./helpers/hookRun.js";
import { newLedger } from "./helpers/verify.js";

describe("predecessor DA routes under hostile traffic", function () {
  this.timeout(300_000);
  let dir: string;
  let anvil: DevChain;
  let pp: DevNet;
  let successor: SettlementHook | undefined;
  const deadStore = () => path.join(dir, "dead", "gateway.db");

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "pp-preda-"));
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    // The dead key settles a few batches of its own, then dies.
    const dead = await testHook({
      store: deadStore(),
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
    });
    await recordCalls(dead, 200, newLedger());
    await dead.flush();
    await dead.settled(120_000);
    await dead.close();

    const owner = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(0) });
    const nextKey = generatePrivateKey();
    const next = privateKeyToAccount(nextKey);
    await registerEnclave(anvil.client, { deployment: pp.deployment, owner, enclave: next, validators: pp.validators });
    await succeedEnclave(anvil.client, {
      deployment: pp.deployment,
      operator: owner,
      predecessor: pp.enclave.address,
      successor: next.address,
    });
    successor = await testHook({
      store: path.join(dir, "next", "gateway.db"),
      enclaveKey: nextKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      predecessors: [{ account: pp.enclave.address, store: deadStore() }],
    });
  });

  after(async () => {
    await successor?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_attack_strangerPullsPredecessorBatches_bytesCappedByBudget", async () => {
    const hook = successor!;
    const dead = pp.enclave.address;
    // Request limits wide open: only the byte budget stands between 200 pulls and the gateway.
    const open = { perClient: { rate: 1e6, burst: 1e6 }, global: { rate: 1e6, burst: 1e6 }, maxInFlight: 1e6 };
    const paths = [`/accounts/${dead}/batches/0`, `/predecessors/${dead}/batches/0`];
    for (const p of paths) {
      const first = await createHookApp(hook, open, open).request(p);
      assert.equal(first.status, 200, `${p} serves the dead key's batch`);
      const one = (await first.arrayBuffer()).byteLength;
      assert.ok(one > 10_000, `a whole batch (${one} bytes)`);
      const app = createHookApp(hook, open, open, { rate: one * 2, burst: one * 3 });
      const t0 = performance.now();
      const answers = await Promise.all(Array.from({ length: 200 }, () => app.request(p)));
      const sec = (performance.now() - t0) / 1000;
      const ok = answers.filter((a) => a.status === 200).length;
      assert.ok(
        ok <= 3 + Math.ceil(2 * sec) + 1,
        `${p}: ${ok} whole batches (${ok * one} bytes) sent in ${sec.toFixed(2)} s past a budget of 3 batches + 2/s`,
      );
      for (const a of answers.filter((x) => x.status !== 200)) {
        assert.equal(a.status, 429);
        assert.ok(Number(a.headers.get("retry-after")) >= 1);
      }
    }
  });

  it("test_attack_strangerPullsPredecessorBatchesFromDaWorker_cachedBytesCappedByBudget", async () => {
    const hook = successor!;
    const dead = pp.enclave.address;
    const open = { perClient: { rate: 1e6, burst: 1e6 }, global: { rate: 1e6, burst: 1e6 }, maxInFlight: 1e6 };
    const paths = [`/accounts/${dead}/batches/0`, `/predecessors/${dead}/batches/0`];
    const want = await (await createHookApp(hook, open, open).request(paths[0]!)).text();
    const one = Buffer.byteLength(want);
    for (const p of paths) {
      const da = await startDaServer(hook, {
        limits: open,
        batchLimits: open,
        batchBytes: { rate: one * 2, burst: one * 3 },
        pace: false,
      });
      try {
        const t0 = performance.now();
        const answers = await Promise.all(Array.from({ length: 100 }, () => fetch(`${da.url}${p}`)));
        const sec = (performance.now() - t0) / 1000;
        const ok = answers.filter((a) => a.status === 200);
        assert.ok(ok.length >= 1, `${p} serves the dead key's batch from the DA worker`);
        assert.ok(
          ok.length <= 3 + Math.ceil(2 * sec) + 1,
          `${p}: ${ok.length} whole batches sent in ${sec.toFixed(2)} s past a budget of 3 batches + 2/s`,
        );
        for (const a of ok) assert.equal(await a.text(), want, "the inline answer, byte for byte");
        for (const a of answers.filter((x) => x.status !== 200)) {
          assert.equal(a.status, 429);
          assert.ok(Number(a.headers.get("retry-after")) >= 1);
          await a.body?.cancel();
        }
        assert.equal((await da.stats()).batchAnswersBuilt, 1, `${p}: ${ok.length} answers, 1 built`);
      } finally {
        await da.close();
      }
    }
  });
});
