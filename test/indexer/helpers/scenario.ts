/**
 * The settlement story every indexer test replays on a real chain, and what the indexer must report
 * for it, computed from the headers the test submitted (never from the indexer itself).
 */
import assert from "node:assert/strict";
import type { Hex, LocalAccount } from "viem";
import { localDeployDefaults } from "../../../sdk/deploy.js";
import { usageFee } from "../../../sdk/fees.js";
import { MODELS, type Call, type Header, type Protocol } from "./protocol.js";
import type { Ponder } from "../../../indexer/harness/ponder.js";

export type Status = "submitted" | "attested" | "finalized" | "rejected";

export interface Expected {
  gateways: LocalAccount[];
  batches: { header: Header; status: Status; submitTx: Hex }[];
  lastBlock: bigint;
}

const calls = (model: Hex, n: number, inTok = 120, outTok = 340): Call[] =>
  Array.from({ length: n }, (_, i) => ({ modelId: model, inputTokens: inTok + i, outputTokens: outTok + 3 * i }));

/** gw1: b0 finalized, b1 attested, b2 rejected; gw2: b0 finalized; a validator claims its rewards. */
export async function runScenario(p: Protocol): Promise<Expected> {
  const gw1 = p.gateway;
  const gw2 = await p.addGateway();
  const g1b0 = await p.submit([...calls(MODELS.llama, 2), ...calls(MODELS.mistral, 1, 50, 60)]);
  const g1b1 = await p.submit(calls(MODELS.llama, 1, 7, 9));
  const g1b2 = await p.submit(calls(MODELS.qwen, 2, 1000, 2000));
  const g2b0 = await p.submit(calls(MODELS.mistral, 3, 300, 30), { gw: gw2 });
  await p.attest([g1b0.header, g1b1.header, g2b0.header]);
  await p.reject([g1b2.header]);
  await p.passChallengeWindow();
  await p.finalize([g1b0.header, g2b0.header]);
  return {
    gateways: [gw1, gw2],
    batches: [
      { header: g1b0.header, status: "finalized", submitTx: g1b0.tx },
      { header: g1b1.header, status: "attested", submitTx: g1b1.tx },
      { header: g1b2.header, status: "rejected", submitTx: g1b2.tx },
      { header: g2b0.header, status: "finalized", submitTx: g2b0.tx },
    ],
    lastBlock: await p.pub.getBlockNumber({ cacheTime: 0 }),
  };
}

export const idOf = (h: Header) => `${h.gateway.toLowerCase()}:${h.batchSeq}`;
const sumCalls = (h: Header) => h.usage.reduce((n, u) => n + u.calls, 0);

/** Totals the indexer must report for `e`. */
export function expectedTotals(e: Expected) {
  const live = e.batches.filter((b) => b.status !== "rejected");
  const finalized = e.batches.filter((b) => b.status === "finalized");
  const feesPaid = finalized.reduce((n, b) => n + b.header.fee, 0n);
  const perModel = new Map<Hex, { calls: number; inputTokens: bigint; outputTokens: bigint; fees: bigint }>();
  for (const b of live) {
    for (const u of b.header.usage) {
      const m = perModel.get(u.modelId) ?? { calls: 0, inputTokens: 0n, outputTokens: 0n, fees: 0n };
      m.calls += u.calls;
      m.inputTokens += u.inputTokens;
      m.outputTokens += u.outputTokens;
      m.fees += usageFee(u, localDeployDefaults.rate);
      perModel.set(u.modelId, m);
    }
  }
  return {
    batchesSubmitted: e.batches.length,
    batchesRejected: e.batches.filter((b) => b.status === "rejected").length,
    batchesFinalized: finalized.length,
    batchesAttested: e.batches.filter((b) => b.status !== "submitted" && !(b.status === "rejected")).length,
    callsSettled: live.reduce((n, b) => n + sumCalls(b.header), 0),
    feesSubmitted: live.reduce((n, b) => n + b.header.fee, 0n),
    feesPaid,
    burned: (feesPaid * BigInt(localDeployDefaults.burnBps)) / 10_000n,
    perModel,
    perGateway: new Map(
      e.gateways.map((g) => {
        const mine = live.filter((b) => b.header.gateway === g.address);
        return [g.address.toLowerCase(), { batches: mine.length, calls: mine.reduce((n, b) => n + sumCalls(b.header), 0), fees: mine.reduce((n, b) => n + b.header.fee, 0n) }];
      }),
    ),
  };
}

