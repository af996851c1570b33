/**
 * Zod parsing of every REST parameter. A bad value gives a 400 naming the field and the reason,
 * never echoing the raw input back, and never reaching the database.
 */
import { z } from "zod";
import { BaseError } from "../../../sdk/errors.js";

export const MAX_LIMIT = 1000;
const UINT64_MAX = (1n << 64n) - 1n;

export const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "expected a 0x-prefixed 20-byte hex address")
  .transform((s) => s.toLowerCase() as `0x${string}`);

export const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "expected 0x + 64 hex digits")
  .transform((s) => s.toLowerCase() as `0x${string}`);

export const uint64 = z
  .string()
  .regex(/^[0-9]{1,20}$/, "expected a non-negative decimal integer")
  .transform((s) => BigInt(s))
  .refine((n) => n <= UINT64_MAX, "out of range for uint64");

/** A time as unix seconds or an ISO 8601 date; output unix seconds. */
export const time = z
  .string()
  .max(40, "too long")
  .transform((s, ctx) => {
    if (/^[0-9]{1,12}$/.test(s)) return BigInt(s);
    const ms = /^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?$/.test(s) ? Date.parse(s) : NaN;
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: "custom", message: "expected unix seconds or an ISO 8601 date" });
      return z.NEVER;
    }
    return BigInt(Math.floor(ms / 1000));
  })
  .describe("unix seconds or an ISO 8601 date");

/** A pipe rather than a refine, so the OpenAPI document carries the bounds (see openapi.ts). */
export const limit = z
  .string()
  .regex(/^[0-9]{1,7}$/, "expected a positive integer")
  .pipe(
    z.coerce
      .number<string>()
      .int()
      .min(1, `must be between 1 and ${MAX_LIMIT}`)
      .max(MAX_LIMIT, `must be between 1 and ${MAX_LIMIT}`),
  );

/** The chain a route answers for; the indexer's default chain (the first configured) when absent. */
export const chainId = z
  .string()
  .regex(/^[0-9]{1,15}$/, "expected a chain id (decimal integer)")
  .transform((s) => Number(s))
  .describe("the chain to answer for (GET /config lists them); default: the indexer's first chain");

export const batchStatus = z.enum(["submitted", "attested", "finalized", "rejected"], {
  error: "expected one of submitted, attested, finalized, rejected",
});
export const validatorStatus = z.enum(["admitted", "active", "exiting", "banned", "withdrawn", "dismissed"], {
  error: "expected one of admitted, active, exiting, banned, withdrawn, dismissed",
});
export const granularity = z.enum(["hour", "day"], { error: "expected hour or day" });

export const batchId = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}:[0-9]{1,20}$/, "expected <gateway address>:<batchSeq>")
  .transform((s) => {
    const [gw, seq] = s.split(":") as [string, string];
    return { gateway: gw.toLowerCase() as `0x${string}`, batchSeq: BigInt(seq) };
  })
  .refine((b) => b.batchSeq <= UINT64_MAX, "batchSeq out of range for uint64")
  .describe("<gateway address>:<batchSeq>");

/** Keyset cursor over (submittedAt, id), base64url JSON; opaque to clients. */
export const batchCursor = z
  .string()
  .max(200, "too long")
  .transform((s, ctx) => {
    try {
      const v: unknown = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
      if (
        Array.isArray(v) &&
        v.length === 2 &&
        typeof v[0] === "string" &&
        /^[0-9]{1,12}$/.test(v[0]) &&
        typeof v[1] === "string" &&
        /^0x[0-9a-f]{40}:[0-9]{1,20}$/.test(v[1])
      ) {
        return { submittedAt: BigInt(v[0]), id: v[1] };
      }
    } catch {
      // fall through to the issue below
    }
    ctx.addIssue({ code: "custom", message: "not a cursor returned by this API" });
    return z.NEVER;
  })
  .describe("the nextCursor of the previous page (opaque)");

export function encodeBatchCursor(submittedAt: bigint, id: string): string {
  return Buffer.from(JSON.stringify([submittedAt.toString(), id])).toString("base64url");
}

/** A query or path parameter is invalid (answered 400 invalid_parameter). Not retryable. */
export class ParamError extends BaseError {
  override name = "ParamError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** A route's parameter schema, built once at startup (zod compiles a schema on first use). */
export interface Params<S extends z.ZodRawShape> {
  schema: z.ZodObject<S>;
  keys: ReadonlySet<string>;
}

export function params<S extends z.ZodRawShape>(shape: S): Params<S> {
  return { schema: z.object(shape), keys: new Set(Object.keys(shape)) };
}

/**
 * Parses `input` (path params and query merged) against `p`; unknown keys are refused too, so a
 * misspelt filter is an error rather than silently ignored.
 */
export function parseParams<S extends z.ZodRawShape>(
  p: Params<S>,
  input: Record<string, string | string[] | undefined>,
): z.output<z.ZodObject<S>> {
  for (const [k, v] of Object.entries(input)) {
    if (!p.keys.has(k)) throw new ParamError(safeField(k), "unknown parameter");
    if (Array.isArray(v)) throw new ParamError(safeField(k), "given more than once");
  }
  const res = p.schema.safeParse(input);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    const field = issue.path.map(String).join(".") || "(request)";
    const reason = issue.code === "invalid_type" && issue.input === undefined ? "required" : issue.message;
    throw new ParamError(field, reason);
  }
  return res.data;
}

/** Field names are echoed back, so keep them to a harmless alphabet and length. */
function safeField(k: string): string {
  return /^[A-Za-z0-9_.-]{1,40}$/.test(k) ? k : "(unknown parameter)";
}
