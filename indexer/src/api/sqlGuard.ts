/**
 * The gate in front of Ponder's SQL over HTTP (`/sql/*`, the @ponder/client protocol), which lets
 * anyone send any read-only query. Ponder answered a `sql` parameter that is not JSON with a 500,
 * and any refused or failing query with a 500 too; and a cheap query can be costly (a cross join of
 * a table with itself): on Postgres each one held a read-only connection up to the 30 s statement
 * timeout, so a few at once starved the REST routes of the pool they share; on PGlite it ran inside
 * the indexer's own process with no timeout at all. So: off unless configured (default off on
 * PGlite), a malformed `sql` is a 400 that says why, a refused or failing query a 400 with
 * Postgres' reason (a timeout a 503), and at most `maxInFlight` queries run at once.
 */
import type { Context, MiddlewareHandler } from "hono";

export interface SqlGuardOptions {
  enabled: boolean;
  maxInFlight: number;
}

const fail = (c: Context, status: 400 | 403 | 503, error: string) => c.json({ error }, status);

/** Why `sql` (the query parameter) is not a @ponder/client query (superjson `{ json: { sql, params } }`). */
function malformed(raw: string | undefined): string | undefined {
  if (raw === undefined) return 'sql: required, a JSON-encoded {"json":{"sql":"select …","params":[…]}}';
  let q: unknown;
  try {
    q = JSON.parse(raw);
  } catch {
    return "sql: not JSON";
  }
  const json = (q as { json?: unknown } | null)?.json as { sql?: unknown; params?: unknown } | undefined;
  if (typeof json?.sql !== "string") return "sql: expected {json: {sql: string, params?: array}}";
  if (json.params !== undefined && !Array.isArray(json.params)) return "sql: params must be an array";
  return undefined;
}

export function sqlGuard({ enabled, maxInFlight }: SqlGuardOptions): MiddlewareHandler {
  let inFlight = 0;
  return async (c, next) => {
    if (!enabled)
      return fail(
        c,
        403,
        "SQL over HTTP is off here (the default on PGlite, where one query runs inside the indexer itself); the REST routes and /graphql serve the same data. An operator turns it on with PROOFPATH_INDEXER_SQL_OVER_HTTP=true.",
      );
    const why = malformed(c.req.query("sql"));
    if (why) return fail(c, 400, why);
    if (c.req.path !== "/sql/db") return next(); // live queries: Ponder caps their number itself
    if (inFlight >= maxInFlight) {
      c.header("Retry-After", "1");
      return fail(c, 503, `busy: ${inFlight} SQL queries are running; retry later`);
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
    // Ponder answers a refused or failed query with its message as text and a 500.
    if (c.res.status === 500 && c.res.headers.get("content-type")?.startsWith("text/plain")) {
      const message = await c.res.text();
      const [status, error] = /statement timeout|canceling statement/i.test(message)
        ? [503, `the query took too long: ${message}`]
        : [400, `query refused: ${message}`];
      c.res = undefined; // replace the answer, not merge its headers into the new one
      c.res = new Response(JSON.stringify({ error }), {
        status,
        headers: { "content-type": "application/json; charset=UTF-8" },
      });
    }
  };
}
