/**
 * The submitter's reading of a refused broadcast (sdk/transactions.ts, used by the submitter and the validator), on the real answers
 * of a real anvil node rather than faked messages: the node's own copy of the transaction, a nonce
 * taken by another mined transaction, an underpriced replacement, a fee cap under the base fee, and
 * an RPC URL nobody listens on. None of it is decided by the node's wording.
 */
import assert from "node:assert/strict";
import {
  type BaseError,
  createPublicClient,
  HttpRequestError,
  http,
  keccak256,
  NonceTooLowError,
  parseGwei,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getTransactionError } from "viem/utils";
import { classifyBroadcastError } from "../../sdk/transactions.js";
import { devPrivateKey, freePort, startDevChain, type DevChain } from "../../tools/devchain.js";

describe("a refused broadcast, classified from a real node's answers", function () {
  this.timeout(60_000);
  let dev: DevChain;
  let client: PublicClient;
  const account = privateKeyToAccount(devPrivateKey(5));

  const sign = (nonce: number, maxFee: bigint, to: Hex = account.address) =>
    account.signTransaction({
      chainId: dev.chain.id,
      type: "eip1559",
      to,
      nonce,
      gas: 21_000n,
      maxFeePerGas: maxFee,
      maxPriorityFeePerGas: 1n,
    });
  /** Broadcasts like the submitter; returns what it was refused as (undefined when accepted). */
  const broadcast = async (raw: Hex, nonce: number, c: PublicClient = client) => {
    try {
      await c.request({ method: "eth_sendRawTransaction", params: [raw] });
      return undefined;
    } catch (e) {
      return { refusal: await classifyBroadcastError(c, { hash: keccak256(raw), nonce, account }, e), error: e };
    }
  };

  before(async () => {
    dev = await startDevChain();
    client = createPublicClient({ chain: dev.chain, transport: http(dev.rpcUrl, { retryCount: 0 }) }) as PublicClient;
    // Transactions stay pending until the test mines them.
    await dev.test.setAutomine(false);
  });
  after(async () => {
    await dev?.stop();
  });

  it("test_broadcast_sameTransactionAgain_isOurs_pendingAndMined", async () => {
    const raw = await sign(0, parseGwei("10"));
    assert.equal(await broadcast(raw, 0), undefined);
    const pending = await broadcast(raw, 0);
    // anvil answers "transaction already imported", which viem types as NonceTooLowError: the
    // node's copy of our own transaction decides, not the words.
    assert.ok(pending);
    assert.ok(
      getTransactionError(pending.error as BaseError, { account, nonce: 0 }).walk((x) => x instanceof NonceTooLowError),
    );
    assert.equal(pending.refusal, "ours");
    await dev.test.mine({ blocks: 1 });
    assert.equal((await broadcast(raw, 0))?.refusal, "ours", "mined: 'nonce too low', still ours");
  });

  it("test_broadcast_nonceTakenByAnotherMinedTransaction_isNonceTaken", async () => {
    const other = await broadcast(await sign(0, parseGwei("20"), "0x0000000000000000000000000000000000000001"), 0);
    assert.ok(other);
    assert.equal(other.refusal, "nonce-taken");
  });

  it("test_broadcast_underpricedReplacementOfAPendingNonce_isReplace", async () => {
    const nonce = await client.getTransactionCount({ address: account.address, blockTag: "pending" });
    assert.equal(await broadcast(await sign(nonce, parseGwei("10")), nonce), undefined);
    // Same fees, other content: "replacement transaction underpriced", which viem has no class for.
    const r = await broadcast(await sign(nonce, parseGwei("10"), "0x0000000000000000000000000000000000000002"), nonce);
    assert.ok(r);
    assert.equal(r.refusal, "replace");
    await dev.test.mine({ blocks: 1 });
  });

  it("test_broadcast_feeCapBelowBaseFee_isReplace", async () => {
    const nonce = await client.getTransactionCount({ address: account.address, blockTag: "pending" });
    const r = await broadcast(await sign(nonce, 1n), nonce);
    assert.ok(r);
    assert.equal(r.refusal, "replace");
  });

  it("test_broadcast_deadRpcUrl_isFailed_noChainRead", async () => {
    const dead = createPublicClient({
      chain: dev.chain,
      transport: http(`http://127.0.0.1:${await freePort()}`, { retryCount: 0 }),
    }) as PublicClient;
    const r = await broadcast(await sign(9, parseGwei("10")), 9, dead);
    assert.ok(r);
    assert.ok(r.error instanceof HttpRequestError, `a transport failure, got ${(r.error as Error).name}`);
    assert.equal(r.refusal, "failed", "the stored transaction is broadcast again next step");
  });
});
