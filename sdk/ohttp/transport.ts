/**
 * How OHTTP messages travel: one POST of opaque bytes, one answer of opaque bytes. Used by the
 * client (device → relay) and by the relay (relay → gateway).
 *
 * Under Node it is undici's dispatcher API on keep-alive connection pools: no WHATWG Request,
 * Headers or streams (undici's `fetch` built those per call: ~0.25 ms of CPU and ~26 KB of garbage
 * on the boundary benchmark, more than the OHTTP cryptography), and ~80 µs less client CPU per
 * request than node:http's ClientRequest. Elsewhere (browsers) it is `fetch`. Both answer with the
 * status, the media type and the whole body.
 */
import type { Dispatcher, Pool } from "undici";

export interface PostResponse {
  status: number;
  /** The response's content-type, or null. */
  contentType: string | null;
  body: Uint8Array;
}

/** POSTs `body` to `url` with exactly `headers` (plus content-length) and reads the whole answer. */
export type Post = (
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  signal?: AbortSignal,
) => Promise<PostResponse>;

export interface NodePostOptions {
  /** Connections kept per origin. Default 64. */
  maxSockets?: number;
  /** Idle-socket / no-answer timeout in ms. Default 60 s. */
  timeoutMs?: number;
}

type UndiciModule = typeof import("undici");
const builtin = (id: string) =>
  (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(id);

/** undici, loaded through Node's own require so that browser bundlers never see it. */
function loadUndici(): UndiciModule | undefined {
  const mod = builtin("node:module") as typeof import("node:module") | undefined;
  if (!mod) return undefined;
  return mod.createRequire(import.meta.url)("undici") as UndiciModule;
}

/**
 * The undici pool and request path for a URL: one pool per origin (`maxSockets` connections,
 * `timeoutMs` for headers, body and idle sockets), parsed URLs cached by string (a client posts to one
 * relay, a relay to one gateway).
 */
function poolTargets(undici: UndiciModule, options: NodePostOptions): (url: string) => { pool: Pool; path: string } {
  const connections = options.maxSockets ?? 64;
  const timeout = options.timeoutMs ?? 60_000;
  const pools = new Map<string, Pool>();
  const targets = new Map<string, { pool: Pool; path: string }>();
  return (url) => {
    let t = targets.get(url);
    if (!t) {
      const u = new URL(url);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(`expected an http(s) URL, got ${url}`);
      let pool = pools.get(u.origin);
      if (!pool)
        pools.set(
          u.origin,
          (pool = new undici.Pool(u.origin, {
            connections,
            headersTimeout: timeout,
            bodyTimeout: timeout,
            keepAliveTimeout: timeout,
          })),
        );
      t = { pool, path: u.pathname + u.search };
      if (targets.size < 64) targets.set(url, t);
    }
    return t;
  };
}

/** A `Post` over undici connection pools (one per origin), or undefined outside Node. */
export function createNodePost(options: NodePostOptions = {}): Post | undefined {
  const undici = loadUndici();
  if (!undici) return undefined;
  const targetOf = poolTargets(undici, options);

  return (url, headers, body, signal) =>
    new Promise<PostResponse>((resolve, reject) => {
      const { pool, path } = targetOf(url);
      if (signal?.aborted) return reject(signal.reason);
      let status = 502;
      let contentType: string | null = null;
      const chunks: Buffer[] = [];
      let length = 0;
      let onAbort: (() => void) | undefined;
      const done = () => signal && onAbort && signal.removeEventListener("abort", onAbort);
      const handler: Dispatcher.DispatchHandler = {
        onConnect(abort) {
          if (!signal) return;
          // Aborted while the request waited for a connection: the event has already fired.
          if (signal.aborted) return abort(signal.reason);
          signal.addEventListener("abort", (onAbort = () => abort(signal.reason)), { once: true });
        },
        onHeaders(statusCode, rawHeaders) {
          status = statusCode;
          for (let i = 0; i < rawHeaders.length; i += 2) {
            if (rawHeaders[i]!.length === 12 && rawHeaders[i]!.toString("latin1").toLowerCase() === "content-type")
              contentType = rawHeaders[i + 1]!.toString("latin1");
          }
          return true;
        },
        onData(chunk) {
          chunks.push(chunk);
          length += chunk.length;
          return true;
        },
        onComplete() {
          done();
          const b = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
          // A plain Uint8Array view (no copy), as fetch gives: callers compare and keep these bytes.
          resolve({ status, contentType, body: new Uint8Array(b.buffer, b.byteOffset, b.length) });
        },
        onError(err) {
          done();
          // undici wraps a refused connection the way node:net reports it (err.code ECONNREFUSED).
          reject(err);
        },
      };
      pool.dispatch(
        { method: "POST", path, headers: { ...headers, "content-length": String(body.length) }, body },
        handler,
      );
    });
}

/** A `Post` over a fetch implementation (browsers, or a fetch the caller supplies). */
export function createFetchPost(fetchImpl: typeof fetch): Post {
  return async (url, headers, body, signal) => {
    const res = await fetchImpl(url, {
      method: "POST",
      headers,
      body: body as Uint8Array<ArrayBuffer>,
      ...(signal ? { signal } : {}),
    });
    return {
      status: res.status,
      contentType: res.headers.get("content-type"),
      body: new Uint8Array(await res.arrayBuffer()),
    };
  };
}

/** An answer whose body is read as it arrives (chunked OHTTP). */
export interface StreamResponse {
  status: number;
  contentType: string | null;
  /** The body's bytes as they come; pulled, so a slow reader slows the sender (back-pressure). */
  body: AsyncIterable<Uint8Array>;
  /** Stops reading and closes the connection's request (the other side sees a disconnect). */
  cancel(): void;
}

export type StreamPost = (
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  signal?: AbortSignal,
) => Promise<StreamResponse>;

/** Bytes a streamed answer may queue unread before its connection is paused (back-pressure). */
const STREAM_HIGH_WATER = 64 * 1024;

/**
 * A `StreamPost` over undici connection pools (one per origin), or undefined outside Node.
 * Built on the dispatcher's handler callbacks with a small queue, not `pool.request`: its Node
 * Readable (and an async iterator over it) cost each piece of a stream several event-loop hops
 * and allocations, and on the OHTTP path every piece crosses two of these (client and relay).
 * The connection is paused while more than 64 KiB wait unread, so a slow reader slows the sender.
 */
export function createNodeStreamPost(options: NodePostOptions = {}): StreamPost | undefined {
  const undici = loadUndici();
  if (!undici) return undefined;
  const targetOf = poolTargets(undici, options);

  return (url, headers, body, signal) =>
    new Promise<StreamResponse>((resolve, reject) => {
      const { pool, path } = targetOf(url);
      if (signal?.aborted) return reject(signal.reason);
      const queue: Uint8Array[] = [];
      let queued = 0;
      let ended = false;
      let failure: unknown;
      let started = false;
      let wake: (() => void) | undefined;
      let ctrl: Dispatcher.DispatchController | undefined;
      let onAbort: (() => void) | undefined;
      const unlisten = () => signal && onAbort && signal.removeEventListener("abort", onAbort);
      const notify = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const cancel = () => {
        if (ended || failure) return;
        failure = new Error("stream cancelled");
        ctrl?.abort(failure as Error);
        notify();
      };
      async function* pieces(): AsyncGenerator<Uint8Array> {
        try {
          for (;;) {
            const b = queue.shift();
            if (b) {
              queued -= b.length;
              if (ctrl?.paused && queued <= STREAM_HIGH_WATER) ctrl.resume();
              yield b;
            } else if (failure) throw failure;
            else if (ended) return;
            else await new Promise<void>((r) => (wake = r));
          }
        } finally {
          cancel(); // the reader left early: close the request (the other side sees a disconnect)
        }
      }
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          ctrl = controller;
          if (!signal) return;
          // Aborted while the request waited for a connection: the event has already fired.
          if (signal.aborted) return controller.abort(signal.reason);
          signal.addEventListener("abort", (onAbort = () => controller.abort(signal.reason)), { once: true });
        },
        onResponseStart(_controller, statusCode, resHeaders) {
          started = true;
          const ct = resHeaders["content-type"];
          resolve({
            status: statusCode,
            contentType: (Array.isArray(ct) ? ct[0] : ct) ?? null,
            body: pieces(),
            cancel,
          });
        },
        onResponseData(controller, chunk) {
          queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          queued += chunk.length;
          if (queued > STREAM_HIGH_WATER) controller.pause();
          notify();
        },
        onResponseEnd() {
          unlisten();
          ended = true;
          notify();
        },
        onResponseError(_controller, err) {
          unlisten();
          if (!started) return reject(err);
          failure ??= err;
          notify();
        },
      };
      pool.dispatch(
        { method: "POST", path, headers: { ...headers, "content-length": String(body.length) }, body },
        handler,
      );
    });
}

/** A `StreamPost` over a fetch implementation (browsers): the body's ReadableStream, read as it comes. */
export function createFetchStreamPost(fetchImpl: typeof fetch): StreamPost {
  return async (url, headers, body, signal) => {
    const res = await fetchImpl(url, {
      method: "POST",
      headers,
      body: body as Uint8Array<ArrayBuffer>,
      ...(signal ? { signal } : {}),
    });
    const reader = res.body?.getReader();
    return {
      status: res.status,
      contentType: res.headers.get("content-type"),
      body: (async function* () {
        if (!reader) return;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      })(),
      cancel: () => void reader?.cancel().catch(() => {}),
    };
  };
}
