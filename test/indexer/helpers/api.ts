/**
 * The OpenAPI document, the typed client and the README's GraphQL examples, against a running
 * indexer that indexed the scenario (scenario.ts).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { repoRoot, type Ponder } from "../../../indexer/harness/ponder.js";
import { routes } from "../../../indexer/src/api/routes.js";
import { IndexerError, indexerClient } from "../../../sdk/indexerClient.js";
import type { Expected } from "./scenario.js";

/** The answer matches the route's zod schema, and carries no top-level field the schema lacks. */
function conforms<K extends keyof typeof routes>(k: K, answer: unknown): void {
  const schema = routes[k].answer as z.ZodObject;
  const res = schema.safeParse(answer);
  assert.ok(res.success, `${k}: ${res.error?.message}`);
  const extra = Object.keys(answer as object).filter((f) => !(f in schema.shape));
  assert.deepEqual(extra, [], `${k}: fields missing from the schema`);
}

export async function checkOpenApiAndClient(ponder: Ponder, e: Expected): Promise<number> {
  const api = indexerClient(ponder.url);
  const doc = await api.getOpenApi();
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  const ops = Object.values(doc.paths as Record<string, { get: { operationId: string } }>).map(
    (p) => p.get.operationId,
  );
  const fns = Object.keys(api);
  // One client function per documented operation, and no other.
  assert.deepEqual([...fns].sort(), [...ops].sort());

  const [b0] = e.batches;
  const gw = b0!.header.gateway.toLowerCase();
  const call = await api.getCall(gw, b0!.header.firstCallSeq);
  conforms("getCall", call);
  assert.equal(call.status, b0!.status);
  assert.equal(call.final, b0!.status === "finalized");
  const pending = await api.getCall(gw, 10n ** 15n);
  conforms("getCall", pending);
  assert.equal(pending.status, "pending");

  const all = await api.listBatches({ limit: 1000 });
  conforms("listBatches", all);
  for (const b of all.items) conforms("getBatch", b);
  assert.equal(all.items.length, e.batches.length);
  const page = await api.listBatches({ limit: 1 });
  assert.equal((await api.listBatches({ limit: 1, cursor: page.nextCursor! })).items.length, 1);
  const one = await api.getBatch(gw, b0!.header.batchSeq);
  conforms("getBatch", one);
  assert.equal(one.id, `${gw}:${b0!.header.batchSeq}`);
  assert.equal(BigInt(one.fee), b0!.header.fee);

  const gws = await api.listGateways();
  conforms("listGateways", gws);
  assert.equal(gws.items.length, e.gateways.length);
  conforms("getGateway", await api.getGateway(gw));
  const usage = await api.getGatewayUsage(gw, { from: 0, granularity: "day" });
  conforms("getGatewayUsage", usage);
  assert.ok(usage.buckets.length > 0);
  const models = await api.getModelUsage({ from: new Date(0) });
  conforms("getModelUsage", models);
  assert.ok(models.items.length > 0);

  const vals = await api.listValidators();
  conforms("listValidators", vals);
  assert.equal(vals.items.length, e.validators.length);
  const v = await api.getValidator(e.validators[0]!.address);
  conforms("getValidator", v);
  assert.equal(BigInt(v.stake), e.validators[0]!.stake);

  const stats = await api.getNetworkStats();
  conforms("getNetworkStats", stats);
  assert.equal(stats.batchesSubmitted, e.batches.length);
  const activity = await api.getNetworkActivity({ from: 0 });
  conforms("getNetworkActivity", activity);
  assert.ok(activity.items.length > 0);

  // Errors come back typed.
  await assert.rejects(
    api.listBatches({ limit: 5000 }),
    (err: unknown) => err instanceof IndexerError && err.status === 400 && err.field === "limit",
  );
  await assert.rejects(
    api.getValidator(`0x${"ab".repeat(20)}`),
    (err: unknown) => err instanceof IndexerError && err.status === 404 && err.error === "not_found",
  );
  return Object.keys(doc.paths).length;
}

/** The ```graphql blocks of the README's indexer section, by operation name. */
export function readmeGraphqlExamples(): Map<string, string> {
  const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(
    readme.indexOf("## Indexer (Ponder)"),
    readme.indexOf("\n## ", readme.indexOf("## Indexer (Ponder)") + 5),
  );
  const out = new Map<string, string>();
  for (const m of section.matchAll(/```graphql\n([\s\S]*?)```/g)) out.set(/query (\w+)/.exec(m[1]!)![1]!, m[1]!);
  return out;
}

export async function checkGraphqlExamples(ponder: Ponder, e: Expected): Promise<void> {
  const examples = readmeGraphqlExamples();
  assert.deepEqual([...examples.keys()].sort(), [
    "BatchByGatewaySeq",
    "CallBatch",
    "HourlyActivity",
    "ValidatorsByStake",
  ]);
  const run = async (name: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(`${ponder.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: examples.get(name), variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: unknown };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.errors, undefined, `${name}: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const attested = e.batches.find((b) => b.attestationId !== undefined)!;
  const gw = attested.header.gateway.toLowerCase();
  const byId = (
    await run("BatchByGatewaySeq", { chainId: 31337, gateway: gw, batchSeq: attested.header.batchSeq.toString() })
  ).batchs.items;
  assert.equal(byId.length, 1);
  assert.equal(byId[0].id, `${gw}:${attested.header.batchSeq}`);
  assert.equal(byId[0].status, attested.status);
  assert.equal(byId[0].attestation.signers.length, 2);
  assert.equal(byId[0].usage.length, new Set(attested.header.usage.map((u) => u.modelId)).size);

  const lastCall = attested.header.firstCallSeq + BigInt(attested.header.count) - 1n;
  const [cover] = (await run("CallBatch", { chainId: 31337, gateway: gw, callSeq: lastCall.toString() })).batchs.items;
  assert.equal(cover.id, `${gw}:${attested.header.batchSeq}`);
  assert.ok(lastCall < BigInt(cover.firstCallSeq) + BigInt(cover.count));

  const vals = (await run("ValidatorsByStake")).validators.items as { address: string; stake: string }[];
  assert.equal(vals.length, e.validators.length);
  for (let i = 1; i < vals.length; i++) assert.ok(BigInt(vals[i - 1]!.stake) >= BigInt(vals[i]!.stake));
  assert.deepEqual(new Set(vals.map((v) => v.address)), new Set(e.validators.map((v) => v.address.toLowerCase())));

  const hours = (await run("HourlyActivity", { from: "0" })).networkRollups.items as {
    bucket: string;
    batches: number;
  }[];
  assert.ok(hours.length > 0);
  for (const h of hours) assert.equal(BigInt(h.bucket) % 3600n, 0n);
  const net = (await (await fetch(`${ponder.url}/network/stats`)).json()) as {
    batchesSubmitted: number;
    batchesRejected: number;
  };
  assert.equal(
    hours.reduce((n, h) => n + h.batches, 0),
    net.batchesSubmitted - net.batchesRejected,
  );
}
