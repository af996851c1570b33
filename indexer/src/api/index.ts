/**
 * proofpath REST API, GraphQL and SQL over HTTP, and the dashboard, on Ponder's Hono server.
 * Every parameter goes through zod (src/api/params.ts); bigints leave as decimal strings.
 * Every route answers for one chain (`chainId`, default the first configured) and says which.
 */
import { Hono, type Context } from "hono";
import { db } from "ponder:api";
import schema, {
  batch,
  call,
  gateway,
  gatewayRollup,
  latencyHistogram,
  network,
  networkRollup,
  protocolParams,
  usageRollup,
  validator,
} from "ponder:schema";
import { and, asc, client, desc, eq, graphql, gt, gte, lt, lte, or, replaceBigInts, sql } from "ponder";
import { keccak256, toHex } from "viem";
import { loadIndexerConfig } from "../lib/config.js";
import { emptyNetwork } from "../lib/store.js";
import { quantileFromHistogram } from "../lib/latency.js";
import { PERIODS } from "../lib/time.js";
import { dashboard } from "./dashboard.js";
import { sqlGuard } from "./sqlGuard.js";
import { buildOpenApi, OPENAPI_PATH } from "./openapi.js";
import * as p from "./params.js";
import * as R from "./routes.js";

const env = loadIndexerConfig();
const app = new Hono();

app.use("/sql/*", sqlGuard({ enabled: env.sqlOverHttp, maxInFlight: env.sqlMaxInFlight }), client({ db, schema }));
app.use("/graphql", graphql({ db, schema }));
app.route("/", dashboard);

// Every route's parameters and answer, declared once in routes.ts (also the OpenAPI document's source).
const {
  callParams,
  requestParams,
  batchListParams,
  batchParams,
  gatewayListParams,
  gatewayParams,
  validatorListParams,
  validatorParams,
  gatewayUsageParams,
  modelUsageParams,
  activityParams,
  chainParams,
} = R;

const chainIds = new Set(env.chains.map((ch) => ch.chainId));
const defaultChain = env.chains[0]!.chainId;

/** The chain a request asks about: its `chainId`, or the default; an unknown one is a 400, never an empty answer. */
function chainOf(q: { chainId?: number | undefined }): number {
  if (q.chainId === undefined) return defaultChain;
  if (!chainIds.has(q.chainId))
    throw new p.ParamError("chainId", "not a chain this indexer follows (GET /config lists them)");
  return q.chainId;
}

type Query = Record<string, string | string[] | undefined>;
function input(c: Context): Query {
  const q: Query = {};
  for (const [k, v] of Object.entries(c.req.queries())) q[k] = v.length === 1 ? v[0] : v;
  return { ...q, ...c.req.param() };
}

function json(c: Context, body: unknown, status: 200 | 404 = 200) {
  return c.json(replaceBigInts(body as object, (v) => v.toString()) as object, status);
}

/** `expired` is not an event: an approved key whose approval ran out. */
function gatewayView(g: typeof gateway.$inferSelect, nowSec: bigint) {
  const status = g.status === "active" && g.activeUntil <= nowSec ? "expired" : g.status;
  return { ...g, status };
}
const nowSec = () => BigInt(Math.floor(Date.now() / 1000));

/** Only Finalized is final: a Submitted or Attested batch can still be rejected. */
function batchView(b: typeof batch.$inferSelect) {
  return { ...b, final: b.status === "finalized" };
}

// ------------------------------------------------------------------ per-call status

/**
 * Range lookup on the (gateway, firstCallSeq) index: the batch with the greatest firstCallSeq ≤ s,
 * one index probe whatever the table size. Prepared once (the hottest route), so each request
 * skips query building and server-side planning. Postgres also writes the answer's JSON
 * (json_build_object keeps the key order; bigints as decimal strings, as `json()` gives them): the
 * replica's single thread then decodes three columns instead of seventeen and skips the bigint
 * mapping and JSON.stringify: 0.43 against 0.52 ms of its CPU per request in paired runs at
 * 1,000 req/s, for ~0.04 ms more in Postgres. The batch's usage JSON is not read at all.
 * `final` is true only once Finalized; `times.windowEnd` is when an attested batch can finalize.
 */
