/** JSON with bigints as decimal strings (the DA/HTTP wire format and the store's header column). */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

/** A plain object with bigints replaced by decimal strings (for Hono's c.json). */
export function jsonSafe<T>(v: T): unknown {
  return JSON.parse(toJson(v));
}
