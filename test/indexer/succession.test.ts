/**
 * Key succession through the indexer: after GatewayRegistry.succeed, the gateway view shows the
 * retired key with its successor and the successor with the account it signs for.
 */
import assert from "node:assert/strict";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { setupProtocol } from "./helpers/protocol.js";

describe("indexer: key succession", function () {
  this.timeout(600_000);
  let anvil: DevChain;
  let ponder: Ponder;

  after(async () => {
    await ponder?.stop();
    await anvil?.stop();
  });

  it("test_gatewayView_enclaveSucceeded_showsRetiredKeyAndItsSuccessor_succeeds", async () => {
    anvil = await startDevChain();
    const p = await setupProtocol(anvil.url, anvil.rpc);
    const retired = p.gateway.address.toLowerCase();
    const successor = (await p.addGateway()).address.toLowerCase();
    await p.submit([{ modelId: `0x${"ab".repeat(32)}`, inputTokens: 1, outputTokens: 2 }]);
    const tx = await p.succeed(retired as `0x${string}`, successor as `0x${string}`);
    const { number: blockNumber, timestamp } = await p.pub.getBlock({
      blockNumber: (await p.pub.getTransactionReceipt({ hash: tx })).blockNumber,
    });
    ponder = await startPonder({ deploymentFile: p.deploymentFile, rpcUrl: anvil.url, logName: "succession" });
    await ponder.waitForBlock(blockNumber, 240_000);

    const old = await ponder.getJson(`/gateways/${retired}`);
    assert.equal(old.successor, successor);
    assert.equal(old.retiredAt, timestamp.toString());
    assert.equal(old.status, "deactivated", "a retired key never signs again");
    assert.equal(old.predecessor, null);
    assert.equal(old.batches, 1, "its settled batches stay on its row");
    const next = await ponder.getJson(`/gateways/${successor}`);
    assert.equal(next.predecessor, retired);
    assert.equal(next.successor, null);
    assert.equal(next.status, "active");
  });
});
