/**
 * The indexer's DA fetch (indexer/src/lib/receipts.ts) treats a daURI as hostile, as the validator
 * does: a header naming a loopback or private address makes the indexer ask nothing of it unless
 * `daAllowPrivate` (PROOFPATH_INDEXER_DA_ALLOW_PRIVATE) is set.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { fetchSettledReceipts } from "../../indexer/src/lib/receipts.js";
import { receiptLeaf } from "../../sdk/hashing.js";
import { buildTree } from "../../sdk/merkle.js";

describe("indexer DA fetch", () => {
  let server: Server;
  let hits = 0;
  let base = "";

  before(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { "content-type": "application/json" }).end("[]");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const header = { root: `0x${"11".repeat(32)}` as const, count: 1, firstCallSeq: 0n };

  it("test_attack_daURIOnLoopback_refusedByAddressPolicy", async () => {
    const got = await fetchSettledReceipts(`${base}/batches/0`, header, { allowPrivate: false });
    assert.equal(typeof got, "string");
    assert.match(got as string, /private, loopback or link-local/);
    assert.equal(hits, 0, "the DA was never asked");
  });

  it("test_fetchSettledReceipts_privateAllowed_asksTheDaAndChecksWhatItSays_succeeds", async () => {
    // Another origin than the refused one (a refusal backs its origin off for 30 s).
    const got = await fetchSettledReceipts(`${base.replace("127.0.0.1", "localhost")}/batches/0`, header, {
      allowPrivate: true,
    });
    assert.equal(hits, 1, "the DA was asked once");
    assert.equal(typeof got, "string", "an answer that is no batch is not indexed");
    assert.doesNotMatch(got as string, /private, loopback or link-local/);
  });

  it("test_attack_hangingDaOnManyOrigins_stallBoundedAcrossOrigins", async function () {
    // A gateway names a fresh origin in each batch's daURI (a port here; a wildcard subdomain on the
    // Internet), each one accepting the connection and never answering. The backoff is per origin,
    // so each batch costs the indexer's handler a whole timeout: 4 batches stall indexing 4 x 5 s.
    this.timeout(60_000);
    const sockets: Socket[] = [];
    const servers = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<ReturnType<typeof createTcpServer>>((resolve) => {
            const s = createTcpServer((c) => void sockets.push(c));
            s.listen(0, "127.0.0.1", () => resolve(s));
          }),
      ),
    );
    // Every batch is the same gateway's: what it names, it pays for once per backoff, not per origin.
    const theirs = { ...header, gateway: "0x00000000000000000000000000000000000000e1" };
    try {
      const t0 = performance.now();
      for (const s of servers) {
        const got = await fetchSettledReceipts(
          `http://127.0.0.1:${(s.address() as AddressInfo).port}/batches/0`,
          theirs,
          { allowPrivate: true },
        );
        assert.equal(typeof got, "string", "a DA that never answers is not indexed");
      }
      const sec = (performance.now() - t0) / 1000;
      assert.ok(sec < 11, `4 hostile daURIs held the indexer's handler for ${sec.toFixed(1)} s`);
    } finally {
      for (const c of sockets) c.destroy();
      for (const s of servers) s.close();
    }
  });

  it("test_attack_daLeavesRepeatACallSeq_notIndexed", async () => {
    // A root commits to leaf hashes, not to their order: a gateway settles a root over two receipts
    // that both say callSeq 0. Count and root check out; the positions do not. Indexed, the second
    // one would be a second `call` row under the key `${gateway}:0`, which stops the indexer.
    const gateway = "0x00000000000000000000000000000000000000e2" as Address;
    const receipt = (i: number) => ({
      gateway,
      callSeq: 0n,
      modelId: keccak256(toHex("model")),
      requestHash: keccak256(toHex(`req:${i}`)),
      responseHash: keccak256(toHex(`res:${i}`)),
      inputTokens: 10,
      outputTokens: 20,
      servedAt: 1_700_000_000_000n + BigInt(i),
    });
    const receipts = [receipt(0), receipt(1)];
    const root = buildTree(receipts.map(receiptLeaf)).root as Hex;
    const da = createServer((_req, res) => {
      const body = receipts.map((r) => ({ kind: "served", ...r, callSeq: "0", servedAt: r.servedAt.toString() }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ gateway, receipts: body }));
    });
    await new Promise<void>((resolve) => da.listen(0, "127.0.0.1", resolve));
    try {
      const got = await fetchSettledReceipts(
        `http://127.0.0.1:${(da.address() as AddressInfo).port}/batches/0`,
        { gateway, root, count: 2, firstCallSeq: 0n },
        { allowPrivate: true },
      );
      assert.equal(typeof got, "string", "leaves out of their places are not indexed");
      assert.match(got as string, /leaf 1 says callSeq 0, not 1/);
    } finally {
      da.close();
    }
  });
});
