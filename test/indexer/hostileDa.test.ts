/**
 * Hostile gateways against a running indexer with receipt indexing on (as `npm start` runs it). The
 * chain sees only a batch's root, and a root commits to leaf hashes, not to their order or to who
 * else settled the same request hash. Found by an attack review:
 * - a root over leaves that repeat a callSeq used to stop the indexer for good (a second `call` row
 *   under one key is a fatal conflict in the handler, replayed on every restart);
 * - a gateway settling ten receipts that carry someone else's request hash used to hide that
 *   caller's own call from `/requests/{hash}` (newest ten over all gateways).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createWalletClient, http, keccak256, toHex, type Hex, type LocalAccount } from "viem";
import { foundry } from "viem/chains";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { settlementDomain, signHeader } from "../../sdk/eip712.js";
import { computeFee } from "../../sdk/fees.js";
import { receiptLeaf } from "../../sdk/hashing.js";
import { buildTree } from "../../sdk/merkle.js";
import type { Receipt } from "../../sdk/types.js";
import { localDeployDefaults } from "../../tools/deploy.js";
import { devAccount, startDevChain, type DevChain } from "../../tools/devchain.js";
import { MODELS, setupProtocol, type Protocol } from "./helpers/protocol.js";

describe("indexer against hostile gateways' DA", function () {
  this.timeout(600_000);
  let anvil: DevChain;
  let p: Protocol;
  let ponder: Ponder | undefined;
  let da: Server;
  /** What the DA serves, by path: the leaves each batch was settled over. */
  const published = new Map<string, Receipt[]>();

  before(async () => {
    anvil = await startDevChain();
    p = await setupProtocol(anvil.url, anvil.rpc);
    da = createServer((req, res) => {
      const receipts = published.get(req.url ?? "");
      if (!receipts) return void res.writeHead(404).end();
      const body = receipts.map((r) => ({ kind: "served", ...r, callSeq: `${r.callSeq}`, servedAt: `${r.servedAt}` }));
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ gateway: receipts[0]!.gateway, receipts: body }));
    });
    await new Promise<void>((resolve) => da.listen(0, "127.0.0.1", resolve));
  });

  after(async () => {
    await ponder?.stop();
    da?.close();
    await anvil?.stop();
  });

  const receipt = (gw: LocalAccount, callSeq: bigint, requestHash: Hex, servedAt: bigint): Receipt => ({
    gateway: gw.address,
    callSeq,
    modelId: MODELS.llama as Hex,
    requestHash,
    responseHash: keccak256(toHex(`res:${gw.address}:${callSeq}:${servedAt}`)),
    inputTokens: 10,
    outputTokens: 20,
    servedAt,
  });

  /** `gw` settles its batch `batchSeq` over `leaves` (published at the DA), signed by its key. */
  async function settle(gw: LocalAccount, batchSeq: bigint, firstCallSeq: bigint, leaves: Receipt[]) {
    const path = `/${gw.address}/batches/${batchSeq}`;
    published.set(path, leaves);
    const usage = [
      {
        modelId: MODELS.llama as Hex,
        calls: leaves.length,
        inputTokens: 10n * BigInt(leaves.length),
        outputTokens: 20n * BigInt(leaves.length),
      },
    ];
    const servedAts = leaves.map((l) => l.servedAt);
    const header = {
      gateway: gw.address,
      batchSeq,
      firstCallSeq,
      count: leaves.length,
      root: buildTree(leaves.map(receiptLeaf)).root,
      usage,
      fee: computeFee(usage, localDeployDefaults.rate),
      firstServedAt: servedAts.reduce((a, b) => (a < b ? a : b)),
      lastServedAt: servedAts.reduce((a, b) => (a > b ? a : b)),
      daURI: `http://127.0.0.1:${(da.address() as AddressInfo).port}${path}`,
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
    return mined.blockNumber;
  }

  it("test_attack_settledLeavesRepeatACallSeq_indexerKeepsIndexing", async () => {
    const gw = p.gateway;
    const t = BigInt(Date.now()) - 2_000n;
    const leaves = [0, 1].map((i) => receipt(gw, 0n, keccak256(toHex(`req:${i}`)), t + BigInt(i))); // both callSeq 0
    const block = await settle(gw, 0n, 0n, leaves);
    ponder = await startPonder({
      deploymentFile: p.deploymentFile,
      rpcUrl: anvil.url,
      logName: "hostile-da",
      env: { PROOFPATH_INDEXER_INDEX_RECEIPTS: "true", PROOFPATH_INDEXER_DA_ALLOW_PRIVATE: "true" },
    });
    await ponder.waitForBlock(block, 180_000);
    const batch = await ponder.getJson(`/batches/${gw.address.toLowerCase()}:0`);
    assert.equal(batch.receiptsIndexed, false, "the misplaced leaves are not indexed as calls");
    for (const l of leaves) {
      const found: { items: unknown[] } = await ponder.getJson(`/requests/${l.requestHash}`);
      assert.deepEqual(found.items, [], "no call row from a misplaced leaf");
    }
    // And it goes on indexing: a later block is indexed too.
    await anvil.rpc("evm_mine", []);
    await ponder.waitForBlock(block + 1n, 60_000);
  });

  it("test_attack_foreignGatewayRepeatsARequestHash_callerStillFindsTheirCall", async () => {
    assert.ok(ponder, "the indexer of the test before");
    const victim = await p.addGateway();
    const attacker = await p.addGateway();
    const h = keccak256(toHex("a caller's request"));
    const t = BigInt(Date.now()) - 60_000n;
    await settle(victim, 0n, 0n, [receipt(victim, 0n, h, t)]);
    // The hash is public once indexed: ten receipts that carry it, served later.
    const copies = Array.from({ length: 10 }, (_, i) => receipt(attacker, BigInt(i), h, t + 1_000n + BigInt(i)));
    const block = await settle(attacker, 0n, 0n, copies);
    await ponder!.waitForBlock(block, 60_000);

    type Items = { items: { gateway: string; callSeq: string }[] };
    const all: Items = await ponder!.getJson(`/requests/${h}`);
    assert.deepEqual(
      all.items.map((i) => [i.gateway, i.callSeq]),
      [
        [attacker.address.toLowerCase(), "9"],
        [victim.address.toLowerCase(), "0"],
      ],
      "one call per gateway, newest first: the caller's is there",
    );
    const mine: Items = await ponder!.getJson(`/requests/${h}?gateway=${victim.address}`);
    assert.deepEqual(
      mine.items.map((i) => i.callSeq),
      ["0"],
    );
    const theirs: Items = await ponder!.getJson(`/requests/${h}?gateway=${attacker.address}`);
    assert.equal(theirs.items.length, 10);
  });
});
