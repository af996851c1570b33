/**
 * A reorg that lands while a validator is verifying a batch. The replacement batch takes the same
 * batchSeq, so its receipts appear at the same DA URL: a validator that signed on what it read
 * before the reorg would sign a verdict for a batch no longer on chain, judged on another batch's
 * receipts (and its signing record would hold it to that verdict if the first batch came back).
 * The fake gateway reorgs the chain in the middle of the validator's DA request, every time. The
 * replacement lands at the height already scanned and nothing is mined after it, so the watcher
 * must notice the head's new hash to find it.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { hashHeader } from "../../sdk/hashing.js";
import { createValidator, type Validator } from "../../validator/index.js";
import { freePort } from "../../tools/devchain.js";
import { startFakeGateway, type FakeGateway } from "./helpers/fakeGateway.js";
import { headerFor, makeLeaves, nextSeqs, startTestNet, submit, type TestNet } from "./helpers/setup.js";

describe("validator: a reorg during verification", function () {
  this.timeout(60_000);
  let net: TestNet;
  let gw: FakeGateway;
  let validator: Validator;

  before(async () => {
    net = await startTestNet({ blockTime: 0 });
    gw = await startFakeGateway({ enclave: net.enclave, chainId: net.deployment.chainId, settlement: net.settlement });
    // Rounds run only when the test calls tick() (the first one runs at start, before any batch).
    validator = await createValidator(
      {
        privateKey: net.validatorKeys[0]!,
        daAllowPrivate: true,
        rpcUrl: net.anvil.url,
        deployment: net.deploymentFile,
        dataDir: path.join(net.dir, "v0"),
        port: await freePort(),
        peers: [],
        pollIntervalMs: 3_600_000,
        finalize: false,
        claim: false,
      },
      { logger: pino({ level: "silent" }) },
    );
    await validator.tick();
  });

  after(async () => {
    await validator?.stop();
    await gw?.close();
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  it("test_reorgDuringDaFetch_signsNothingForTheGoneBatch_thenVerifiesItsReplacement_succeeds", async () => {
    const client = net.anvil.client;
    const { callSeq, batchSeq } = await nextSeqs(client, net.settlement, net.enclave.address);
    const snap = await net.anvil.test.snapshot();
    const xLeaves = makeLeaves(net.enclave.address, callSeq, 4);
    const x = await headerFor(net, net.enclave, batchSeq, xLeaves, gw.url);
    await submit(net, net.enclave, x);
    gw.setBatch(batchSeq, xLeaves);

    // When the validator asks for X's receipts: reorg X out, submit Y at the same batchSeq, and
    // answer with Y's receipts (what the gateway now serves at that URL).
    const yLeaves = makeLeaves(net.enclave.address, callSeq, 5);
    let y: Awaited<ReturnType<typeof headerFor>> | undefined;
    gw.onBatchRequest(async (seq) => {
      if (seq !== batchSeq || y) return;
      assert.equal(await net.anvil.rpc("evm_revert", [snap]), true, "the snapshot was there");
      y = await headerFor(net, net.enclave, batchSeq, yLeaves, gw.url);
      await submit(net, net.enclave, y);
      gw.setBatch(batchSeq, yLeaves);
    });

    await validator.tick();
    assert.ok(y, "the validator never asked for X's receipts");
    const xHash = hashHeader(x);
    const yHash = hashHeader(y);
    assert.notEqual(xHash, yHash);
    assert.equal(validator.signing.get(xHash), undefined, "signed a verdict for a batch a reorg had removed");
    assert.equal(validator.state.get(xHash)?.status, "dropped");

    // Y sits at the height the validator already scanned and no block follows it (an idle chain):
    // the watcher still finds it, since the head's hash changed. Y's receipts match: it is attested.
    gw.onBatchRequest(undefined);
    await validator.tick();
    assert.equal(validator.signing.get(yHash)?.verdict, 1);
    assert.equal(validator.signing.get(xHash), undefined);
  });
});
