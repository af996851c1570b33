/**
 * The hook as a production relayer: fee caps against a governance fee raise, RPC failover
 * (gateway and validators), and balance / key-expiry metrics and health warnings.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Hono } from "hono";
import pino from "pino";
import { keccak256, toHex } from "viem";
import { createHookApp, createSettlementHook, listen, type SettlementHook } from "../../gateway/index.js";
import { feeCapViolation } from "../../gateway/seal/sealer.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { localDeployDefaults } from "../../tools/deploy.js";
import { BatchStatus, createValidator, type Validator } from "../../validator/index.js";
import { nextSeqs, settledBatches } from "./helpers/chain.js";
import { devPrivateKey, freePort, startDevChain, type DevChain, devWallet } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import { newLedger } from "./helpers/verify.js";
import { batchStatus, startTestNet, waitFor, type TestNet, meshPeers } from "../validator/helpers/setup.js";
import { delay } from "../../tools/waitFor.js";

/** A gauge's value in a Prometheus text exposition. */
function gauge(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  assert.ok(line, `metric ${name} missing`);
  return Number(line.split(" ")[1]);
}

describe("fee caps: refuse to sign what governance asks above the cap", function () {
  this.timeout(120_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook;
  const cap = 10n ** 14n; // OPG wei per served call; the default schedule costs ≤ ~4e13 per call here
  const base = localDeployDefaults.rate;
  const setFeeRate = async (rate: typeof base) => {
    const owner = devWallet(anvil, 0);
    const hash = await owner.writeContract({
      address: pp.settlement,
      abi: proofSettlementAbi,
      functionName: "setFeeRate",
      args: [rate],
    });
    await anvil.client.waitForTransactionReceipt({ hash });
  };

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-relayer-"));
    hook = await testHook({
      store: path.join(dir, "gw.db"),
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      maxFeePerCall: cap,
      rateRefreshMs: 200,
      warnBatchesLeft: Number.MAX_SAFE_INTEGER,
      warnActiveUntilSec: 10 * 365 * 86_400,
    });
  });
  after(async () => {
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_feeCapViolation_perServedCallAndPerBatch_succeeds", () => {
    const usage = [{ modelId: keccak256(toHex("m")), calls: 3, inputTokens: 0n, outputTokens: 0n }];
    assert.equal(feeCapViolation({ fee: 300n, usage }, { maxFeePerCall: 100n }), undefined);
    assert.match(feeCapViolation({ fee: 301n, usage }, { maxFeePerCall: 100n })!, /maxFeePerCall/);
    assert.equal(feeCapViolation({ fee: 300n, usage }, { maxFeePerBatch: 300n }), undefined);
    assert.match(feeCapViolation({ fee: 301n, usage }, { maxFeePerBatch: 300n })!, /maxFeePerBatch/);
    assert.match(feeCapViolation({ fee: 1n, usage: [] }, { maxFeePerCall: 100n })!, /0 served calls/); // all-void batch: only a zero fee
  });

  it("test_ownerRaisesFeeAboveCap_hookRefusesToSign_thenResumes_succeeds", async () => {
    const ledger = newLedger();
    await recordCalls(hook, 80, ledger);
    await hook.flush();
    await hook.settled(30_000);
    const before = await settledBatches(anvil.client, pp.settlement, pp.enclave.address);
    const seqsBefore = await nextSeqs(anvil.client, pp.settlement, pp.enclave.address);
    assert.ok(before.length >= 2);

    // The attack: the owner raises the rate ×1000; the hook must not sign what the chain now asks.
    await setFeeRate({ ...base, perCall: base.perCall * 1000n });
    await delay(400); // past rateRefreshMs: the cached schedule is stale
    await recordCalls(hook, 150, ledger);
    await hook.flush();
    await waitFor("a batch held by the fee cap", async () => hook.feeCapHeld().length > 0, 15_000, 100);
    await delay(2_500); // submitter steps, rate refreshes: still nothing may go out

    assert.deepEqual(
      await nextSeqs(anvil.client, pp.settlement, pp.enclave.address),
      seqsBefore,
      "nothing settled above the cap",
    );
    assert.equal((await settledBatches(anvil.client, pp.settlement, pp.enclave.address)).length, before.length);
    for (let n = seqsBefore.nextBatchSeq; hook.batch(n); n++) {
      const b = hook.batch(n)!;
      assert.equal(b.signature, null, `batch ${n} signed with fee ${b.header.fee} above the cap`);
      assert.equal(b.status, "sealed");
    }
    const health = hook.health() as {
      ok: boolean;
      warnings: string[];
      feeCap: { held: { batchSeq: number; reason: string }[] };
    };
    assert.equal(health.ok, true);
    assert.ok(health.feeCap.held.length > 0 && /maxFeePerCall/.test(health.feeCap.held[0]!.reason));
    assert.ok(
      health.warnings.some((w) => w.startsWith("fee cap")),
      JSON.stringify(health.warnings),
    );
    const text = await hook.metrics.registry.metrics();
    assert.ok(gauge(text, "proofpath_gateway_fee_cap_refusals_total") >= 1);
    assert.ok(gauge(text, "proofpath_gateway_fee_cap_held_batches") >= 1);

    // The rate comes back down: the held batches are re-priced, signed and settled.
    await setFeeRate(base);
    await hook.settled(60_000);
    assert.equal(hook.feeCapHeld().length, 0);
    const after = await settledBatches(anvil.client, pp.settlement, pp.enclave.address);
    assert.ok(after.length > before.length);
    for (let n = 0; n < after.length; n++) {
      const b = hook.batch(n)!;
      assert.equal(b.status, "confirmed");
      assert.equal(feeCapViolation(b.header, { maxFeePerCall: cap }), undefined, `batch ${n} settled above the cap`);
    }
    assert.equal(gauge(await hook.metrics.registry.metrics(), "proofpath_gateway_fee_cap_held_batches"), 0);
  });

  it("test_balancesAndKeyExpiry_metricsAndHealthWarnings_succeeds", async () => {
    await waitFor("balances read", async () => (hook.health() as { balances: unknown }).balances !== null, 5_000, 100);
    const text = await hook.metrics.registry.metrics();
    assert.ok(gauge(text, "proofpath_gateway_relayer_gas_balance_wei") > 0);
    const deposit = (await anvil.client.readContract({
      address: pp.settlement,
      abi: proofSettlementAbi,
      functionName: "balanceOf",
      args: [pp.enclave.address],
    })) as bigint;
    assert.ok(deposit > 0n);
    assert.ok(
      Math.abs(gauge(text, "proofpath_gateway_opg_deposit_wei") - Number(deposit)) <= Number(deposit) * 1e-6 + 1,
    );
    const left = gauge(text, "proofpath_gateway_active_until_seconds");
    assert.ok(left > 0 && left < 10 * 365 * 86_400, String(left));
    // Thresholds set so both warn: ok stays true, each warning says what to do.
    const h = hook.health() as { ok: boolean; warnings: string[] };
    assert.equal(h.ok, true);
    assert.ok(
      h.warnings.some((w) => w.includes("deposit more")),
      JSON.stringify(h.warnings),
    );
    assert.ok(
      h.warnings.some((w) => w.includes("re-attest")),
      JSON.stringify(h.warnings),
    );
  });
});

