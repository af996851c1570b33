/**
 * The Ponder patch's speed-ups must not change what Ponder does: a patched function, as
 * node_modules/ponder runs it, gives the same answer as the published Ponder 0.16.10 function
 * (unpacked by scripts/ponder-patch.ts) on the rows the indexer's handlers write. For the changes
 * that replace a function's body (13, copy-on-write fast paths; 15, the COPY text; 16, log
 * callbacks by topic0; and normalizeRow, which the dropped 14 replaces: its test holds either
 * way); the others are covered by the indexer tests that run them (see each
 * patches/ponder-changes/*.diff header).
 */
import assert from "node:assert/strict";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../../indexer/harness/ponder.js";
import { publishedFile } from "../../scripts/ponder-patch.js";

type Mod = Record<string, (...a: any[]) => any>;
const load = async (file: string): Promise<{ patched: Mod; published: Mod }> => {
  publishedFile(`node_modules/ponder/${file}`); // unpacks the published package once
  const published = path.join(repoRoot, "node_modules/.cache/ponder-published/0.16.10/package", file);
  return {
    patched: await import(pathToFileURL(path.join(repoRoot, "node_modules/ponder", file)).href),
    published: await import(pathToFileURL(published).href),
  };
};

const HEX = `0x${"ab".repeat(20)}`;
const usage = [{ modelId: `0x${"cd".repeat(32)}`, calls: 3, inputTokens: "500", outputTokens: "900", fee: "12" }];
const batchRow = (i: number) => ({
  id: `${HEX}:${i}`,
  gateway: HEX.toUpperCase().replace("0X", "0x"), // mixed case: normalisation lower-cases it
  batchSeq: BigInt(i),
  firstCallSeq: BigInt(i * 8),
  count: 8,
  root: `0x${"11".repeat(32)}`,
  fee: 10n ** 30n + BigInt(i),
  headerHash: `0x${"22".repeat(32)}`,
  usage,
  calls: 8,
  inputTokens: 500n,
  outputTokens: 900n,
  firstServedAt: 1_700_000_000_000n,
  lastServedAt: 1_700_000_000_999n,
  daURI: i % 2 ? "https://da.example/a\tb\\c\nd" : "", // COPY's escapes
  status: "submitted",
  submitTx: `0x${"33".repeat(32)}`,
  submitBlock: 12n,
  submittedAt: 1_700_000_000n,
  attestTx: null,
  equivocation: i % 3 === 0 ? false : undefined,
  receiptsIndexed: i % 2 === 0,
});
const gatewayRow = () => ({
  address: HEX,
  operator: null,
  bond: 10n ** 21n,
  status: "active",
  activeUntil: 0n,
  approvalNonce: 1n,
  balance: 5n,
  pendingWithdrawal: 0n,
  totalDeposited: 5n,
  nextBatchSeq: 0n,
  nextCallSeq: 0n,
  batches: 0,
  calls: 0n,
  inputTokens: 0n,
  outputTokens: 0n,
  fees: 0n,
  rejectedBatches: 0,
  slashed: 0n,
  banned: false,
  bondPenalties: 0,
  bondPenalized: 0n,
});

