/**
 * The OpenAPI document, without a running indexer: generated from the zod schemas in routes.ts,
 * OpenAPI 3.1, every route with its parameters and their constraints, and the startup check that
 * refuses an app whose routes and specs differ. (The pglite test fetches it from a running API.)
 */
import assert from "node:assert/strict";
import { buildOpenApi, OPENAPI_PATH } from "../../indexer/src/api/openapi.js";
import { MAX_LIMIT } from "../../indexer/src/api/params.js";
import { honoPath, routes } from "../../indexer/src/api/routes.js";

const registered = [
  ...Object.values(routes).map((r) => ({ method: "GET", path: honoPath(r.path) })),
  { method: "GET", path: OPENAPI_PATH },
];
type Param = { name: string; in: string; required: boolean; schema: Record<string, unknown> };
const paramsOf = (doc: any, path: string): Param[] => doc.paths[path].get.parameters;

describe("OpenAPI document", () => {
  it("test_buildOpenApi_registeredRoutes_openApi31JsonWithOneOperationPerRoute", () => {
    const doc = JSON.parse(JSON.stringify(buildOpenApi(registered)));
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.deepEqual(Object.keys(doc.paths).sort(), [...Object.values(routes).map((r) => r.path), OPENAPI_PATH].sort());
    const ids = Object.values(doc.paths).map((p: any) => p.get.operationId);
    assert.equal(new Set(ids).size, ids.length);
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      assert.ok(item.get.responses["200"].content["application/json"].schema, path);
      for (const name of path.matchAll(/\{(\w+)\}/g))
        assert.ok(
          item.get.parameters.some((p: Param) => p.name === name[1] && p.in === "path" && p.required),
          `${path} ${name[1]}`,
        );
    }
  });

  it("test_buildOpenApi_routeParameters_carryTheirZodConstraints", () => {
    const doc = buildOpenApi(registered);
    for (const path of ["/batches", "/gateways", "/validators"]) {
      const limit = paramsOf(doc, path).find((p) => p.name === "limit")!;
      assert.deepEqual(
        { in: limit.in, required: limit.required, schema: limit.schema },
        { in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: MAX_LIMIT } },
      );
    }
    const call = paramsOf(doc, "/calls/{gateway}/{callSeq}");
    assert.equal(call.find((p) => p.name === "gateway")!.schema.pattern, "^0x[0-9a-fA-F]{40}$");
    assert.equal(call.find((p) => p.name === "callSeq")!.schema.pattern, "^[0-9]{1,20}$");
    assert.deepEqual(paramsOf(doc, "/batches").find((p) => p.name === "status")!.schema.enum, [
      "submitted",
      "attested",
      "finalized",
      "rejected",
    ]);
    assert.equal(paramsOf(doc, "/batches").find((p) => p.name === "from")!.schema.maxLength, 40);
    assert.deepEqual(paramsOf(doc, "/network/activity").find((p) => p.name === "granularity")!.schema.enum, [
      "hour",
      "day",
    ]);
    assert.deepEqual(
      paramsOf(doc, "/network/stats").map((p) => p.name),
      ["chainId"],
    );
    const answer = (doc as any).paths["/validators"].get.responses["200"].content["application/json"].schema;
    assert.deepEqual(Object.keys(answer.properties).sort(), [
      "activeStake",
      "chainId",
      "exitDelay",
      "items",
      "minStake",
      "nextCursor",
      "quorum",
    ]);
  });

  it("test_buildOpenApi_everyRoute_takesAnOptionalChainIdAndNamesItsChain", () => {
    const doc = buildOpenApi(registered) as any;
    for (const r of Object.values(routes)) {
      const op = doc.paths[r.path].get;
      const chainId = (op.parameters as Param[]).find((p) => p.name === "chainId");
      assert.deepEqual({ in: chainId?.in, required: chainId?.required }, { in: "query", required: false }, r.path);
      const answer = op.responses["200"].content["application/json"].schema;
      assert.ok(answer.required.includes("chainId"), `${r.path} answer names its chain`);
      // Every row of a list names its chain too.
      const items = answer.properties.items?.items;
      if (items?.properties) assert.ok(items.required.includes("chainId") || !items.properties.chainId, r.path);
    }
  });

  it("test_buildOpenApi_undocumentedRouteOrUnregisteredSpec_throwsNamingIt", () => {
    assert.throws(
      () => buildOpenApi([...registered, { method: "GET", path: "/calls/by-hash/:hash" }]),
      /undocumented \["\/calls\/by-hash\/:hash"\]/,
    );
    assert.throws(
      () => buildOpenApi(registered.filter((r) => r.path !== "/models/usage")),
      /not registered \["\/models\/usage"\]/,
    );
    // The dashboard's files and Ponder's endpoints are not REST routes.
    buildOpenApi([
      ...registered,
      { method: "GET", path: "/" },
      { method: "GET", path: "/vendor/uPlot.min.css" },
      { method: "ALL", path: "/sql/*" },
    ]);
  });
});