const callLookup = db
  .select({
    firstCallSeq: batch.firstCallSeq,
    count: batch.count,
    answer: sql<string>`json_build_object(
      'chainId', ${batch.chainId}, 'gateway', ${batch.gateway}, 'callSeq', ${sql.placeholder("callSeqText")}::text, 'status', ${batch.status},
      'final', ${batch.status} = 'finalized',
      'batch', json_build_object('id', ${batch.id}, 'batchSeq', ${batch.batchSeq}::text, 'firstCallSeq', ${batch.firstCallSeq}::text,
        'count', ${batch.count}, 'root', ${batch.root}, 'headerHash', ${batch.headerHash}, 'daURI', ${batch.daURI},
        'attestationId', ${batch.attestationId}::text),
      'index', (${sql.placeholder("callSeqText")}::numeric - ${batch.firstCallSeq})::text,
      'txs', json_build_object('submit', ${batch.submitTx}, 'attest', ${batch.attestTx}, 'finalize', ${batch.finalizeTx}, 'reject', ${batch.rejectTx}),
      'times', json_build_object('submittedAt', ${batch.submittedAt}::text, 'attestedAt', ${batch.attestedAt}::text,
        'windowEnd', ${batch.windowEnd}::text, 'finalizedAt', ${batch.finalizedAt}::text, 'rejectedAt', ${batch.rejectedAt}::text),
      'proofLatencyMs', ${batch.proofLatencyMs}::text)::text`,
  })
  .from(batch)
  .where(
    and(
      eq(batch.chainId, sql.placeholder("chainId")),
      eq(batch.gateway, sql.placeholder("gateway")),
      lte(batch.firstCallSeq, sql.placeholder("callSeq")),
    ),
  )
  .orderBy(desc(batch.firstCallSeq))
  .limit(1)
  .prepare("proofpath_call_lookup");

app.get(R.honoPath(R.routes.getCall.path), async (c) => {
  const q = p.parseParams(callParams, input(c));
  const { gateway: gw, callSeq } = q;
  const chainId = chainOf(q);
  const [b] = await callLookup.execute({ chainId, gateway: gw, callSeq, callSeqText: callSeq.toString() });
  if (!b || callSeq >= b.firstCallSeq + BigInt(b.count)) {
    return json(c, { chainId, gateway: gw, callSeq, status: "pending", final: false, batch: null });
  }
  return c.body(b.answer, 200, { "Content-Type": "application/json" });
});

// ------------------------------------------------------------------ calls by request hash

/**
 * The calls whose receipt carries this request hash (src/lib/receipts.ts indexes them from the DA,
 * checked against the settled root), with their batch's status and the per-call latencies
 * served → attested and served → final (block time − the receipt's servedAt). Prepared once, like
 * the callSeq lookup: one probe of the requestHash index and one of the batch primary key.
 *
 * A request hash is public once indexed, and any gateway may settle receipts that carry it: newest
 * first over all gateways, a gateway settling ten such receipts hid the caller's own call. So the
 * lookup answers one call per gateway (its newest), and `gateway` lists that gateway's calls.
 */
const requestFields = {
  chainId: call.chainId,
  gateway: call.gateway,
  callSeq: call.callSeq,
  status: batch.status,
  batchId: call.batchId,
  index: sql<string>`(${call.callSeq} - ${batch.firstCallSeq})::text`,
  modelId: call.modelId,
  responseHash: call.responseHash,
  inputTokens: call.inputTokens,
  outputTokens: call.outputTokens,
  servedAt: call.servedAt,
  submittedAt: batch.submittedAt,
  attestedAt: batch.attestedAt,
  windowEnd: batch.windowEnd,
  finalizedAt: batch.finalizedAt,
  submitTx: batch.submitTx,
  attestTx: batch.attestTx,
  finalizeTx: batch.finalizeTx,
  rejectTx: batch.rejectTx,
  daURI: batch.daURI,
};
const callOfBatch = and(eq(batch.chainId, call.chainId), eq(batch.id, call.batchId));
const ofRequest = and(
  eq(call.requestHash, sql.placeholder("requestHash")),
  eq(call.chainId, sql.placeholder("chainId")),
);
const newestCallPerGateway = db
  .selectDistinctOn([call.gateway], requestFields)
  .from(call)
  .innerJoin(batch, callOfBatch)
  .where(ofRequest)
  .orderBy(call.gateway, desc(call.servedAt))
  .limit(10)
  .prepare("proofpath_request_lookup");