describe("Ponder patch: same behaviour as published Ponder", function () {
  this.timeout(60_000);

  it("test_ponderCopy_handlerValues_sameCopiesAsPublishedAndIndependent", async () => {
    const { patched, published } = await load("dist/esm/utils/copy.js");
    const values: any[] = [
      gatewayRow(),
      batchRow(1),
      [batchRow(2), batchRow(3)],
      { a: 1n, nested: { list: [1, { b: "x" }], when: new Date(0) } },
      Object.assign(Object.create(null), { a: 1, b: [2] }),
      [],
      {},
    ];
    for (const v of values) {
      const a = patched.copy!(v);
      assert.deepEqual(a, published.copy!(v));
      if (v.usage) {
        a.usage[0].calls = 99;
        assert.equal(v.usage[0].calls, 3, "a copy shares nothing with its source");
      }
    }
    // copy-on-write proxies: writes and nested reads never reach the object they wrap
    const target = { n: 1n, list: [1, 2] };
    const proxy = patched.copyOnWrite!(target);
    proxy.n = 2n;
    proxy.list.push(3);
    assert.equal(target.n, 1n);
    assert.deepEqual(target.list, [1, 2]);
    assert.equal(proxy.n, 2n);
    assert.deepEqual([...proxy.list], [1, 2, 3]);
    assert.deepEqual(Object.keys(proxy), ["n", "list"]);
  });

  it("test_ponderNormalizeRow_indexerRowsAndMistypedValues_sameRowsAndErrorsAsPublished", async () => {
    const { patched, published } = await load("dist/esm/indexing-store/utils.js");
    const { batch, gateway } = await import("../../indexer/ponder.schema.js");
    const rows: [object, Record<string, unknown>, boolean][] = [
      [gateway, { chainId: 1, ...gatewayRow() }, false],
      [batch, { chainId: 1, ...batchRow(1) }, false],
      [batch, { chainId: 1, ...batchRow(2) }, false],
      // values of other JS types than the column's: the driver round trip converts them
      [batch, { chainId: "7", ...batchRow(3), batchSeq: 3, count: "8", fee: "12", receiptsIndexed: 1 }, false],
      [gateway, { chainId: 1, ...gatewayRow(), orphansProven: undefined }, false], // a default
      [gateway, { chainId: 1, balance: 9n, batches: 2 }, true], // an update's columns only
      [batch, { chainId: 1, id: "x", status: "attested", attestedAt: 5 }, true],
    ];
    for (const [table, row, isUpdate] of rows) {
      const a = patched.normalizeRow!(table, { ...row }, isUpdate);
      const b = published.normalizeRow!(table, { ...row }, isUpdate);
      assert.deepEqual(a, b);
      assert.deepEqual(Object.keys(a), Object.keys(b));
    }
    // a missing not-null column: the same error
    const missing = { chainId: 1, ...batchRow(4), root: undefined };
    const error = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
      return "no error";
    };
    const e = error(() => patched.normalizeRow!(batch, { ...missing }, false));
    assert.match(e, /not-null/);
    assert.equal(
      e,
      error(() => published.normalizeRow!(batch, { ...missing }, false)),
    );
  });

  it("test_ponderCopyText_indexerRowsWithCopyEscapes_sameTextAsPublished", async () => {
    const { patched, published } = await load("dist/esm/indexing-store/cache.js");
    const { normalizeRow } = (await load("dist/esm/indexing-store/utils.js")).published;
    const { batch, gateway } = await import("../../indexer/ponder.schema.js");
    const batches = Array.from({ length: 30 }, (_, i) => normalizeRow!(batch, { chainId: 1, ...batchRow(i) }, false));
    const gateways = [normalizeRow!(gateway, { chainId: 1, ...gatewayRow() }, false)];
    for (const [table, rows] of [
      [batch, batches],
      [gateway, gateways],
      [batch, batches.slice(0, 1)],
    ] as const) {
      const text = patched.getCopyText!(table, rows);
      assert.equal(text, published.getCopyText!(table, rows));
    }
    // a backslash before each tab, newline and backslash of a text value (COPY's text format)
    const escaped = "https://da.example/a\\\tb\\\\c\\\nd";
    assert.ok(patched.getCopyText!(batch, batches).includes(escaped), "COPY escapes of text values");
  });

  it("test_ponderBuildEvents_logsOfSeveralEventsAndAddresses_sameEventsInSameOrderAsPublished", async () => {
    const { patched, published } = await load("dist/esm/runtime/events.js");
    const topic = (n: number) => `0x${(0xabcdef00 + n).toString(16).padStart(64, "0")}`; // letters: case matters
    const address = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
    const logFilter = (topic0: string, addr: string | string[] | undefined, chainId = 1) => ({
      type: "log",
      chainId,
      address: addr,
      topic0,
      topic1: null,
      topic2: null,
      topic3: null,
      fromBlock: 0,
      toBlock: undefined,
      hasTransactionReceipt: false,
    });
    // Two callbacks on one event (other addresses), one on an address list, another chain's, and
    // topics in upper case (RPCs differ): the same events in the same order either way.
    const eventCallbacks = [
      { filter: logFilter(topic(1), address(10)) },
      { filter: logFilter(topic(2), [address(10), address(11)]) },
      { filter: logFilter(topic(1), address(11)) },
      { filter: logFilter(topic(3), undefined) },
      { filter: logFilter(topic(1), address(10), 2) },
    ];
    const blocks = [1, 2, 3].map((n) => ({
      number: BigInt(n),
      timestamp: BigInt(1_700_000_000 + n),
      hash: topic(100 + n),
    }));
    const logs = [];
    const transactions = [];
    for (const b of blocks)
      for (let i = 0; i < 12; i++) {
        const t0 = topic(1 + (i % 4));
        logs.push({
          blockNumber: Number(b.number),
          transactionIndex: i,
          logIndex: i,
          address: address(10 + (i % 3)),
          topics: [i % 5 === 0 ? t0.toUpperCase().replace("0X", "0x") : t0],
          data: "0x",
        });
        transactions.push({ blockNumber: Number(b.number), transactionIndex: i, hash: topic(1000 + i) });
      }
    const args = {
      blocks,
      logs,
      transactions,
      transactionReceipts: [],
      traces: [],
      childAddresses: new Map(),
      chainId: 1,
    };
    const a = patched.buildEvents!({ eventCallbacks, ...args });
    const b = published.buildEvents!({ eventCallbacks, ...args });
    assert.ok(a.length > 20, `${a.length} events`);
    assert.deepEqual(a, b);
    // a filter naming several topic0s: every callback is checked, as published Ponder does
    const list = [...eventCallbacks, { filter: { ...logFilter(topic(2), undefined), topic0: [topic(2), topic(4)] } }];
    assert.deepEqual(
      patched.buildEvents!({ eventCallbacks: list, ...args }),
      published.buildEvents!({ eventCallbacks: list, ...args }),
    );
  });
});