describe("RPC failover: first URL dead, second alive", function () {
  this.timeout(120_000);
  let net: TestNet;
  let hook: SettlementHook;
  let da: { close: () => Promise<void> };
  const validators: Validator[] = [];

  before(async () => {
    net = await startTestNet();
    const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens: connection refused
    const rpcUrls = [dead, net.anvil.url];
    const daPort = await freePort();
    hook = await createSettlementHook({
      store: path.join(net.dir, "gateway.db"),
      enclaveKey: net.enclave,
      relayerKey: devPrivateKey(2),
      rpcUrls,
      settlement: net.settlement,
      chainId: net.deployment.chainId,
      daBaseUrl: `http://127.0.0.1:${daPort}/da`,
      batch: { maxCalls: 8, maxAgeMs: 200 },
      confirmations: 1,
      pollMs: 100,
      synchronous: "normal",
      logger: pino({ level: "silent" }),
    });
    const app = new Hono();
    app.route("/da", createHookApp(hook));
    da = await listen(app, daPort);
    const ports = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) {
      validators.push(
        await createValidator(
          {
            privateKey: net.validatorKeys[i]!,
            daAllowPrivate: true,
            rpcUrls,
            deployment: net.deploymentFile,
            dataDir: path.join(net.dir, `v${i}`),
            port: ports[i]!,
            peers: meshPeers(ports, i),
            pollIntervalMs: 250,
            confirmations: 0,
            submitStaggerMs: 500,
            receiptSamples: 1,
            claim: false,
            finalize: false,
          },
          { logger: pino({ level: "silent" }) },
        ),
      );
    }
  });

  after(async () => {
    await Promise.all(validators.map((v) => v.stop()));
    await hook?.close({ drain: false, timeoutMs: 2_000 }).catch(() => undefined);
    await da?.close();
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  it("test_firstRpcDead_hookSettlesAndValidatorsAttest_succeeds", async () => {
    const m = keccak256(toHex("failover"));
    const recorded = [];
    for (let i = 0; i < 12; i++) {
      recorded.push(
        hook.record({
          modelId: m,
          requestHash: keccak256(toHex(`fq${i}`)),
          responseHash: keccak256(toHex(`fr${i}`)),
          inputTokens: 10 + i,
          outputTokens: 20 + i,
        }),
      );
    }
    await Promise.all(recorded.map((r) => r.durable));
    await hook.flush();
    await hook.settled(30_000);
    const batches = [0n, 1n];
    await waitFor(
      "hook batches attested through the second RPC",
      async () => {
        const st = await Promise.all(batches.map((s) => batchStatus(net, net.enclave.address, s)));
        return st.every((s) => s === BatchStatus.Attested);
      },
      30_000,
      250,
    );
    assert.equal((hook.health() as { ok: boolean }).ok, true);
    // Each validator reports its gas balance (read through the failover transport too).
    for (const v of validators)
      assert.ok(gauge(await v.metrics.registry.metrics(), "proofpath_validator_gas_balance_wei") > 0);
  });
});
