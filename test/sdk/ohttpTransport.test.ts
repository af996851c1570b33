/**
 * The OHTTP transport (sdk/ohttp/transport.ts): the undici-dispatcher path the client and relay use under
 * Node must answer exactly as fetch does — same status, media type and bytes, whole bodies however
 * they are chunked — send only the headers it is given, and fail clearly (abort, refused
 * connection, non-http URL). Against a real HTTP server on loopback.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createFetchPost, createNodePost, type Post } from "../../sdk/ohttp/transport.js";

interface Seen {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Echoes the body back reversed, in 1 KiB chunks, with the status and media type the path asks for. */
function startEcho(seen: Seen[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ headers: req.headers, body });
      if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2_000);
      const status = Number(new URL(req.url!, "http://x").searchParams.get("status") ?? 200);
      res.writeHead(status, { "content-type": "message/ohttp-res" });
      const out = Buffer.from(body).reverse();
      for (let off = 0; off < out.length; off += 1024) res.write(out.subarray(off, off + 1024));
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

describe("ohttp transport: the Node path (undici dispatcher) and fetch answer alike", () => {
  const seen: Seen[] = [];
  let server: Server;
  let url: string;
  const nodePost: Post = createNodePost()!;
  const fetchPost: Post = createFetchPost(globalThis.fetch);

  before(async () => ({ server, url } = await startEcho(seen)));
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("test_transport_nodeAndFetch_sameStatusTypeAndBytes_succeeds", async () => {
    for (const size of [0, 1, 1023, 1024, 200_000]) {
      for (const status of [200, 400, 502]) {
        const body = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
        const [a, b] = [
          await nodePost(`${url}/?status=${status}`, { "content-type": "message/ohttp-req" }, body),
          await fetchPost(`${url}/?status=${status}`, { "content-type": "message/ohttp-req" }, body),
        ];
        assert.equal(a.status, status);
        assert.equal(a.contentType, "message/ohttp-res");
        assert.deepEqual(a, b, `size ${size}, status ${status}`);
        assert.deepEqual(a.body, Uint8Array.from(body).reverse());
        assert.equal(Object.getPrototypeOf(a.body), Uint8Array.prototype, "a plain Uint8Array, not a Buffer");
      }
    }
  });

  it("test_transport_node_sendsOnlyGivenHeaders_succeeds", async () => {
    seen.length = 0;
    await nodePost(`${url}/`, { "content-type": "message/ohttp-req", "user-agent": "t/1" }, new Uint8Array(5));
    const names = Object.keys(seen[0]!.headers).sort();
    // host and connection are HTTP/1.1 framing the client always adds; nothing else.
    assert.deepEqual(names, ["connection", "content-length", "content-type", "host", "user-agent"]);
    assert.equal(seen[0]!.headers["content-length"], "5");
  });

  it("test_transport_node_abortSignal_rejects_reverts", async () => {
    const ac = new AbortController();
    const p = nodePost(`${url}/slow`, {}, new Uint8Array(1), ac.signal);
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(p, (e: Error) => e.name === "AbortError");
  });

  it("test_transport_node_abortWhileWaitingForAConnection_rejects_reverts", async () => {
    const oneConnection = createNodePost({ maxSockets: 1 })!;
    const slow = oneConnection(`${url}/slow`, {}, new Uint8Array(1));
    const ac = new AbortController();
    const queued = oneConnection(`${url}/`, {}, new Uint8Array(1), ac.signal);
    ac.abort();
    await assert.rejects(queued, (e: Error) => e.name === "AbortError");
    assert.equal((await slow).status, 200, "the request holding the connection is unaffected");
  });

  it("test_transport_node_refusedConnectionOrBadUrl_rejectsClearly_reverts", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(
      nodePost(`http://127.0.0.1:${port}/`, {}, new Uint8Array(1)),
      (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED",
    );
    await assert.rejects(nodePost("ftp://127.0.0.1/", {}, new Uint8Array(1)), /expected an http\(s\) URL/);
  });
});
