/**
 * How OHTTP messages travel: one POST of opaque bytes, one answer of opaque bytes. Used by the
 * client (device → relay) and by the relay (relay → gateway).
 *
 * Under Node it is node:http(s) on a keep-alive agent: undici's fetch builds a WHATWG Request,
 * Headers and a ReadableStream per call, which measured ~0.25 ms of CPU and ~26 KB of garbage per
 * request on the boundary benchmark — more than the OHTTP cryptography. Elsewhere (browsers) it is
 * `fetch`. Both answer with the status, the media type and the whole body.
 */
import type { Agent, IncomingMessage, RequestOptions } from "node:http";

export interface PostResponse {
  status: number;
  /** The response's content-type, or null. */
  contentType: string | null;
  body: Uint8Array;
}

/** POSTs `body` to `url` with exactly `headers` (plus content-length) and reads the whole answer. */
export type Post = (url: string, headers: Record<string, string>, body: Uint8Array, signal?: AbortSignal) => Promise<PostResponse>;

export interface NodePostOptions {
  /** Connections kept per origin. Default 64. */
  maxSockets?: number;
  /** Idle-socket / no-answer timeout in ms. Default 60 s. */
  timeoutMs?: number;
}

type HttpModule = typeof import("node:http");
const builtin = (id: string) =>
  (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(id);

/** A `Post` over node:http(s) keep-alive agents, or undefined outside Node. */
export function createNodePost(options: NodePostOptions = {}): Post | undefined {
  const http = builtin("node:http") as HttpModule | undefined;
  const https = builtin("node:https") as HttpModule | undefined;
  if (!http || !https) return undefined;
  const maxSockets = options.maxSockets ?? 64;
  const timeout = options.timeoutMs ?? 60_000;
  const agents = new Map<string, Agent>();
  const agentFor = (protocol: string, mod: HttpModule) => {
    let a = agents.get(protocol);
    if (!a) agents.set(protocol, (a = new mod.Agent({ keepAlive: true, maxSockets })));
    return a;
  };
  // Parsed URLs by string: a client posts to one relay, a relay to one gateway.
  const targets = new Map<string, Pick<RequestOptions, "protocol" | "hostname" | "port" | "path">>();
  const targetOf = (url: string) => {
    let t = targets.get(url);
    if (!t) {
      const u = new URL(url);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`expected an http(s) URL, got ${url}`);
      t = { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ""), port: u.port, path: u.pathname + u.search };
      if (targets.size < 64) targets.set(url, t);
    }
    return t;
  };

  return (url, headers, body, signal) =>
    new Promise<PostResponse>((resolve, reject) => {
      const target = targetOf(url);
      const mod = target.protocol === "https:" ? https : http;
      const req = mod.request(
        { ...target, method: "POST", agent: agentFor(target.protocol!, mod), timeout, headers: { ...headers, "content-length": body.length }, ...(signal ? { signal } : {}) },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on("data", (d: Buffer) => chunks.push(d));
          res.on("end", () => {
            const b = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            // A plain Uint8Array view (no copy), as fetch gives: callers compare and keep these bytes.
            resolve({ status: res.statusCode ?? 502, contentType: res.headers["content-type"] ?? null, body: new Uint8Array(b.buffer, b.byteOffset, b.length) });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${timeout} ms`)));
      req.on("error", reject);
      req.end(body);
    });
}

/** A `Post` over a fetch implementation (browsers, or a fetch the caller supplies). */
export function createFetchPost(fetchImpl: typeof fetch): Post {
  return async (url, headers, body, signal) => {
    const res = await fetchImpl(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer>, ...(signal ? { signal } : {}) });
    return { status: res.status, contentType: res.headers.get("content-type"), body: new Uint8Array(await res.arrayBuffer()) };
  };
}
