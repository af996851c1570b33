/**
 * Validators against the REAL gateway hook (gateway/): the hook records calls, seals, signs and
 * settles batches whose daURI is its own `/da/batches/:batchSeq`; three in-process validators
 * (createValidator, the library entry point) fetch those, spot-check signed receipts at
 * `/da/receipts/:callSeq`, and attest every batch by quorum.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import { Hono } from "hono";
import pino from "pino";
import { keccak256, toHex } from "viem";
import { createHookApp, createSettlementHook, listen, type SettlementHook } from "../../gateway/index.js";
import { BatchStatus, createValidator, type Validator } from "../../validator/index.js";
import { devPrivateKey, freePort } from "../../tools/devchain.js";
import { batchStatus, startTestNet, waitFor, type TestNet, meshPeers } from "./helpers/setup.js";

describe("validators against the real gateway hook", function () {
  this.timeout(120_000);
  let net: TestNet;
  let hook: SettlementHook;
  let da: { close: () => Promise<void> };
  const validators: Validator[] = [];
  const requests: string[] = [];

  before(async () => {
    net = await startTestNet();
    const daPort = await freePort();
    hook = await createSettlementHook({
      store: path.join(net.dir, "gateway.db"),
      enclaveKey: net.enclave,
      relayerKey: devPrivateKey(2),
      rpcUrl: net.anvil.url,
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
    app.use(async (c, next) => {
      requests.push(c.req.path);
      await next();
    });
    app.route("/da", createHookApp(hook));
    da = await listen(app, daPort);
    const ports = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) {
      validators.push(
        await createValidator(
          {
            privateKey: net.validatorKeys[i]!,
            daAllowPrivate: true,
            rpcUrl: net.anvil.url,
            deployment: net.deploymentFile,
            dataDir: path.join(net.dir, `v${i}`),
            port: ports[i]!,
            peers: meshPeers(ports, i),
            pollIntervalMs: 250,
            confirmations: 0,
            submitStaggerMs: 500,
            receiptSamples: 2,
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

  it("test_hookBatches_allAttestedByQuorum_succeeds", async () => {
    const models = [keccak256(toHex("a")), keccak256(toHex("b")), keccak256(toHex("c"))];
    const recorded = [];
    for (let i = 0; i < 21; i++) {
      recorded.push(
        hook.record({
          modelId: models[i % 3]!,
          requestHash: keccak256(toHex(`q${i}`)),
          responseHash: keccak256(toHex(`r${i}`)),
          inputTokens: 50 + i,
          outputTokens: 90 + 2 * i,
        }),
      );
    }
    await Promise.all(recorded.map((r) => r.durable));
    await hook.flush();
    await hook.settled(30_000);
    const batches = [0n, 1n, 2n];
    await waitFor(
      "every hook batch attested",
      async () => {
        const st = await Promise.all(batches.map((s) => batchStatus(net, net.enclave.address, s)));
        return st.every((s) => s === BatchStatus.Attested);
      },
      30_000,
      250,
    );
    assert.ok(
      requests.some((p) => /^\/da\/batches\/\d+$/.test(p)),
      "validators fetched batches from the hook",
    );
    assert.ok(
      requests.some((p) => /^\/da\/receipts\/\d+$/.test(p)),
      "validators spot-checked signed receipts",
    );
    for (const v of validators) {
      for (const r of v.signing.all()) assert.equal(r.verdict, 1, `${v.address} signed ${r.verdict} (${r.reason})`);
    }
  });
});
