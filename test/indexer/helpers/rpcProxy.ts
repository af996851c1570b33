/**
 * A JSON-RPC endpoint in front of a real node that a test can make hang: while `hang` is on, every
 * request is accepted and never answered (a stalled provider, the worst kind: no error to fail
 * over on, only a timeout). It can also answer slowly. Test-only; forwards bodies as they are.
 */
import http from "node:http";
import { freePort } from "../../../tools/devchain.js";

export interface RpcProxy {
  url: string;
  /** Requests answered from the node. */
  forwarded: number;
  /** Requests accepted while hanging (never answered). */
  hung: number;
  setHang(on: boolean): void;
  close(): Promise<void>;
}

/** `delayMs`: added to every answer, to make this endpoint the slower of two (RPC clients prefer the faster). */
export async function startRpcProxy(upstream: string, opts: { delayMs?: number } = {}): Promise<RpcProxy> {
  let hang = false;
  const held = new Set<http.ServerResponse>();
  const proxy: RpcProxy = {
    url: "",
    forwarded: 0,
    hung: 0,
    setHang(on) {
      hang = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (hang) {
      proxy.hung++;
      held.add(res);
      res.once("close", () => held.delete(res));
      return;
    }
    try {
      const up = await fetch(upstream, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: Buffer.concat(chunks),
      });
      const body = Buffer.from(await up.arrayBuffer());
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      proxy.forwarded++;
      res.writeHead(up.status, { "content-type": "application/json" }).end(body);
    } catch {
      res.destroy();
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${port}`;
  return proxy;
}
