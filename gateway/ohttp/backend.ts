/**
 * What the OHTTP gateway puts behind the privacy boundary: any handler of decrypted requests. The
 * gateway decrypts, guards against replay, hands the request here, and seals what comes back:
 * whole (RFC 9458) or chunk by chunk as the handler produces it (chunked OHTTP), so a model that
 * streams tokens reaches the user as it streams. The demo's chat completions are one such handler
 * (gateway/demo/ohttpBackend.ts); the gateway itself knows nothing of models.
 */
import type { BhttpFields } from "../../sdk/ohttp/index.js";
import type { Call } from "../record/recorder.js";

/** A served call's usage, for its receipt (the gateway adds the request and response hashes). */
export type CallUsage = Omit<Call, "requestHash" | "responseHash">;

export interface OhttpInnerRequest {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  headers: BhttpFields;
  content: Uint8Array;
  /** Aborted when the client goes away mid-answer (stop producing: nobody reads it). */
  signal: AbortSignal;
}

export interface OhttpInnerResponse {
  status: number;
  headers?: Record<string, string>;
  /**
   * The body, whole or as chunks when they are ready (each is sealed and sent at once in chunked
   * OHTTP; pulled only as fast as the client reads, so a slow client holds the producer back).
   */
  body: Uint8Array | AsyncIterable<Uint8Array>;
  /**
   * The usage to record once the body was sent in full; undefined (or no function) means the call
   * gets no receipt (refusals, errors).
   */
  usage?: () => CallUsage | undefined;
}

export interface OhttpBackend {
  handle(request: OhttpInnerRequest): Promise<OhttpInnerResponse>;
}