/** Checks statuses and rollups through the REST API. */
export async function checkRest(ponder: Ponder, e: Expected): Promise<void> {
  const t = expectedTotals(e);
  for (const b of e.batches) {
    const h = b.header;
    const got = await ponder.getJson(`/batches/${idOf(h)}`);
    assert.equal(got.status, b.status, `status of ${idOf(h)}`);
    assert.equal(got.fee, h.fee.toString());
    assert.equal(got.root, h.root);
    assert.equal(got.submitTx, b.submitTx);
    // Every callSeq of the batch resolves to it; the range lookup hits both ends.
    for (const s of [h.firstCallSeq, h.firstCallSeq + BigInt(h.count) - 1n]) {
      const call = await ponder.getJson(`/calls/${h.gateway}/${s}`);
      assert.equal(call.status, b.status, `call ${h.gateway}/${s}`);
      assert.equal(call.batch.id, idOf(h));
      assert.equal(call.txs.submit, b.submitTx);
      if (b.status === "finalized") assert.ok(call.txs.finalize && call.txs.attest && call.times.finalizedAt);
    }
  }
  for (const g of e.gateways) {
    const last = e.batches.filter((b) => b.header.gateway === g.address).at(-1)!.header;
    const next = last.firstCallSeq + BigInt(last.count);
    assert.equal((await ponder.getJson(`/calls/${g.address}/${next}`)).status, "pending");
  }

  const stats = await ponder.getJson("/network/stats");
  assert.equal(stats.batchesSubmitted, t.batchesSubmitted);
  assert.equal(stats.batchesRejected, t.batchesRejected);
  assert.equal(stats.batchesFinalized, t.batchesFinalized);
  assert.equal(stats.batchesAttested, t.batchesAttested);
  assert.equal(stats.callsSettled, String(t.callsSettled));
  assert.equal(stats.feesSubmitted, t.feesSubmitted.toString());
  assert.equal(stats.feesPaid, t.feesPaid.toString());
  assert.equal(stats.burned, t.burned.toString());
  assert.deepEqual(stats.batchesByStatus, { submitted: 0, attested: 1, finalized: 2, rejected: 1 });
  assert.equal(stats.proofLatency.samples, t.batchesAttested);
  assert.ok(stats.proofLatency.p95Ms >= stats.proofLatency.p50Ms && stats.proofLatency.avgMs > 0);

  const from = "0";
  for (const granularity of ["hour", "day"]) {
    const models = await ponder.getJson(`/models/usage?granularity=${granularity}&from=${from}`);
    for (const [modelId, m] of t.perModel) {
      const rows = models.items.filter((r: { modelId: string }) => r.modelId === modelId);
      assert.equal(rows.reduce((n: number, r: { calls: string }) => n + Number(r.calls), 0), m.calls, `${granularity} calls of ${modelId}`);
      assert.equal(rows.reduce((n: bigint, r: { fees: string }) => n + BigInt(r.fees), 0n), m.fees, `${granularity} fees of ${modelId}`);
      assert.equal(rows.reduce((n: bigint, r: { inputTokens: string }) => n + BigInt(r.inputTokens), 0n), m.inputTokens);
    }
    // The rejected batch's model is back to zero.
    const qwen = models.items.filter((r: { modelId: string }) => r.modelId === MODELS.qwen);
    assert.equal(qwen.reduce((n: number, r: { calls: string }) => n + Number(r.calls), 0), 0);
    for (const [gw, g] of t.perGateway) {
      const u = await ponder.getJson(`/gateways/${gw}/usage?granularity=${granularity}&from=${from}`);
      assert.equal(u.buckets.reduce((n: number, r: { calls: string }) => n + Number(r.calls), 0), g.calls, `${granularity} calls of ${gw}`);
      assert.equal(u.buckets.reduce((n: number, r: { batches: number }) => n + r.batches, 0), g.batches);
      assert.equal(u.buckets.reduce((n: bigint, r: { fees: string }) => n + BigInt(r.fees), 0n), g.fees);
    }
    const act = await ponder.getJson(`/network/activity?granularity=${granularity}&from=${from}`);
    assert.equal(act.items.reduce((n: number, r: { calls: string }) => n + Number(r.calls), 0), t.callsSettled);
    assert.equal(act.items.reduce((n: number, r: { finalized: number }) => n + r.finalized, 0), t.batchesFinalized);
  }

  const gws = await ponder.getJson("/gateways");
  assert.equal(gws.items.length, e.gateways.length);
  for (const g of gws.items) {
    const want = t.perGateway.get(g.address)!;
    assert.equal(g.status, "active");
    assert.equal(Number(g.calls), want.calls);
    assert.equal(BigInt(g.fees), want.fees);
  }
  const vals = await ponder.getJson("/validators");
  assert.equal(vals.items.length, 3);
  // 70 % of finalized fees accrue to the 3 validators; dust stays in the contract.
  const earned = vals.items.reduce((n: bigint, v: { rewardsEarned: string }) => n + BigInt(v.rewardsEarned), 0n);
  const toValidators = (t.feesPaid * BigInt(localDeployDefaults.validatorBps)) / 10_000n;
  assert.ok(earned <= toValidators && toValidators - earned < 3n, `validator rewards ${earned} vs ${toValidators}`);

  // Pagination: one batch per page walks all of them, newest first, without repeats.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; nextCursor: string | null } = await ponder.getJson(`/batches?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
    seen.push(...page.items.map((b) => b.id));
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual([...seen].sort(), e.batches.map((b) => idOf(b.header)).sort());
  const rejected = await ponder.getJson(`/batches?status=rejected&gateway=${e.gateways[0]!.address}`);
  assert.deepEqual(rejected.items.map((b: { id: string }) => b.id), [idOf(e.batches[2]!.header)]);
}

