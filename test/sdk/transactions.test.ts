/**
 * The transaction manager (sdk/transactions.ts) against a real anvil whose mempool the tests
 * control: automine off, transactions dropped, the base fee spiked, the nonce taken by another
 * sender of the same key. Each test is named after the failure it survives.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicClient, http, parseGwei, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { isRetryableError } from "../../sdk/errors.js";
import {
  FeeCapExceededError,
  type SignedTransaction,
  TransactionManager,
  type TransactionManagerOptions,
} from "../../sdk/transactions.js";
import { devClients, devPrivateKey, startDevChain, type DevChain } from "../../tools/devchain.js";
import { waitFor } from "../../tools/waitFor.js";

const TO: Address = "0x00000000000000000000000000000000000000aa";
const transfer = { to: TO, data: "0x" as Hex, gas: 21_000n, value: 1n };

describe("transaction manager (sdk/transactions.ts) on a real node", function () {
  this.timeout(60_000);
  let dev: DevChain;
  let client: PublicClient;
  let k = 6; // a fresh dev key per test: no nonce history carried between tests
  let broadcasts = 0;

  before(async () => {
    dev = await startDevChain();
    client = createPublicClient({
      chain: dev.chain,
      transport: http(dev.url, {
        retryCount: 0,
        onFetchRequest: async (r) => {
          if ((await r.clone().text()).includes("eth_sendRawTransaction")) broadcasts++;
        },
      }),
    }) as PublicClient;
  });
  after(async () => {
    await dev?.stop();
  });
  afterEach(async () => {
    await dev.rpc("anvil_dropAllTransactions");
    await dev.test.setAutomine(true);
  });

  function manager(o: Partial<TransactionManagerOptions> = {}) {
    const i = k++;
    const account = privateKeyToAccount(devPrivateKey(i));
    const replaced: [SignedTransaction, SignedTransaction][] = [];
    const resyncs: string[] = [];
    const m = new TransactionManager({
      client,
      account,
      pollMs: 50,
      onReplace: (a, b) => replaced.push([a, b]),
      onResync: (r) => resyncs.push(r),
      ...o,
    });
    return { m, account, index: i, replaced, resyncs };
  }
  const nonces = async (a: Address) => ({
    latest: await client.getTransactionCount({ address: a, blockTag: "latest" }),
    pending: await client.getTransactionCount({ address: a, blockTag: "pending" }),
  });
  const inPool = (a: Address) =>
    waitFor(`a pending transaction of ${a}`, async () => {
      const n = await nonces(a);
      return n.pending > n.latest;
    });

  it("test_txManager_transactionDroppedFromMempool_resentAndMined_succeeds", async () => {
    const { m, account, replaced } = manager({ bumpAfterMs: 60_000 });
    await dev.test.setAutomine(false);
    const before = broadcasts;
    const sent = m.send(transfer);
    await inPool(account.address);
    await dev.rpc("anvil_dropAllTransactions");
    await waitFor("a second broadcast", () => broadcasts - before >= 2);
    await inPool(account.address); // the manager saw it gone and broadcast it again
    await dev.test.mine({ blocks: 1 });
    const receipt = await sent;
    assert.equal(receipt.status, "success");
    assert.equal(replaced.length, 0, "re-sent as it was, not replaced");
    assert.equal((await nonces(account.address)).latest, 1);
  });

  it("test_txManager_notMinedInTime_replacedWithBumpedFee_oneMined", async () => {
    const { m, account, replaced } = manager({ bumpAfterMs: 300 });
    await dev.test.setAutomine(false);
    const sent = m.send(transfer);
    await waitFor("a replacement", () => replaced.length >= 1);
    await dev.test.mine({ blocks: 1 });
    const receipt = await sent;
    assert.equal(receipt.status, "success");
    const [first, next] = replaced[0]!;
    assert.equal(next.nonce, first.nonce, "same nonce");
    assert.ok(next.maxFeePerGas * 8n >= first.maxFeePerGas * 9n, "maxFeePerGas raised by ≥ 12.5%");
    assert.ok(next.maxPriorityFeePerGas * 8n >= first.maxPriorityFeePerGas * 9n, "priority fee raised by ≥ 12.5%");
    // Exactly one of the transactions at that nonce was mined: the latest replacement.
    const all = [first.hash, ...replaced.map(([, b]) => b.hash)];
    const mined = [];
    for (const hash of all) {
      const r = await client.getTransactionReceipt({ hash }).catch(() => undefined);
      if (r) mined.push(hash);
    }
    assert.deepEqual(mined, [receipt.transactionHash]);
    assert.equal(receipt.transactionHash, replaced.at(-1)![1].hash);
    assert.equal((await nonces(account.address)).latest, 1);
  });

  it("test_txManager_baseFeeSpikesPastCap_stopsBumpingAndReportsCap", async () => {
    const cap = parseGwei("50");
    const { m, account, replaced } = manager({ bumpAfterMs: 300, maxFeePerGas: cap });
    await dev.test.setAutomine(false);
    const sent = m.send(transfer);
    sent.catch(() => undefined);
    await inPool(account.address);
    // The next block's base fee is far above the cap: the transaction stays out of it.
    await dev.rpc("anvil_setNextBlockBaseFeePerGas", [`0x${parseGwei("100").toString(16)}`]);
    await dev.test.mine({ blocks: 1 });
    const err = await sent.then(
      () => assert.fail("mined above the cap"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof FeeCapExceededError, `got ${(err as Error).name}: ${(err as Error).message}`);
    assert.equal(err.cap, cap);
    assert.ok(err.needed > cap);
    assert.equal(err.retryable, true, "fees fall again: the same send succeeds later");
    assert.ok(isRetryableError(err));
    assert.ok(err.hash, "names the transaction left pending");
    for (const [, b] of replaced) assert.ok(b.maxFeePerGas <= cap, "never signed above the cap");
    // (geth keeps it pending at its last fees; anvil evicts it from the pool once the base fee passes it.)
    // Fees fall: the next send goes through, over that nonce (a replacement) or after it once it
    // was mined; either way no nonce is left stuck.
    await dev.rpc("anvil_setNextBlockBaseFeePerGas", [`0x${parseGwei("1").toString(16)}`]);
    await dev.test.mine({ blocks: 1 });
    await dev.test.setAutomine(true);
    const receipt = await m.send(transfer);
    assert.equal(receipt.status, "success");
    const n = await nonces(account.address);
    assert.equal(n.pending, n.latest, "nothing left pending");
    assert.equal((await client.getTransaction({ hash: receipt.transactionHash })).nonce, n.latest - 1);
  });

  it("test_txManager_otherSenderTakesNonce_resyncsAndContinues", async () => {
    const { m, account, index, resyncs } = manager();
    const first = await m.send(transfer); // the manager now holds nonce 1 locally
    assert.equal(first.status, "success");
    // Another process with the same key takes nonce 1.
    const other = devClients(dev, 0).walletClient;
    const taken = await other.sendTransaction({
      account: privateKeyToAccount(devPrivateKey(index)),
      to: TO,
      value: 2n,
    });
    assert.equal((await client.getTransaction({ hash: taken })).nonce, 1);
    const receipt = await m.send(transfer);
    assert.equal(receipt.status, "success");
    assert.equal((await client.getTransaction({ hash: receipt.transactionHash })).nonce, 2, "resynced past it");
    assert.ok(
      resyncs.some((r) => r.includes("taken")),
      `resyncs: ${JSON.stringify(resyncs)}`,
    );
    assert.equal((await nonces(account.address)).latest, 3);
  });

  it("test_txManager_nonceGapBelowItsTransaction_resyncsAndContinues", async () => {
    const { m, account, resyncs } = manager({ bumpAfterMs: 300 });
    assert.equal((await m.send(transfer)).status, "success");
    // The local nonce ran ahead of the chain (a transaction the manager believed sent never
    // reached any node): the next one would wait behind the gap forever.
    m.reserve(5);
    const receipt = await m.send(transfer);
    assert.equal(receipt.status, "success");
    assert.equal((await client.getTransaction({ hash: receipt.transactionHash })).nonce, 1, "the gap was closed");
    assert.ok(
      resyncs.some((r) => r.includes("gap")),
      `resyncs: ${JSON.stringify(resyncs)}`,
    );
    assert.equal((await nonces(account.address)).latest, 2);
  });

  it("test_attack_hostileRpcInflatesPriorityFee_tipBoundedWithoutOperatorCap", async () => {
    // The RPC is the attacker: it forwards everything to the node but answers
    // eth_maxPriorityFeePerGas with 100,000 gwei. No cap is configured (the gateway's and the
    // validator's `maxFeePerGas` default to none): the manager signs that tip and the node mines
    // it, a transfer costing the relayer 2.1 ETH in tips instead of ~0.00002.
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString();
      const call = JSON.parse(body) as { id: number; method: string };
      if (call.method === "eth_maxPriorityFeePerGas") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result: `0x${parseGwei("100000").toString(16)}` }));
        return;
      }
      const up = await fetch(dev.url, { method: "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(up.status, { "content-type": "application/json" });
      res.end(await up.text());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const hostile = createPublicClient({
        chain: dev.chain,
        transport: http(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, { retryCount: 0 }),
      }) as PublicClient;
      const { m } = manager({ client: hostile });
      const receipt = await m.send(transfer);
      const block = await client.getBlock({ blockNumber: receipt.blockNumber });
      const tip = receipt.effectiveGasPrice - (block.baseFeePerGas ?? 0n);
      assert.ok(
        tip <= parseGwei("1000"),
        `the relayer paid a tip of ${tip / 10n ** 9n} gwei/gas (${(tip * receipt.gasUsed) / 10n ** 15n} mETH) because the RPC said so`,
      );
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});
