/**
 * On an automining chain with no other traffic the latest block's timestamp stands still, so a
 * validator that judged "window over?" by it, or simulated against it, would never finalize.
 * Validators (in-process) must still attest, finalize once the window has passed in wall time,
 * and claim their rewards.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { opgTokenAbi } from "../../sdk/abis.js";
import { BatchStatus, createValidator, type Validator } from "../../validator/index.js";
import { freePort } from "../../tools/devchain.js";
import { startFakeGateway, type FakeGateway } from "./helpers/fakeGateway.js";
import {
  attestersOf,
  batchStatus,
  headerFor,
  makeLeaves,
  nextSeqs,
  startTestNet,
  submit,
  waitFor,
  type TestNet,
  meshPeers,
} from "./helpers/setup.js";

describe("validators on an idle automining chain", function () {
  this.timeout(60_000);
  let net: TestNet;
  let gw: FakeGateway;
  const validators: Validator[] = [];

  before(async () => {
    net = await startTestNet({ blockTime: 0, challengeWindow: 3 });
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
            submitStaggerMs: 300,
            claimIntervalMs: 500, // default confirmations (0)
          },
          { logger: pino({ level: "silent" }) },
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

  it("test_idleChain_finalizeAndClaimInWallTime_succeeds", async () => {
    const { callSeq, batchSeq } = await nextSeqs(net.anvil.client, net.settlement, net.enclave.address);
    const leaves = makeLeaves(net.enclave.address, callSeq, 3);
    gw.setBatch(batchSeq, leaves);
    await submit(net, net.enclave, await headerFor(net, net.enclave, batchSeq, leaves, gw.url));
    await waitFor(
      "Finalized",
      async () => (await batchStatus(net, net.enclave.address, batchSeq)) === BatchStatus.Finalized,
      20_000,
      200,
    );
    // Only the attestation's signers earn the batch's fees (v2); the first of them claims.
    const [signer] = await attestersOf(net, net.enclave.address, batchSeq);
    const bal = await waitFor(
      "rewards claimed",
      async () => {
        const b = await net.anvil.client.readContract({
          address: net.deployment.contracts.OPGToken,
          abi: opgTokenAbi,
          functionName: "balanceOf",
          args: [signer!],
        });
        return b > 0n ? b : undefined;
      },
      10_000,
      200,
    );
    assert.ok(bal > 0n);
  });
});
