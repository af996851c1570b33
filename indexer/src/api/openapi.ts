/**
 * The OpenAPI 3.1 document of the REST API, generated from the zod schemas in routes.ts (the same
 * ones the handlers parse with) by zod's own `z.toJSONSchema`. OpenAPI 3.1 schemas are JSON Schema
 * 2020-12, so the output goes in as it is.
 */
import { z } from "zod";
import { routes, honoPath, errorAnswer, type RouteSpec } from "./routes.js";

export const OPENAPI_PATH = "/openapi.json";

type Json = Record<string, unknown>;

/**
 * A parameter's schema as the client sends it. The output side when zod can express it (a `limit`
 * pipes into an integer 1..MAX_LIMIT, an enum stays an enum), else the input side: a string with
 * the pattern and length the route checks (an address, a uint64, a time, a cursor), since what a
 * transform makes of it is no business of the client's.
 */
function paramSchema(schema: z.ZodType): Json {
  const out = z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as Json;
  const chosen =
    "type" in out || "enum" in out ? out : (z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json);
  const { $schema: _s, ...rest } = chosen;
  return rest;
}

function answerSchema(schema: z.ZodType): Json {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as Json;
  return rest;
}

function operation(r: RouteSpec): Json {
  const inPath = new Set([...r.path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!));
  const parameters = Object.entries(r.params.schema.shape).map(([name, s]) => {
    const schema = s as z.ZodType;
    const optional = schema.safeParse(undefined).success;
    const where = inPath.has(name) ? "path" : "query";
    if (where === "path" && optional) throw new Error(`${r.path}: path parameter ${name} is optional`);
    const desc = (schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema).description;
    return {
      name,
      in: where,
      required: !optional,
      ...(desc ? { description: desc } : {}),
      schema: paramSchema(schema),
    };
  });
  for (const name of inPath)
    if (!(name in r.params.schema.shape)) throw new Error(`${r.path}: {${name}} has no schema`);
  const error = {
    description: "",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
  return {
    operationId: r.operationId,
    summary: r.summary,
    tags: [r.tag],
    parameters,
    responses: {
      "200": { description: "OK", content: { "application/json": { schema: answerSchema(r.answer) } } },
      "400": {
        ...error,
        description: "A parameter is invalid, unknown or repeated (`invalid_parameter`, naming the field)",
      },
      ...(r.notFound ? { "404": { ...error, description: "No such thing (`not_found`)" } } : {}),
      "500": { ...error, description: "internal_error (details only in the server log)" },
    },
  };
}

/** Routes on the app that are not REST: the dashboard's files and Ponder's own endpoints. */
export const NOT_REST = [
  /^\/$/,
  /^\/(holders|verify)$/,
  /^\/(dashboard|holders|verify)\.js$/,
  /^\/style\.css$/,
  /^\/vendor\//,
  /^\/graphql$/,
  /^\/sql\//,
];

/**
 * Builds the document. `registered` is what the Hono app actually registered (`app.routes`): every
 * GET route there must be documented and every documented path registered, or this throws, so a
 * route added without a spec stops the API at startup rather than going undocumented.
 */
export function buildOpenApi(
  registered: readonly { method: string; path: string }[],
  specs: readonly RouteSpec[] = Object.values(routes),
): Json {
  const documented = new Map(specs.map((r) => [honoPath(r.path), r]));
  documented.set(OPENAPI_PATH, { path: OPENAPI_PATH } as RouteSpec);
  const gets = new Set(registered.filter((r) => r.method === "GET").map((r) => r.path));
  const undocumented = [...gets].filter((path) => !documented.has(path) && !NOT_REST.some((re) => re.test(path)));
  const unregistered = [...documented.keys()].filter((path) => !gets.has(path));
  if (undocumented.length || unregistered.length) {
    throw new Error(
      `OpenAPI document out of step with the app: undocumented ${JSON.stringify(undocumented)}, not registered ${JSON.stringify(unregistered)}`,
    );
  }
  const paths: Json = {};
  for (const r of specs) paths[r.path] = { get: operation(r) };
  paths[OPENAPI_PATH] = {
    get: {
      operationId: "getOpenApi",
      summary: "This document",
      tags: ["meta"],
      responses: {
        "200": { description: "OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object" } } } },
      },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "proofpath indexer",
      version: "1",
      description:
        "Per-call proof status, batches, gateways, validators, usage and network rollups. Integers that can exceed 2^53 are decimal strings. GraphQL is at POST /graphql and read-only SQL at /sql/* (Ponder's own endpoints, not described here).",
    },
    paths,
    components: { schemas: { Error: answerSchema(errorAnswer) } },
  };
}