const callsOfGateway = db
  .select(requestFields)
  .from(call)
  .innerJoin(batch, callOfBatch)
  .where(and(ofRequest, eq(call.gateway, sql.placeholder("gateway"))))
  .orderBy(desc(call.servedAt))
  .limit(10)
  .prepare("proofpath_request_lookup_gateway");

app.get(R.honoPath(R.routes.getCallsByRequest.path), async (c) => {
  const q = p.parseParams(requestParams, input(c));
  const { requestHash, gateway: gw } = q;
  const chainId = chainOf(q);
  const rows = gw
    ? await callsOfGateway.execute({ requestHash, chainId, gateway: gw.toLowerCase() })
    : (await newestCallPerGateway.execute({ requestHash, chainId })).sort((x, y) =>
        x.servedAt === y.servedAt ? 0 : x.servedAt > y.servedAt ? -1 : 1,
      );
  const since = (s: bigint | null, servedMs: bigint) => (s === null ? null : s * 1000n - servedMs);
  return json(c, {
    chainId,
    requestHash,
    items: rows.map(({ submitTx, attestTx, finalizeTx, rejectTx, ...r }) => ({
      ...r,
      final: r.status === "finalized",
      servedToAttestedMs: since(r.attestedAt, r.servedAt),
      servedToFinalMs: since(r.finalizedAt, r.servedAt),
      txs: { submit: submitTx, attest: attestTx, finalize: finalizeTx, reject: rejectTx },
    })),
  });
});

// ------------------------------------------------------------------ batches

