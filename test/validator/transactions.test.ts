/**
 * The validator sends through the SDK's transaction manager (sdk/transactions.ts): its attest
 * transaction, dropped from the node's mempool, is broadcast again and the batch is attested.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { freePort } from "../../tools/devchain.js";
import { BatchStatus, createValidator, type Validator } from "../../validator/index.js";
import { startFakeGateway, type FakeGateway } from "./helpers/fakeGateway.js";
import {
  batchStatus,
  headerFor,
  makeLeaves,
  meshPeers,
  nextSeqs,
  startTestNet,
  submit,
  type TestNet,
  waitFor,
} from "./helpers/setup.js";

describe("validator transactions through the transaction manager", function () {
  this.timeout(90_000);
  let net: TestNet;
  let gw: FakeGateway;
  const validators: Validator[] = [];

  before(async () => {
    net = await startTestNet({ blockTime: 0 });
    gw = await startFakeGateway({ enclave: net.enclave, chainId: net.deployment.chainId, settlement: net.settlement });
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
            pollIntervalMs: 200,
            submitStaggerMs: 30_000, // one sender: the rank-0 validator
            finalize: false,
            claim: false,
            bumpAfterMs: 60_000, // the dropped transaction is re-sent as it was, not replaced
          },
          { logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) },
        ),
      );
    }
  });

  after(async () => {
    await Promise.all(validators.map((v) => v.stop()));
    await gw?.close();
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  const addresses = () => net.validatorKeys.slice(0, 3).map((k) => privateKeyToAccount(k).address);
  /** The validators with a transaction in the node's mempool. */
  const pendingSenders = async (): Promise<Address[]> => {
    const out: Address[] = [];
    for (const address of addresses()) {
      const [latest, pending] = await Promise.all([
        net.anvil.client.getTransactionCount({ address, blockTag: "latest" }),
        net.anvil.client.getTransactionCount({ address, blockTag: "pending" }),
      ]);
      if (pending > latest) out.push(address);
    }
    return out;
  };

  it("test_validator_attestDroppedFromMempool_resentAndBatchAttested_succeeds", async () => {
    const { callSeq, batchSeq } = await nextSeqs(net.anvil.client, net.settlement, net.enclave.address);
    const leaves = makeLeaves(net.enclave.address, callSeq, 3);
    gw.setBatch(batchSeq, leaves);
    await net.anvil.test.setAutomine(false);
    try {
      const header = await headerFor(net, net.enclave, batchSeq, leaves, gw.url);
      const submitted = submit(net, net.enclave, header);
      await waitFor(
        "submitBatch in the mempool",
        async () => (await net.anvil.client.getBlock({ blockTag: "pending" })).transactions.length > 0,
      );
      await net.anvil.test.mine({ blocks: 1 });
      await submitted;

      const [sender] = await waitFor(
        "an attest transaction in the mempool",
        async () => {
          const s = await pendingSenders();
          return s.length > 0 ? s : undefined;
        },
        30_000,
      );
      await net.anvil.rpc("anvil_dropAllTransactions");
      // The validator's transaction manager sees it gone and broadcasts it again.
      await waitFor("the attest broadcast again", async () => (await pendingSenders()).includes(sender!), 30_000);
      await net.anvil.test.mine({ blocks: 1 });
      await waitFor(
        "Attested",
        async () => (await batchStatus(net, net.enclave.address, batchSeq)) === BatchStatus.Attested,
        20_000,
      );
      const v = validators.find((x) => x.address === sender)!;
      assert.equal((await v.metrics.feeBumps.get()).values[0]?.value ?? 0, 0, "re-sent as it was, not replaced");
    } finally {
      await net.anvil.test.setAutomine(true);
    }
  });
});
