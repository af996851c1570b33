/**
 * Reads a request's headers and body (up to a size limit) for the gateway's hot paths (OHTTP,
 * relay, direct chat). Under
 * @hono/node-server it reads the Node request directly (`c.env.incoming`): building a WHATWG
 * Headers object and ReadableStream per request costs more than the OHTTP cryptography does.
 * Elsewhere it falls back to the Web request.
 */
import type { Context } from "hono";
import type { IncomingMessage } from "node:http";

const nodeRequest = (c: Context) => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;

/** One request header (`name` in lower case), without materialising a Web Headers object. */
/** The body limit the relay, the enclave and the direct chat endpoint use unless told otherwise (1 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = nodeRequest(c);
  if (!incoming) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/**
 * The body, or undefined when it exceeds `max` bytes: at once when the declared content-length
 * does (nothing is read), else as soon as the bytes read do (reading stops there; chunked bodies).
 */
export async function readBodyLimited(c: Context, max: number): Promise<Uint8Array | undefined> {
  if (Number(requestHeader(c, "content-length") ?? NaN) > max) return undefined;
  const incoming = nodeRequest(c);
  if (incoming && !incoming.readableEnded && incoming.readableLength === 0 && !incoming.readableDidRead)
    return readNode(incoming, max);
  return readWeb(c.req.raw, max);
}

function concat(chunks: Uint8Array[], n: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(n);
  let off = 0;
  for (const ch of chunks) {
    out.set(ch, off);
    off += ch.length;
  }
  return out;
}

function readNode(req: IncomingMessage, max: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let n = 0;
    const onData = (d: Buffer) => {
      n += d.length;
      if (n > max) {
        req.off("data", onData);
        req.resume(); // drain the rest so the connection can answer
        resolve(undefined);
        return;
      }
      chunks.push(d);
    };
    req.on("data", onData);
    req.once("end", () => {
      if (n <= max) resolve(concat(chunks, n));
    });
    req.once("error", reject);
  });
}

async function readWeb(req: Request, max: number): Promise<Uint8Array | undefined> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return concat(chunks, n);
}