app.get(R.honoPath(R.routes.listBatches.path), async (c) => {
  const q = p.parseParams(batchListParams, input(c));
  const limit = q.limit ?? 100;
  const chainId = chainOf(q);
  const where = and(
    eq(batch.chainId, chainId),
    q.gateway ? eq(batch.gateway, q.gateway) : undefined,
    q.status ? eq(batch.status, q.status) : undefined,
    q.from !== undefined ? gte(batch.submittedAt, q.from) : undefined,
    q.to !== undefined ? lte(batch.submittedAt, q.to) : undefined,
    q.cursor
      ? or(
          lt(batch.submittedAt, q.cursor.submittedAt),
          and(eq(batch.submittedAt, q.cursor.submittedAt), lt(batch.id, q.cursor.id)),
        )
      : undefined,
  );
  const rows = await db
    .select()
    .from(batch)
    .where(where)
    .orderBy(desc(batch.submittedAt), desc(batch.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > limit && last ? p.encodeBatchCursor(last.submittedAt, last.id) : null;
  return json(c, { chainId, items: page.map(batchView), nextCursor });
});

app.get(R.honoPath(R.routes.getBatch.path), async (c) => {
  const q = p.parseParams(batchParams, input(c));
  const key = `${q.id.gateway}:${q.id.batchSeq}`;
  const [b] = await db
    .select()
    .from(batch)
    .where(and(eq(batch.chainId, chainOf(q)), eq(batch.id, key)))
    .limit(1);
  if (!b) return json(c, { error: "not_found", field: "id", reason: "no such batch" }, 404);
  return json(c, batchView(b));
});

// ------------------------------------------------------------------ gateways

app.get(R.honoPath(R.routes.listGateways.path), async (c) => {
  const q = p.parseParams(gatewayListParams, input(c));
  const limit = q.limit ?? 100;
  const chainId = chainOf(q);
  const now = nowSec();
  const statusWhere =
    q.status === "active"
      ? and(eq(gateway.status, "active"), gt(gateway.activeUntil, now))
      : q.status === "expired"
        ? and(eq(gateway.status, "active"), lte(gateway.activeUntil, now))
        : q.status
          ? eq(gateway.status, q.status)
          : undefined;
  const rows = await db
    .select()
    .from(gateway)
    .where(and(eq(gateway.chainId, chainId), statusWhere, q.cursor ? gt(gateway.address, q.cursor) : undefined))
    .orderBy(asc(gateway.address))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map((g) => gatewayView(g, now));
  const nextCursor = rows.length > limit ? items[items.length - 1]!.address : null;
  return json(c, { chainId, items, nextCursor });
});

app.get(R.honoPath(R.routes.getGateway.path), async (c) => {
  const q = p.parseParams(gatewayParams, input(c));
  const [g] = await db
    .select()
    .from(gateway)
    .where(and(eq(gateway.chainId, chainOf(q)), eq(gateway.address, q.address)))
    .limit(1);
  if (!g) return json(c, { error: "not_found", field: "address", reason: "no such gateway" }, 404);
  return json(c, gatewayView(g, nowSec()));
});

app.get(R.honoPath(R.routes.getGatewayUsage.path), async (c) => {
  const q = p.parseParams(gatewayUsageParams, input(c));
  const period = q.granularity ?? "hour";
  const chainId = chainOf(q);
  const { from, to } = window(q.from, q.to, period);
  const rollups = await db
    .select()
    .from(gatewayRollup)
    .where(
      and(
        eq(gatewayRollup.period, period),
        eq(gatewayRollup.chainId, chainId),
        eq(gatewayRollup.gateway, q.address),
        gte(gatewayRollup.bucket, from),
        to === null ? undefined : lte(gatewayRollup.bucket, to),
      ),
    )
    .orderBy(asc(gatewayRollup.bucket))
    .limit(MAX_BUCKETS);
  const models = await db
    .select()
    .from(usageRollup)
    .where(
      and(
        eq(usageRollup.period, period),
        eq(usageRollup.chainId, chainId),
        eq(usageRollup.gateway, q.address),
        gte(usageRollup.bucket, from),
        to === null ? undefined : lte(usageRollup.bucket, to),
      ),
    )
    .orderBy(asc(usageRollup.bucket), asc(usageRollup.modelId))
    .limit(MAX_BUCKETS * 20);
  return json(c, {
    chainId,
    gateway: q.address,
    granularity: period,
    from,
    to,
    buckets: rollups.map(({ period: _p, gateway: _g, chainId: _c, ...r }) => r),
    models: models.map(({ period: _p, gateway: _g, chainId: _c, ...r }) => r),
  });
});

/** At most this many buckets per answer (a year of hours is 8,760; pages are the client's job). */
const MAX_BUCKETS = 10_000;

/**
 * Default window: from 7 days (hours) or 365 days (days) ago, with no upper bound unless `to` is
 * given — chain time can run ahead of this server's clock (a devnet's time warp, clock skew), and
 * a fresh bucket must not vanish for that.
 */
function window(from: bigint | undefined, to: bigint | undefined, period: keyof typeof PERIODS) {
  const start = from ?? (to ?? nowSec()) - (period === "hour" ? 7n * 86_400n : 365n * 86_400n);
  if (to !== undefined && start > to) throw new p.ParamError("from", "must not be after to");
  return { from: start - (start % PERIODS[period]), to: to ?? null };
}

// ------------------------------------------------------------------ models

app.get(R.honoPath(R.routes.getModelUsage.path), async (c) => {
  const q = p.parseParams(modelUsageParams, input(c));
  const period = q.granularity ?? "hour";
  const chainId = chainOf(q);
  const { from, to } = window(q.from, q.to, period);
  const rows = await db
    .select({
      bucket: usageRollup.bucket,
      modelId: usageRollup.modelId,
      calls: sql<string>`sum(${usageRollup.calls})::text`,
      inputTokens: sql<string>`sum(${usageRollup.inputTokens})::text`,
      outputTokens: sql<string>`sum(${usageRollup.outputTokens})::text`,
      fees: sql<string>`sum(${usageRollup.fees})::text`,
      batches: sql<string>`sum(${usageRollup.batches})::text`,
    })
    .from(usageRollup)
    .where(
      and(
        eq(usageRollup.period, period),
        eq(usageRollup.chainId, chainId),
        gte(usageRollup.bucket, from),
        to === null ? undefined : lte(usageRollup.bucket, to),
      ),
    )
    .groupBy(usageRollup.bucket, usageRollup.modelId)
    .orderBy(asc(usageRollup.bucket), asc(usageRollup.modelId))
    .limit(MAX_BUCKETS * 20);
  return json(c, { chainId, granularity: period, from, to, items: rows });
});

// ------------------------------------------------------------------ validators

/** Rewards owed = earned (equal shares of finalized fees of the attestations it signed) − claimed. */
function validatorView(v: typeof validator.$inferSelect) {
  return { ...v, rewardsOwed: v.rewardsEarned - v.rewardsClaimed };
}

app.get(R.honoPath(R.routes.listValidators.path), async (c) => {
  const q = p.parseParams(validatorListParams, input(c));
  const limit = q.limit ?? 100;
  const chainId = chainOf(q);
  const rows = await db
    .select()
    .from(validator)
    .where(
      and(
        eq(validator.chainId, chainId),
        q.status ? eq(validator.status, q.status) : undefined,
        q.cursor ? gt(validator.address, q.cursor) : undefined,
      ),
    )
    .orderBy(asc(validator.address))
    .limit(limit + 1);
  const items = rows.slice(0, limit).map(validatorView);
  const nextCursor = rows.length > limit ? items[items.length - 1]!.address : null;
  const [counts] = await db
    .select({
      active: sql<string>`count(*) filter (where ${validator.status} = 'active')::text`,
      activeStake: sql<string>`coalesce(sum(${validator.stake}) filter (where ${validator.status} = 'active'), 0)::text`,
    })
    .from(validator)
    .where(eq(validator.chainId, chainId));
  const [params] = await db
    .select({ quorum: protocolParams.quorum, minStake: protocolParams.minStake, exitDelay: protocolParams.exitDelay })
    .from(protocolParams)
    .where(eq(protocolParams.chainId, chainId))
    .limit(1);
  const active = BigInt(counts?.active ?? "0");
  const configured = params?.quorum ?? 0n;
  const majority = active / 2n + 1n;
  return json(c, {
    chainId,
    items,
    nextCursor,
    // The contract's quorum(): the configured k, never below a strict majority of the active set.
    quorum: { configured, effective: configured > majority ? configured : majority, active },
    activeStake: counts?.activeStake ?? "0",
    minStake: params?.minStake ?? 0n,
    exitDelay: params?.exitDelay ?? 0n,
  });
});

app.get(R.honoPath(R.routes.getValidator.path), async (c) => {
  const q = p.parseParams(validatorParams, input(c));
  const [v] = await db
    .select()
    .from(validator)
    .where(and(eq(validator.chainId, chainOf(q)), eq(validator.address, q.address)))
    .limit(1);
  if (!v) return json(c, { error: "not_found", field: "address", reason: "no such validator" }, 404);
  return json(c, validatorView(v));
});

// ------------------------------------------------------------------ network

app.get(R.honoPath(R.routes.getNetworkStats.path), async (c) => {
  const chainId = chainOf(p.parseParams(chainParams, input(c)));
  const [net] = await db.select().from(network).where(eq(network.chainId, chainId)).limit(1);
  const hist = await db.select().from(latencyHistogram).where(eq(latencyHistogram.chainId, chainId));
  const counts = await db
    .select({ status: batch.status, n: sql<string>`count(*)::text` })
    .from(batch)
    .where(eq(batch.chainId, chainId))
    .groupBy(batch.status);
  const now = nowSec();
  const gws = await db
    .select({ status: gateway.status, activeUntil: gateway.activeUntil })
    .from(gateway)
    .where(eq(gateway.chainId, chainId));
  const activeGateways = gws.filter((g) => g.status === "active" && g.activeUntil > now).length;
  const vals = await db
    .select({
      status: validator.status,
      n: sql<string>`count(*)::text`,
      stake: sql<string>`sum(${validator.stake})::text`,
    })
    .from(validator)
    .where(eq(validator.chainId, chainId))
    .groupBy(validator.status);
  const [params] = await db
    .select({ challengeWindow: protocolParams.challengeWindow })
    .from(protocolParams)
    .where(eq(protocolParams.chainId, chainId))
    .limit(1);
  const { id: _id, ...totals } = net ?? emptyNetwork(chainId);
  return json(c, {
    ...totals,
    activeGateways,
    activeValidators: Number(vals.find((r) => r.status === "active")?.n ?? 0),
    validatorStake: vals.reduce((n, r) => n + BigInt(r.stake ?? "0"), 0n),
    challengeWindow: params?.challengeWindow ?? null,
    batchesByStatus: Object.fromEntries(
      ["submitted", "attested", "finalized", "rejected"].map((s) => [
        s,
        Number(counts.find((r) => r.status === s)?.n ?? 0),
      ]),
    ),
    proofLatency: {
      avgMs: totals.latencyCount > 0 ? Number(totals.latencySumMs) / totals.latencyCount : null,
      p50Ms: quantileFromHistogram(hist, 0.5),
      p95Ms: quantileFromHistogram(hist, 0.95),
      samples: totals.latencyCount,
    },
  });
});

app.get(R.honoPath(R.routes.getNetworkActivity.path), async (c) => {
  const q = p.parseParams(activityParams, input(c));
  const period = q.granularity ?? "hour";
  const chainId = chainOf(q);
  const { from, to } = window(q.from, q.to, period);
  const rows = await db
    .select()
    .from(networkRollup)
    .where(
      and(
        eq(networkRollup.period, period),
        eq(networkRollup.chainId, chainId),
        gte(networkRollup.bucket, from),
        to === null ? undefined : lte(networkRollup.bucket, to),
      ),
    )
    .orderBy(asc(networkRollup.bucket))
    .limit(MAX_BUCKETS);
  return json(c, {
    chainId,
    granularity: period,
    from,
    to,
    items: rows.map(({ period: _p, chainId: _c, ...r }) => r),
  });
});

// ------------------------------------------------------------------ config

/** What the dashboard shows: each chain's name, explorer links and contracts, the model names; and
 *  the RPC the verify page checks against. The chain asked for (default: the first) is at the top. */
const siteChains = env.chains.map((ch) => ({
  chain: { id: ch.chainId, name: ch.site.chainName },
  rpcUrl: ch.site.publicRpcUrl,
  explorerUrl: ch.site.explorerUrl,
  contracts: {
    ProofSettlement: ch.deployment.contracts.ProofSettlement,
    GatewayRegistry: ch.deployment.contracts.GatewayRegistry,
    ValidatorSet: ch.deployment.contracts.ValidatorSet,
    OPGToken: ch.deployment.contracts.OPGToken,
  },
  startBlock: ch.deployment.startBlock,
}));
// A name is attached to the modelId it hashes to (keccak256 of its UTF-8 bytes), so a wrong name
// in the config labels nothing rather than the wrong model.
const models = Object.fromEntries(env.modelNames.map((n) => [keccak256(toHex(n)), n]));
const siteConfig = new Map(
  siteChains.map((ch) => [ch.chain.id, JSON.stringify({ chainId: ch.chain.id, ...ch, chains: siteChains, models })]),
);
app.get(R.honoPath(R.routes.getConfig.path), (c) => {
  const chainId = chainOf(p.parseParams(chainParams, input(c)));
  return c.body(siteConfig.get(chainId)!, 200, { "Content-Type": "application/json", "Cache-Control": "no-cache" });
});

// ------------------------------------------------------------------ OpenAPI

// Built after every route above: buildOpenApi throws (and the API does not start) if a registered
// GET route has no spec in routes.ts, or a spec no route.
let openapi = "";
app.get(OPENAPI_PATH, (c) => c.body(openapi, 200, { "Content-Type": "application/json", "Cache-Control": "no-cache" }));
openapi = JSON.stringify(buildOpenApi(app.routes));

// ------------------------------------------------------------------ errors

app.onError((err, c) => {
  if (err instanceof p.ParamError)
    return c.json({ error: "invalid_parameter", field: err.field, reason: err.reason }, 400);
  // Never leak SQL or stack traces; the log keeps the detail.
  console.error("api error", err);
  return c.json({ error: "internal_error" }, 500);
});

export default app;
