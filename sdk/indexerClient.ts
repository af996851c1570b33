/**
 * A typed client for the indexer's REST API: one function per route, plain `fetch` (browsers,
 * Node 18+, workers). The answer types come from the zod schemas the API's OpenAPI document is
 * generated from (indexer/src/api/routes.ts), imported as types only, so nothing of zod or the
 * indexer is bundled. Integers that can exceed 2^53 arrive as decimal strings; call `BigInt` on them.
 */
import type { Answer } from "../indexer/src/api/routes.js";
import { BaseError } from "./errors.js";

export type { Answer };
export type Num = string | number | bigint;
type Time = Num | Date;
type Window = { from?: Time; to?: Time; granularity?: "hour" | "day" };

/** A non-2xx answer: `error` is invalid_parameter, not_found or internal_error. Retryable for 429 and 5xx. */
export class IndexerError extends BaseError {
  override name = "IndexerError";
  constructor(
    readonly status: number,
    readonly error: string,
    readonly field?: string,
    readonly reason?: string,
  ) {
    super(`indexer ${status} ${error}${field ? ` ${field}: ${reason}` : ""}`, {
      retryable: status === 429 || status >= 500,
    });
  }
}

export interface IndexerClientOptions {
  fetch?: typeof fetch;
  /** The chain every request asks about, on an indexer following several (default: the indexer's first chain). */
  chainId?: number;
  headers?: Record<string, string>;
}

const str = (v: Time): string => (v instanceof Date ? String(Math.floor(v.getTime() / 1000)) : String(v));

export function indexerClient(baseUrl: string, opts: IndexerClientOptions = {}) {
  const base = baseUrl.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));

  async function get<T>(path: string, query: Record<string, Time | undefined> = {}): Promise<T> {
    const qs = new URLSearchParams();
    if (opts.chainId !== undefined) qs.set("chainId", String(opts.chainId));
    for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, str(v));
    const q = qs.toString();
    const res = await doFetch(`${base}${path}${q ? `?${q}` : ""}`, {
      headers: { accept: "application/json", ...opts.headers },
    });
    const body = (await res.json().catch(() => ({ error: "bad_json" }))) as Record<string, string>;
    if (!res.ok) throw new IndexerError(res.status, body.error ?? "http_error", body.field, body.reason);
    return body as T;
  }
  const seg = (v: Num) => encodeURIComponent(String(v));

  return {
    /** Proof status of one call; `status: "pending"` until a batch covers it. */
    getCall: (gateway: string, callSeq: Num) => get<Answer<"getCall">>(`/calls/${seg(gateway)}/${seg(callSeq)}`),
    /**
     * The settled calls whose receipt carries `requestHash` (keccak256 of the request bytes), with
     * per-call latencies: one per gateway (its newest), or with `gateway` up to 10 of that gateway's.
     */
    getCallsByRequest: (requestHash: string, q: { gateway?: string } = {}) =>
      get<Answer<"getCallsByRequest">>(`/requests/${seg(requestHash)}`, q),
    listBatches: (
      q: {
        gateway?: string;
        status?: "submitted" | "attested" | "finalized" | "rejected";
        from?: Time;
        to?: Time;
        cursor?: string;
        limit?: number;
      } = {},
    ) => get<Answer<"listBatches">>("/batches", q),
    /** `id` is `<gateway>:<batchSeq>`, or pass both. */
    getBatch: (idOrGateway: string, batchSeq?: Num) =>
      get<Answer<"getBatch">>(`/batches/${seg(batchSeq === undefined ? idOrGateway : `${idOrGateway}:${batchSeq}`)}`),
    listGateways: (
      q: {
        status?: "registered" | "active" | "expired" | "deactivated" | "slashed" | "unregistered";
        cursor?: string;
        limit?: number;
      } = {},
    ) => get<Answer<"listGateways">>("/gateways", q),
    getGateway: (address: string) => get<Answer<"getGateway">>(`/gateways/${seg(address)}`),
    getGatewayUsage: (address: string, q: Window = {}) =>
      get<Answer<"getGatewayUsage">>(`/gateways/${seg(address)}/usage`, q),
    getModelUsage: (q: Window = {}) => get<Answer<"getModelUsage">>("/models/usage", q),
    listValidators: (
      q: {
        status?: "admitted" | "active" | "exiting" | "banned" | "withdrawn" | "dismissed";
        cursor?: string;
        limit?: number;
      } = {},
    ) => get<Answer<"listValidators">>("/validators", q),
    getValidator: (address: string) => get<Answer<"getValidator">>(`/validators/${seg(address)}`),
    getNetworkStats: () => get<Answer<"getNetworkStats">>("/network/stats"),
    getNetworkActivity: (q: Window = {}) => get<Answer<"getNetworkActivity">>("/network/activity", q),
    getConfig: () => get<Answer<"getConfig">>("/config"),
    /** The OpenAPI 3.1 document these functions follow. */
    getOpenApi: () =>
      get<{ openapi: string; paths: Record<string, unknown> } & Record<string, unknown>>("/openapi.json"),
  };
}

export type IndexerClient = ReturnType<typeof indexerClient>;
