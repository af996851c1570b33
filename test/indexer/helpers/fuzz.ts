/**
 * API fuzzing: random and hostile values in every parameter of every REST route. The API must answer
 * 200/400/404 JSON, never a 5xx, never echo database internals, and change nothing.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Ponder } from "../../../indexer/harness/ponder.js";

export const SQL_INJECTIONS = [
  "' OR '1'='1",
  "1; DROP TABLE batch; --",
  "0x0000000000000000000000000000000000000000'; DELETE FROM batch; --",
  "1 UNION SELECT * FROM pg_catalog.pg_tables --",
  "'); TRUNCATE network; --",
  "1' AND pg_sleep(5) --",
  "\\x00",
  "%00",
  "hour' OR 1=1 --",
  "submitted'--",
  "$1",
  "1e400",
  "-1",
  "18446744073709551616",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  '{"$ne":null}',
  "NaN",
];

/** What a leak looks like: SQL errors, driver names, stack frames, catalog names. */
const LEAK =
  /syntax error|pglite|drizzle|node_modules|at [\w.<>]+ \(|pg_catalog|relation "|column "|violates|duplicate key/i;

export async function fuzzApi(
  ponder: Ponder,
  known: { gateway: string; callSeq: string; batchId: string },
  numRuns = 1000,
): Promise<{ runs: number; statuses: Record<number, number> }> {
  const value = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...SQL_INJECTIONS) },
    { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 30 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        known.gateway,
        known.callSeq,
        known.batchId,
        "hour",
        "day",
        "finalized",
        "active",
        "banned",
        "1000",
        "1001",
        "0",
        "2026-01-01",
      ),
    },
    { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
  );
  const enc = (s: string) => encodeURIComponent(s);
  const queryKeys = fc.constantFrom(
    "gateway",
    "status",
    "from",
    "to",
    "cursor",
    "limit",
    "granularity",
    "address",
    "id",
    "x'--",
    "limit",
  );
  const query = fc
    .array(fc.tuple(queryKeys, value), { maxLength: 4 })
    .map((kv) => (kv.length ? `?${kv.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&")}` : ""));
  const route = fc.oneof(
    fc.tuple(value, value).map(([g, s]) => `/calls/${enc(g)}/${enc(s)}`),
    query.map((q) => `/batches${q}`),
    value.map((id) => `/batches/${enc(id)}`),
    query.map((q) => `/gateways${q}`),
    value.map((a) => `/gateways/${enc(a)}`),
    fc.tuple(value, query).map(([a, q]) => `/gateways/${enc(a)}/usage${q}`),
    query.map((q) => `/validators${q}`),
    value.map((a) => `/validators/${enc(a)}`),
    query.map((q) => `/network/stats${q}`),
    query.map((q) => `/network/activity${q}`),
    query.map((q) => `/models/usage${q}`),
  );
  const statuses: Record<number, number> = {};
  await fc.assert(
    fc.asyncProperty(route, async (path) => {
      const res = await ponder.get(path);
      const text = await res.text();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      assert.ok(res.status < 500, `${path} → ${res.status} ${text.slice(0, 300)}`);
      assert.ok([200, 400, 404].includes(res.status), `${path} → ${res.status}`);
      assert.ok(!LEAK.test(text), `${path} leaks: ${text.slice(0, 300)}`);
      if (res.status !== 404 || text.startsWith("{")) {
        const body = JSON.parse(text);
        if (res.status === 400) {
          assert.equal(body.error, "invalid_parameter");
          assert.equal(typeof body.field, "string");
          assert.equal(typeof body.reason, "string");
        }
      }
    }),
    { numRuns, seed: Number(process.env.FUZZ_SEED ?? 20261125) },
  );
  return { runs: numRuns, statuses };
}
