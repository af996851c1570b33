/**
 * Writes a streamed answer straight to the Node response under @hono/node-server (the OHTTP
 * gateway's and the relay's chunked answers): one `write` per piece as it comes, waiting for
 * `drain` when the socket is full (back-pressure reaches the producer), `end` after the last
 * piece. A WHATWG ReadableStream in between (Hono's default) cost every piece a pull, a read and
 * several promise hops, on the path of a stream's first token.
 */
import type { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";

/** What a handler returns once it has taken over the Node response itself. */
export { RESPONSE_ALREADY_SENT };

/**
 * Sends `status` and `headers`, then `pieces` one write each. If the connection closes before the
 * end, `cancelled` is called at once (to stop the producer even while it waits for its next piece)
 * and `pieces` is closed; if `pieces` throws, the response is destroyed (the reader sees a cut, not
 * an end) and `failed` is called.
 */
export async function writeNode(
  out: ServerResponse,
  headers: Record<string, string>,
  pieces: AsyncGenerator<Uint8Array>,
  failed: (e: unknown) => void,
  cancelled: () => void,
  status = 200,
): Promise<void> {
  let gone = false;
  let wake: (() => void) | undefined;
  const resume = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onClose = () => {
    if (out.writableFinished) return;
    gone = true;
    resume();
    cancelled();
  };
  out.once("close", onClose);
  out.on("drain", resume);
  try {
    out.writeHead(status, headers);
    for (;;) {
      const n = await pieces.next();
      if (gone) break;
      if (n.done) {
        out.end();
        return;
      }
      if (!out.write(n.value)) await new Promise<void>((r) => (wake = r));
      if (gone) break;
    }
    await pieces.return(undefined);
  } catch (e) {
    if (!gone) {
      out.destroy(e as Error);
      failed(e);
    }
  } finally {
    out.off("close", onClose);
    out.off("drain", resume);
  }
}