/** Same facts through Ponder's GraphQL. */
export async function checkGraphql(ponder: Ponder, e: Expected): Promise<void> {
  const t = expectedTotals(e);
  const res = await fetch(`${ponder.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: `{ batchs(limit: 100, orderBy: "id") { items { id status fee calls } }
                network(id: "network") { callsSettled feesPaid batchesRejected }
                usageRollups(where: { period: "day" }, limit: 100) { items { modelId calls } } }`,
    }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  const byId = new Map(body.data.batchs.items.map((b: { id: string }) => [b.id, b]));
  for (const b of e.batches) {
    const got = byId.get(idOf(b.header)) as { status: string; fee: string };
    assert.equal(got.status, b.status);
    assert.equal(BigInt(got.fee), b.header.fee);
  }
  assert.equal(BigInt(body.data.network.callsSettled), BigInt(t.callsSettled));
  assert.equal(BigInt(body.data.network.feesPaid), t.feesPaid);
  assert.equal(body.data.network.batchesRejected, 1);
  const dayCalls = body.data.usageRollups.items.reduce((n: bigint, r: { calls: string }) => n + BigInt(r.calls), 0n);
  assert.equal(dayCalls, BigInt(t.callsSettled));
}

/** Runs a read-only query through Ponder's SQL-over-HTTP endpoint (the @ponder/client protocol). */
export async function sqlOverHttp<T = Record<string, unknown>>(ponder: Ponder, sql: string, params: unknown[] = []): Promise<T[]> {
  const q = encodeURIComponent(JSON.stringify({ json: { sql, params } }));
  const res = await ponder.get(`/sql/db?sql=${q}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text) as { rows: T[] }).rows;
}

export async function checkSql(ponder: Ponder, e: Expected): Promise<void> {
  const t = expectedTotals(e);
  const rows = await sqlOverHttp<{ id: string; status: string }>(ponder, "select id, status from batch order by id");
  assert.deepEqual(
    rows.map((r) => [r.id, r.status]),
    e.batches.map((b) => [idOf(b.header), b.status]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
  );
  const [sum] = await sqlOverHttp<{ calls: string }>(ponder, "select sum(calls)::text as calls from usage_rollup where period = $1", ["hour"]);
  assert.equal(sum!.calls, String(t.callsSettled));
  // The SQL endpoint is read-only.
  const res = await ponder.get(`/sql/db?sql=${encodeURIComponent(JSON.stringify({ json: { sql: "delete from batch", params: [] } }))}`);
  assert.notEqual(res.status, 200);
  assert.equal((await sqlOverHttp(ponder, "select id from batch")).length, e.batches.length);
}
