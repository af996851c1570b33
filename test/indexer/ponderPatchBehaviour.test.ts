/**
 * The Ponder patch's speed-ups must not change what Ponder does: a patched function, as
 * node_modules/ponder runs it, gives the same answer as the published Ponder 0.16.10 function
 * (unpacked by scripts/ponder-patch.ts) on the rows the indexer's handlers write. For the changes
 * that replace a function's body (13, copy-on-write fast paths; 15, the COPY text; 16, log
 * callbacks by topic0; 17, lean store writes: normalizeRow and the store's inserts, upserts and
 * updates; and decodeAbiParameters, which the dropped 18 replaces: its test holds either way); the
 * others are covered by the indexer tests that run them (see each patches/ponder-changes/*.diff
 * header).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../../indexer/harness/ponder.js";
import { publishedFile } from "../../scripts/ponder-patch.js";
import { batchRow, HEX, usage } from "./helpers/patchRows.js";

type Mod = Record<string, (...a: any[]) => any>;
const load = async (file: string): Promise<{ patched: Mod; published: Mod }> => {
  publishedFile(`node_modules/ponder/${file}`); // unpacks the published package once
  const published = path.join(repoRoot, "node_modules/.cache/ponder-published/0.16.10/package", file);
  return {
    patched: await import(pathToFileURL(path.join(repoRoot, "node_modules/ponder", file)).href),
    published: await import(pathToFileURL(published).href),
  };
};

/** A Ponder log filter as its build makes one (the fields runtime/filter.js reads). */
const address = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
const logFilter = (topic0: unknown, addr: unknown, chainId = 1) => ({
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

  it("test_ponderStoreWrites_insertsUpsertsUpdatesAndBadValues_sameRowsAndErrorsAsPublished", async () => {
    // Change 17 (lean store writes): the indexing store and cache as node_modules/ponder runs them
    // against published Ponder's, driven through the same writes, reads and mistakes.
    const store = await load("dist/esm/indexing-store/index.js");
    const cache = await load("dist/esm/indexing-store/cache.js");
    const schema = await import("../../indexer/ponder.schema.js");
    const { batch, gateway } = schema;
    const metric = { inc() {}, observe() {}, set() {}, get: async () => ({ values: [] }) };
    const common = {
      metrics: new Proxy({}, { get: () => metric }),
      logger: { warn() {}, debug() {}, info() {}, trace() {}, error() {}, child: () => common.logger },
      options: { indexingCacheMaxBytes: 2 ** 40 },
    };
    const run = async (impl: "patched" | "published") => {
      const indexingCache = cache[impl].createIndexingCache!({
        common,
        schemaBuild: { schema },
        crashRecoveryCheckpoint: undefined,
        eventCount: {},
        chainId: undefined,
      });
      const indexingStore = store[impl].createIndexingStore!({
        common,
        schemaBuild: { schema },
        indexingCache,
        indexingErrorHandler: { setRetryableError() {} },
        chainId: undefined,
      });
      const qb = { $dialect: "postgres" };
      indexingStore.qb = qb;
      indexingCache.qb = qb;
      const db = indexingStore.db;
      const out: unknown[] = [];
      // A row as plain data, with the names of its symbol keys (a flat row keeps them when copied).
      const plain = (row: unknown): unknown =>
        Array.isArray(row)
          ? row.map(plain)
          : row === null || row === undefined
            ? row
            : { ...structuredClone({ ...(row as object) }), symbols: Object.getOwnPropertySymbols(row).map(String) };
      const attempt = async (f: () => Promise<unknown>) => {
        try {
          out.push(plain(await f()));
        } catch (e) {
          out.push(`${(e as Error).name}: ${(e as Error).message}`);
        }
      };
      const gw = { chainId: 1, ...gatewayRow(), address: HEX.toUpperCase().replace("0X", "0x") };
      const mine = { chainId: 1, ...batchRow(1), usage: [{ ...usage[0]! }] };
      await attempt(() => db.insert(gateway).values(gw));
      await attempt(() => db.insert(batch).values(mine));
      mine.usage[0]!.calls = 99; // the handler's object changes after the insert: the stored row does not
      await attempt(() => db.find(batch, { chainId: 1, id: mine.id }));
      // upserts of an existing row: a function and an object
      await attempt(() =>
        db
          .insert(gateway)
          .values(gw)
          .onConflictDoUpdate((row: { balance: bigint; batches: number }) => ({
            balance: row.balance + 1n,
            batches: row.batches + 1,
            operator: "0xAB",
          })),
      );
      await attempt(() => db.insert(gateway).values(gw).onConflictDoUpdate({ status: "active", nextCallSeq: 7 }));
      // inserts through each path: upsert of a new row, on-conflict-do-nothing, arrays
      await attempt(() =>
        db
          .insert(batch)
          .values({ chainId: 1, ...batchRow(2) })
          .onConflictDoUpdate({ status: "x" }),
      );
      await attempt(() =>
        db
          .insert(batch)
          .values({ chainId: 1, ...batchRow(1) })
          .onConflictDoNothing(),
      );
      await attempt(() =>
        db
          .insert(batch)
          .values({ chainId: 1, ...batchRow(3) })
          .onConflictDoNothing(),
      );
      await attempt(() => db.insert(batch).values([4, 5].map((i) => ({ chainId: 1, ...batchRow(i) }))));
      await attempt(() =>
        db
          .insert(batch)
          .values([{ chainId: 1, ...batchRow(5) }])
          .onConflictDoNothing(),
      );
      // updates: a function, an object, a primary key kept and one changed
      await attempt(() =>
        db
          .update(batch, { chainId: 1, id: mine.id })
          .set((row: { submittedAt: bigint }) => ({ status: "attested", attestedAt: row.submittedAt })),
      );
      await attempt(() => db.update(batch, { chainId: 1, id: mine.id }).set({ chainId: 1, windowEnd: 9, usage: [] }));
      await attempt(() => db.update(batch, { chainId: 1, id: mine.id }).set({ id: "other" }));
      // values the lean path leaves to the published one, and mistakes
      const odd = { chainId: 1, ...batchRow(6), root: "0xABC", daURI: "a\0b", note: { kept: [1] } };
      await attempt(() => db.insert(batch).values(odd));
      await attempt(() => db.insert(batch).values({ chainId: 1, ...batchRow(7), usage: { at: new Date(0) } }));
      class Usage {
        n = 1;
        toJSON() {
          return "as JSON";
        }
      }
      await attempt(() => db.insert(batch).values({ chainId: 1, ...batchRow(8), usage: [new Usage()] }));
      await attempt(() => db.insert(batch).values({ chainId: 1, ...batchRow(9), [Symbol.for("s")]: 1 }));
      const other = { ...gw, address: `0x${"cd".repeat(20)}`, [Symbol.for("s")]: 1 }; // flat: the symbol stays
      await attempt(() => db.insert(gateway).values(other));
      await attempt(() => db.insert(batch).values({ chainId: 1, ...batchRow(10), root: undefined }));
      await attempt(() => db.insert(batch).values({ chainId: 1, ...batchRow(11), usage: [{ fee: 1n }] }));
      await attempt(() => db.insert(batch).values({ chainId: 1, ...batchRow(12), batchSeq: "12", count: "8" }));
      // a key an object literal would take as the prototype, and more key orders than the row
      // factories keep (change 17 builds a row per order from a literal, up to 16 orders)
      await attempt(() => db.insert(batch).values({ chainId: 1, ...batchRow(14), ["__proto__"]: 5 }));
      const entries = Object.entries({ chainId: 1, ...batchRow(0) });
      for (let k = 0; k < 18; k++) {
        const rotated = [...entries.slice(k), ...entries.slice(0, k)].map(([c, v]) => [
          c,
          c === "id" ? `${HEX}:r${k}` : v,
        ]);
        await attempt(() => db.insert(batch).values(Object.fromEntries(rotated)));
        await attempt(() => db.find(batch, { chainId: 1, id: `${HEX}:r${k}` }));
      }
      const found = await db.find(batch, { chainId: 1, id: mine.id });
      await attempt(() => db.insert(batch).values({ ...found, id: `${HEX}:13` })); // a row read back, written again
      for (let i = 1; i <= 13; i++) await attempt(() => db.find(batch, { chainId: 1, id: `${HEX}:${i}` }));
      await attempt(() => db.find(gateway, { chainId: 1, address: HEX }));
      return out;
    };
    const [a, b] = [await run("patched"), await run("published")];
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      assert.deepEqual(a[i], b[i], `step ${i}`);
      if (a[i] && typeof a[i] === "object")
        assert.deepEqual(Object.keys(a[i]!), Object.keys(b[i]!), `keys of step ${i}`);
    }
    assert.ok(
      a.some((x) => typeof x === "string" && /not-null/.test(x)),
      "a not-null error",
    );
    assert.ok(
      a.some((x) => typeof x === "string" && /BigInt/.test(x)),
      "a BigInt error",
    );
    assert.equal((a[2] as { usage: { calls: number }[] }).usage[0]!.calls, 3, "the stored usage is a copy");
  });

  it("test_ponderNormalizeInsert_33ColumnBatchRowsAmongOtherTables_keptInV8FastMode", () => {
    // Change 17's row factories. Built key by key from an empty object, as 17's first form did, a
    // 33-column batch row falls into V8's dictionary mode once the store's code has seen another
    // table: ~3 KB per row held in the cache instead of a few hundred bytes, slower to read and
    // copied in every scavenge. Rows from an object literal stay in fast mode. Checked in a fresh
    // process (helpers/rowMode.ts): V8's choice depends on the transitions a process made before.
    const run = spawnSync(
      process.execPath,
      ["--allow-natives-syntax", "--import", "tsx", path.join(repoRoot, "test/indexer/helpers/rowMode.ts")],
      { cwd: repoRoot, encoding: "utf8" },
    );
    assert.equal(run.status, 0, run.stderr);
    const { keys, fast } = JSON.parse(run.stdout.trim().split("\n").pop()!) as { keys: number; fast: boolean };
    assert.ok(keys > 30, `${keys} keys`);
    assert.ok(fast, "the batch row is in fast mode");
  });

  it("test_ponderDecodeAbiParameters_batchArgsAndEdgeValues_sameValuesAndErrorsAsPublished", async () => {
    // The dropped change 18 (`install with:18`): its small-word and per-type fast paths decode
    // exactly what published Ponder does.
    const { patched, published } = await load("dist/esm/utils/decodeAbiParameters.js");
    const { encodeAbiParameters } = await import("viem");
    const { proofSettlementAbi } = await import("../../sdk/abis.js");
    const decode = (impl: Mod, params: readonly object[], data: string) => {
      try {
        return impl.decodeAbiParameters!(params, data);
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    };
    const same = (params: readonly object[], data: string) => {
      const a = decode(patched, params, data);
      assert.deepEqual(a, decode(published, params, data), data.slice(0, 80));
      return a;
    };
    const event = proofSettlementAbi.find((x) => x.type === "event" && x.name === "BatchSubmitted")!;
    const inputs = event.inputs.filter((i) => !i.indexed);
    const args: Record<string, unknown> = {
      firstCallSeq: 2n ** 52n - 1n,
      count: 8,
      root: `0x${"11".repeat(32)}`,
      fee: 10n ** 30n,
      headerHash: `0x${"22".repeat(32)}`,
      usage: [
        { modelId: `0x${"cd".repeat(32)}`, calls: 3, inputTokens: 2n ** 52n, outputTokens: 0n },
        { modelId: `0x${"ce".repeat(32)}`, calls: 4294967295, inputTokens: 2n ** 64n - 1n, outputTokens: 1n },
      ],
      firstServedAt: 1_700_000_000_000n,
      lastServedAt: 1_700_000_000_999n,
      daURI: "https://da.example/batch/1",
    };
    const values = inputs.map((i) => args[i.name!] ?? 0n);
    const batchData = encodeAbiParameters(inputs, values as never);
    assert.equal(typeof same(inputs, batchData), "object");
    const edge = [
      { type: "uint256" },
      { type: "uint256" },
      { type: "uint256" },
      { type: "int256" },
      { type: "int256" },
      { type: "int8" },
      { type: "uint32" },
      { type: "uint48" },
      { type: "uint64" },
      { type: "address" },
      { type: "bytes" },
      { type: "string" },
      { type: "bool" },
      { type: "uint256[]" },
      { type: "uint16[3]" },
      {
        type: "tuple",
        components: [
          { name: "a", type: "uint128" },
          { name: "b", type: "string" },
        ],
      },
      {
        type: "tuple[]",
        components: [
          { name: "x", type: "int64" },
          { name: "y", type: "uint256[2]" },
        ],
      },
    ] as const;
    const edgeData = encodeAbiParameters(edge, [
      0n,
      2n ** 52n,
      2n ** 256n - 1n,
      -1n,
      -(2n ** 255n),
      -128,
      4294967295,
      2 ** 48 - 1,
      2n ** 53n + 1n,
      `0x${"ab".repeat(20)}`,
      "0x0102",
      "hé",
      true,
      [0n, 1n, 2n ** 200n],
      [1, 2, 65535],
      { a: 2n ** 127n, b: "" },
      [{ x: -5n, y: [3n, 2n ** 52n - 1n] }],
    ]);
    const decoded = same(edge, edgeData) as unknown[];
    assert.equal(decoded[1], 2n ** 52n);
    assert.equal(decoded[3], -1n);
    // upper-case hex, a non-hex digit inside a small word, and data cut short
    same(edge, `0x${edgeData.slice(2).toUpperCase()}`);
    same(edge.slice(0, 2), `${edgeData.slice(0, 2 + 60)}g${edgeData.slice(2 + 61, 2 + 128)}`);
    same(edge, edgeData.slice(0, 700));
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
    // rows normalised by the patched store keep their JSON text for one flush (17): the same text,
    // and the same again when flushed a second time (a retried flush serialises them anew)
    const lean = (await load("dist/esm/indexing-store/utils.js")).patched;
    const leanRows = Array.from({ length: 30 }, (_, i) => lean.normalizeInsert!(batch, { chainId: 1, ...batchRow(i) }));
    const expected = published.getCopyText!(batch, batches);
    assert.equal(patched.getCopyText!(batch, leanRows), expected);
    assert.equal(patched.getCopyText!(batch, leanRows), expected);
    // a backslash before each tab, newline and backslash of a text value (COPY's text format)
    const escaped = "https://da.example/a\\\tb\\\\c\\\nd";
    assert.ok(patched.getCopyText!(batch, batches).includes(escaped), "COPY escapes of text values");
  });

  it("test_ponderBuildEvents_logsOfSeveralEventsAndAddresses_sameEventsInSameOrderAsPublished", async () => {
    const { patched, published } = await load("dist/esm/runtime/events.js");
    const topic = (n: number) => `0x${(0xabcdef00 + n).toString(16).padStart(64, "0")}`; // letters: case matters
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

  it("test_ponderSyncLogFilters_everyEventMixedCaseAndWildcards_sameFiltersMatchedAsCheckingAll", async () => {
    // Change 19: the historical sync checks a log against `logFiltersByTopic0`'s filters only; the
    // filters it matches, in order, must be those published Ponder finds by checking every filter.
    const { patched } = await load("dist/esm/sync-historical/index.js");
    const { published: filterModule } = await load("dist/esm/runtime/filter.js");
    const { toEventSelector } = await import("viem");
    const { gatewayRegistryAbi, proofSettlementAbi, validatorSetAbi } = await import("../../sdk/abis.js");
    const selectors = [proofSettlementAbi, gatewayRegistryAbi, validatorSetAbi].flatMap((abi, c) =>
      abi.filter((item) => item.type === "event").map((item) => [toEventSelector(item), address(10 + c)] as const),
    );
    assert.ok(selectors.length > 20, `${selectors.length} events`);
    const filters = [
      ...selectors.map(([t0, a]) => logFilter(t0, a)),
      logFilter(null, address(11)), // every event of one address
      logFilter([selectors[0]![0], selectors[5]![0]], undefined), // a list of topic0s
      logFilter(selectors[3]![0].toUpperCase().replace("0X", "0x"), undefined), // never matches: filters are lower-case
      logFilter(selectors[0]![0], [address(10), address(12)]),
    ];
    const logs = [];
    for (const [i, [t0]] of selectors.entries())
      for (let a = 9; a < 13; a++)
        logs.push({
          blockNumber: "0x1",
          address: i % 2 ? address(a).toUpperCase().replace("0X", "0x") : address(a),
          topics: [i % 3 === 0 ? t0.toUpperCase().replace("0X", "0x") : t0],
        });
    logs.push({ blockNumber: "0x1", address: address(11), topics: [] });
    logs.push({ blockNumber: "0x1", address: address(11), topics: [`0x${"ef".repeat(32)}`] });
    const filtersFor = patched.logFiltersByTopic0!(filters);
    const matched = (candidates: object[], log: object) =>
      candidates
        .filter((filter) => filterModule.isLogFilterMatched!({ filter, log }))
        .map((f) => filters.indexOf(f as never));
    let matches = 0;
    for (const log of logs) {
      const all = matched(filters, log);
      assert.deepEqual(matched(filtersFor(log), log), all, JSON.stringify(log));
      matches += all.length;
    }
    assert.ok(matches > logs.length / 2, `${matches} matches`);
    // no filter naming one topic0: every filter is a candidate
    const wild = [logFilter(null, undefined), logFilter([selectors[1]![0]], undefined)];
    assert.deepEqual(patched.logFiltersByTopic0!(wild)(logs[0]), wild);
  });
});
