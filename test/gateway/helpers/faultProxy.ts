/**
 * A JSON-RPC proxy in front of anvil that injects faults: connection drops (before forwarding, and
 * after forwarding — the node acted but the answer is lost), delays, HTTP 5xx / 429 and JSON-RPC
 * internal errors, and for eth_sendRawTransaction fake "nonce too low" and "replacement transaction
 * underpriced" answers. Every injected fault is counted by kind.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { freePort } from "../../../tools/devchain.js";

export type FaultKind =
  | "drop"
  | "lostResponse"
  | "delay"
  | "http500"
  | "http429"
  | "rpcError"
  | "nonceTooLow"
  | "underpriced";

export interface FaultProxy {
  url: string;
  counts: Record<FaultKind, number>;
  total(): number;
  /** Probability that a request gets a fault (0 = transparent). */
  rate: number;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    req.on("data", (d) => (s += d));
    req.on("end", () => resolve(s));
    req.on("error", reject);
  });
}

export async function startFaultProxy(target: string, rate: number, seed = 1): Promise<FaultProxy> {
  const port = await freePort();
  let x = seed >>> 0 || 1;
  const rand = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 2 ** 32);
  const counts: Record<FaultKind, number> = {
    drop: 0,
    lostResponse: 0,
    delay: 0,
    http500: 0,
    http429: 0,
    rpcError: 0,
    nonceTooLow: 0,
    underpriced: 0,
  };
  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${port}`,
    counts,
    rate,
    total: () => Object.values(counts).reduce((a, b) => a + b, 0),
    close: () => new Promise((r) => server.close(() => r())),
  };
  const forward = async (text: string) => {
    const res = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: text });
    return { status: res.status, text: await res.text() };
  };
  const server: Server = createServer(async (req, res) => {
    const text = await body(req);
    let msg: { id?: unknown; method?: string } = {};
    try {
      msg = JSON.parse(text);
    } catch {}
    const isSend = msg.method === "eth_sendRawTransaction";
    const rpcErr = (code: number, message: string) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: msg.id ?? null, error: { code, message } }));
    };
    try {
      if (rand() < proxy.rate) {
        const r = rand();
        const kind: FaultKind = isSend
          ? (["nonceTooLow", "underpriced", "lostResponse", "drop", "rpcError"] as const)[Math.floor(r * 5)]!
          : (["drop", "lostResponse", "delay", "delay", "http500", "http429", "rpcError"] as const)[Math.floor(r * 7)]!;
        counts[kind]++;
        switch (kind) {
          case "drop":
            return req.socket.destroy();
          case "lostResponse":
            await forward(text);
            return req.socket.destroy();
          case "delay":
            await new Promise((d) => setTimeout(d, 100 + rand() * 900));
            break;
          case "http500":
            res.writeHead(500);
            return res.end("internal server error");
          case "http429":
            res.writeHead(429);
            return res.end("rate limited");
          case "rpcError":
            return rpcErr(-32603, "internal error (injected)");
          case "nonceTooLow":
            return rpcErr(-32000, "nonce too low");
          case "underpriced":
            return rpcErr(-32000, "replacement transaction underpriced");
        }
      }
      const out = await forward(text);
      res.writeHead(out.status, { "content-type": "application/json" });
      res.end(out.text);
    } catch {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return proxy;
}
