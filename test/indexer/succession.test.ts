/**
 * Key succession through the indexer: after GatewayRegistry.succeed, the gateway view shows the
 * retired key with its successor and the successor with the account it signs for; after
 * closeAccount, the account's end; after an orphan proof, the slash.
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

  it("test_gatewayView_enclaveSucceededClosedAndOrphanProven_showsSuccessorEndAndSlash_succeeds", async () => {
    anvil = await startDevChain();
    const p = await setupProtocol(anvil.url, anvil.rpc);
    const retired = p.gateway.address.toLowerCase();
    const successor = (await p.addGateway()).address.toLowerCase();
    await p.submit([{ modelId: `0x${"ab".repeat(32)}`, inputTokens: 1, outputTokens: 2 }]);
    const tx = await p.succeed(retired as `0x${string}`, successor as `0x${string}`);
    const { timestamp } = await p.pub.getBlock({
      blockNumber: (await p.pub.getTransactionReceipt({ hash: tx })).blockNumber,
    });
    // The successor had nothing left to settle: the operator closes the account at its end (1 call),
    // and a user holding the retired key's receipt for callSeq 1 proves it orphaned.
    const closeTx = await p.closeAccount(retired as `0x${string}`);
    const closedAt = (
      await p.pub.getBlock({ blockNumber: (await p.pub.getTransactionReceipt({ hash: closeTx })).blockNumber })
    ).timestamp;
    const proofTx = await p.proveOrphan(retired as `0x${string}`, 1n, 5);
    const blockNumber = (await p.pub.getTransactionReceipt({ hash: proofTx })).blockNumber;
    ponder = await startPonder({ deploymentFile: p.deploymentFile, rpcUrl: anvil.url, logName: "succession" });
    await ponder.waitForBlock(blockNumber, 240_000);

    const old = await ponder.getJson(`/gateways/${retired}`);
    assert.equal(old.successor, successor);
    assert.equal(old.retiredAt, timestamp.toString());
    assert.equal(old.status, "slashed", "a retired key never signs again, and the orphan proof slashed it");
    assert.equal(old.closedAt, closedAt.toString());
    assert.equal(old.accountEnd, "1");
    assert.equal(old.orphansProven, 1);
    assert.equal(old.bond, "0");
    assert.equal(old.predecessor, null);
    assert.equal(old.batches, 1, "its settled batches stay on its row");
    const next = await ponder.getJson(`/gateways/${successor}`);
    assert.equal(next.predecessor, retired);
    assert.equal(next.successor, null);
    assert.equal(next.status, "active");
    assert.equal(next.closedAt, null);
    assert.equal(next.orphansProven, 0);
  });
});
