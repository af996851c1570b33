/**
 * A hostile gateway's DA against a running indexer (receipt indexing on, as `npm start` runs it).
 * The chain sees only a batch's root, and a root commits to leaf hashes, not to their order: a
 * gateway with an active key can settle a root over leaves that repeat a callSeq. The indexer used to
 * check the leaves' count and root only and insert one `call` row per receipt keyed
 * `${gateway}:${callSeq}`: the repeated key was a fatal primary-key conflict inside the handler, and
 * the indexer stopped for good (it replays the same event on every restart). Found by an attack review.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createWalletClient, http, keccak256, toHex, type Hex } from "viem";
import { foundry } from "viem/chains";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { settlementDomain, signHeader } from "../../sdk/eip712.js";
import { computeFee } from "../../sdk/fees.js";
import { receiptLeaf } from "../../sdk/hashing.js";
import { buildTree } from "../../sdk/merkle.js";
import { localDeployDefaults } from "../../tools/deploy.js";
import { devAccount, startDevChain, type DevChain } from "../../tools/devchain.js";
import { MODELS, setupProtocol } from "./helpers/protocol.js";

describe("indexer against a hostile gateway's DA", function () {
  this.timeout(600_000);
  let anvil: DevChain | undefined;
  let ponder: Ponder | undefined;
  let da: Server | undefined;

  after(async () => {
    await ponder?.stop();
    da?.close();
    await anvil?.stop();
  });

  it("test_attack_settledLeavesRepeatACallSeq_indexerKeepsIndexing", async () => {
    anvil = await startDevChain();
    const p = await setupProtocol(anvil.url, anvil.rpc);
    const gw = p.gateway;
    const servedAt = BigInt(Date.now()) - 2_000n;
    const receipt = (i: number) => ({
      gateway: gw.address,
      callSeq: 0n, // both leaves say callSeq 0
      modelId: MODELS.llama as Hex,
      requestHash: keccak256(toHex(`req:${i}`)),
      responseHash: keccak256(toHex(`res:${i}`)),
      inputTokens: 10,
      outputTokens: 20,
      servedAt: servedAt + BigInt(i),
    });
    const receipts = [receipt(0), receipt(1)];
    da = createServer((_req, res) => {
      const body = receipts.map((r) => ({
        kind: "served",
        ...r,
        callSeq: r.callSeq.toString(),
        servedAt: r.servedAt.toString(),
      }));
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ gateway: gw.address, receipts: body }));
    });
    await new Promise<void>((resolve) => da!.listen(0, "127.0.0.1", resolve));

    const usage = [{ modelId: MODELS.llama as Hex, calls: 2, inputTokens: 20n, outputTokens: 40n }];
    const header = {
      gateway: gw.address,
      batchSeq: 0n,
      firstCallSeq: 0n,
      count: 2,
      root: buildTree(receipts.map(receiptLeaf)).root,
      usage,
      fee: computeFee(usage, localDeployDefaults.rate),
      firstServedAt: servedAt,
      lastServedAt: servedAt + 1n,
      daURI: `http://127.0.0.1:${(da.address() as AddressInfo).port}/batches/0`,
    };
    const sig = await signHeader(gw, settlementDomain(p.chainId, p.deployment.contracts.ProofSettlement), header);
    const wallet = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(6) });
    const tx = await wallet.writeContract({
      address: p.deployment.contracts.ProofSettlement,
      abi: proofSettlementAbi,
      functionName: "submitBatch",
      args: [header, sig.compact],
    } as Parameters<typeof wallet.writeContract>[0]);
    const mined = await anvil.client.waitForTransactionReceipt({ hash: tx });
    assert.equal(mined.status, "success", "the chain accepts the batch: it sees only the root");

    ponder = await startPonder({
      deploymentFile: p.deploymentFile,
      rpcUrl: anvil.url,
      logName: "hostile-da-repeated-callseq",
      env: { PROOFPATH_INDEXER_INDEX_RECEIPTS: "true", PROOFPATH_INDEXER_DA_ALLOW_PRIVATE: "true" },
    });
    await ponder.waitForBlock(mined.blockNumber, 180_000);
    const gwKey = gw.address.toLowerCase();
    const batch = await ponder.getJson(`/batches/${gwKey}:0`);
    assert.equal(batch.receiptsIndexed, false, "the misplaced leaves are not indexed as calls");
    for (const r of receipts) {
      const found: { items: unknown[] } = await ponder.getJson(`/requests/${r.requestHash}`);
      assert.deepEqual(found.items, [], "no call row from a misplaced leaf");
    }
    // And it goes on indexing: a later block is indexed too.
    await anvil.rpc("evm_mine", []);
    await ponder.waitForBlock(mined.blockNumber + 1n, 60_000);
  });
});
