/**
 * The one way the validator GETs what a gateway publishes. A daURI is chosen by an enclave key
 * holder, so its endpoint is treated as hostile: the body is streamed with a byte counter and cut
 * off past its budget (after decompression, so a gzip bomb is just a large body), time to first
 * byte and total time are bounded, redirects are never followed (blind SSRF), only http(s) is
 * spoken, and private / loopback / link-local addresses are refused at connect time (also when a
 * name resolves to one: no DNS-rebinding window) unless `allowPrivate`.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP } from "node:net";
import { pipeline, type Readable } from "node:stream";
import zlib from "node:zlib";
import { Agent, request } from "undici";
import { BaseError } from "../sdk/errors.js";
import { isPrivateAddress } from "./addressPolicy.js";
import {
  DaAddressRefusedError,
  DaEncodingRefusedError,
  DaMalformedError,
  DaRedirectRefusedError,
  DaTimeoutError,
  DaTooLargeError,
  DaUnavailableError,
  DaUriInvalidError,
} from "./errors.js";

export interface BoundedGetOptions {
  /** Let daURIs reach private, loopback and link-local addresses (local chains and tests). */
  allowPrivate: boolean;
  /** Until the response headers have arrived. */
  firstByteTimeoutMs: number;
  /** Until the whole body has arrived. */
  timeoutMs: number;
}

export interface BoundedGet {
  /** GETs `url` and returns its body, at most `maxBytes` (decoded); throws typed Da…Errors. */
  get(url: string, maxBytes: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** The URL of a daURI, or a DaUriInvalidError: only http(s) is ever fetched (no file:, data:, ftp:). */
export function parseDaUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DaUriInvalidError({ reason: `not a URL: ${JSON.stringify(url.slice(0, 200))}` });
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new DaUriInvalidError({ reason: `scheme ${u.protocol} is not http(s)` });
  return u;
}

/** Marks a refused address inside the socket error undici wraps it in. Not retryable. */
class RefusedAddress extends BaseError {
  override name = "RefusedAddress";
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`${host} resolves to the private address ${address}`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that fails when any address of the name is private: checked where the socket connects. */
function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addrs) => {
    if (err) return callback(err, []);
    const bad = addrs.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new RefusedAddress(hostname, bad.address) as unknown as NodeJS.ErrnoException, []);
    if (options.all) return callback(null, addrs);
    callback(null, addrs[0]!.address, addrs[0]!.family);
  });
}

function findCause<T>(e: unknown, cls: new (...a: never[]) => T): T | undefined {
  for (let x = e, i = 0; x && i < 8; x = (x as { cause?: unknown }).cause, i++) if (x instanceof cls) return x;
  return undefined;
}

const DECODERS: Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  "x-gzip": () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

export function createBoundedGet(opts: BoundedGetOptions): BoundedGet {
  const agent = new Agent({
    headersTimeout: opts.firstByteTimeoutMs,
    bodyTimeout: opts.timeoutMs,
    connectTimeout: opts.firstByteTimeoutMs,
    ...(opts.allowPrivate ? {} : { connect: { lookup: guardedLookup } }),
  });

  async function get(url: string, maxBytes: number): Promise<Uint8Array> {
    const u = parseDaUrl(url);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    // A literal IP is connected to without a lookup: check it here.
    if (!opts.allowPrivate && isIP(host) && isPrivateAddress(host)) {
      throw new DaAddressRefusedError({ url, reason: `${host} is a private, loopback or link-local address` });
    }
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, opts.timeoutMs);
    const fail = (e: unknown): never => {
      if (e instanceof DaUnavailableError || e instanceof DaMalformedError || e instanceof DaUriInvalidError) throw e;
      const refused = findCause(e, RefusedAddress);
      if (refused) throw new DaAddressRefusedError({ url, reason: refused.shortMessage });
      const code = (e as { code?: string }).code;
      if (timedOut) throw new DaTimeoutError({ url, reason: `body not complete within ${opts.timeoutMs} ms` });
      if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT") {
        throw new DaTimeoutError({ url, reason: `no answer within ${opts.firstByteTimeoutMs} ms` });
      }
      if (code === "UND_ERR_BODY_TIMEOUT")
        throw new DaTimeoutError({ url, reason: `body stalled for ${opts.timeoutMs} ms` });
      if (code?.startsWith("Z_") || code?.startsWith("ERR__"))
        throw new DaMalformedError({ url, reason: `body does not decode (${(e as Error).message})` });
      throw new DaUnavailableError({ url, reason: `request failed (${(e as Error).message})`, cause: e });
    };
    try {
      let res;
      try {
        res = await request(u, {
          method: "GET",
          dispatcher: agent,
          signal: abort.signal,
          headers: { accept: "application/json", "accept-encoding": "identity" },
        });
      } catch (e) {
        return fail(e);
      }
      const { statusCode, headers, body } = res;
      // Errors reach us through the iterator below; an abort after we stopped reading must not
      // become an uncaught 'error' event that takes the process down.
      body.on("error", () => undefined);
      if (statusCode >= 300 && statusCode < 400) {
        body.destroy();
        throw new DaRedirectRefusedError({
          url,
          reason: `HTTP ${statusCode} redirect to ${String(headers.location ?? "?").slice(0, 200)} not followed`,
        });
      }
      if (statusCode < 200 || statusCode >= 300) {
        body.destroy();
        throw new DaUnavailableError({ url, reason: `HTTP ${statusCode}` });
      }
      const encoding = String(headers["content-encoding"] ?? "identity")
        .trim()
        .toLowerCase();
      const declared = Number(headers["content-length"]);
      if (encoding === "identity" && Number.isFinite(declared) && declared > maxBytes) {
        body.destroy();
        throw new DaTooLargeError({ url, reason: `Content-Length ${declared} exceeds ${maxBytes} bytes` });
      }
      let stream: Readable = body;
      if (encoding !== "identity") {
        const decoder = DECODERS[encoding];
        if (!decoder) {
          body.destroy();
          throw new DaEncodingRefusedError({ url, reason: `Content-Encoding ${encoding.slice(0, 50)} not supported` });
        }
        stream = pipeline(body, decoder(), () => undefined).on("error", () => undefined);
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > maxBytes) {
            stream.destroy();
            body.destroy();
            throw new DaTooLargeError({
              url,
              reason: `body exceeds ${maxBytes} bytes${encoding === "identity" ? "" : ` after ${encoding} decoding`}`,
            });
          }
          chunks.push(chunk);
        }
      } catch (e) {
        body.destroy();
        return fail(e);
      }
      return Buffer.concat(chunks, size);
    } finally {
      clearTimeout(timer);
    }
  }

  return { get, close: () => agent.close() };
}
