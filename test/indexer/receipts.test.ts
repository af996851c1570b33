/**
 * The indexer's DA fetch (indexer/src/lib/receipts.ts) treats a daURI as hostile, as the validator
 * does: a header naming a loopback or private address makes the indexer ask nothing of it unless
 * `daAllowPrivate` (PROOFPATH_INDEXER_DA_ALLOW_PRIVATE) is set.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { fetchSettledReceipts } from "../../indexer/src/lib/receipts.js";

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
});
