/**
 * The indexer's DA fetch (indexer/src/lib/receipts.ts) treats a daURI as hostile, as the validator
 * does: a header naming a loopback or private address makes the indexer ask nothing of it unless
 * `daAllowPrivate` (PROOFPATH_INDEXER_DA_ALLOW_PRIVATE) is set.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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
});
