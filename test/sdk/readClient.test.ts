/**
 * The SDK's proof from a batch's DA (`proofFromDa`, what `verifyReceipt` falls back to when no proof
 * was given) against a hostile DA. A root commits to leaf hashes, not to their order, so a gateway can
 * settle leaves out of callSeq order; read by position, the leaf at a user's index is then another
 * call's receipt, and `verifyReceipt` would call the gateway a fraud with a proof the contract refuses
 * (its equivocation check wants the settled leaf's own callSeq to be the user's).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { keccak256, toHex, type Address, type Hex, type PublicClient } from "viem";
import { receiptLeaf } from "../../sdk/hashing.js";
import { buildTree } from "../../sdk/merkle.js";
import { createReadClient, ReadClientError } from "../../sdk/readClient.js";

describe("readClient.proofFromDa", () => {
  let da: Server | undefined;
  after(() => da?.close());

  it("test_attack_daLeavesOutOfOrder_refusedNotReadByPosition", async () => {
    const gateway = "0x00000000000000000000000000000000000000e3" as Address;
    const receipt = (callSeq: bigint) => ({
      gateway,
      callSeq,
      modelId: keccak256(toHex("model")),
      requestHash: keccak256(toHex(`req:${callSeq}`)),
      responseHash: keccak256(toHex(`res:${callSeq}`)),
      inputTokens: 10,
      outputTokens: 20,
      servedAt: 1_700_000_000_000n + callSeq,
    });
    const leaves = [receipt(1n), receipt(0n)]; // swapped
    da = createServer((_req, res) => {
      const body = leaves.map((r) => ({ kind: "served", ...r, callSeq: `${r.callSeq}`, servedAt: `${r.servedAt}` }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ gateway, receipts: body }));
    });
    await new Promise<void>((resolve) => da!.listen(0, "127.0.0.1", resolve));
    const zero = "0x0000000000000000000000000000000000000001" as Address;
    const rc = createReadClient({
      client: {} as PublicClient, // proofFromDa reads the DA only
      deployment: { contracts: { ProofSettlement: zero, GatewayRegistry: zero } },
    });
    const header = {
      gateway,
      batchSeq: 0n,
      firstCallSeq: 0n,
      count: 2,
      root: buildTree(leaves.map(receiptLeaf)).root as Hex,
      usage: [],
      fee: 0n,
      firstServedAt: 1_700_000_000_000n,
      lastServedAt: 1_700_000_000_001n,
      daURI: `http://127.0.0.1:${(da.address() as AddressInfo).port}/batches/0`,
    };
    await assert.rejects(
      rc.proofFromDa(header, 0n),
      (e: unknown) => e instanceof ReadClientError && /leaf 0 says callSeq 1, not 0/.test(e.message),
    );
  });
});
