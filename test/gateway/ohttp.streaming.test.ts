/**
 * Streaming private inference end to end: a chunked OHTTP request through the relay to the
 * enclave, an OpenAI-style `stream: true` answer back as server-sent events, sealed and forwarded
 * chunk by chunk; the receipt's responseHash is over exactly the bytes the client received. Real
 * gateway, relay and client on loopback; the settlement hook is replaced by a recorder of what
 * the gateway would settle (the chain path is ohttp.receipts.test.ts's).
 */
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import pino from "pino";
import type { SettlementHook } from "../../gateway/hook.js";
import { listen } from "../../gateway/index.js";
import { LocalModel } from "../../gateway/demo/backend.js";
import { chatBackend } from "../../gateway/demo/ohttpBackend.js";
import type { CallUsage, OhttpBackend } from "../../gateway/ohttp/backend.js";
import { createOhttpGateway } from "../../gateway/ohttp/enclave.js";
import { createRelayApp } from "../../gateway/ohttp/relay.js";
import { keccak256Hex } from "../../sdk/hashing.js";
import {
  OhttpError,
  createOhttpClient,
  generateKeyPair,
  type OhttpClient,
  type OhttpKeyPair,
} from "../../sdk/ohttp/index.js";

const silent = pino({ level: "silent" });
const utf8 = new TextEncoder();
const dec = new TextDecoder();

/** What the gateway asks the hook to settle. */
function recordingHook() {
  const calls: { requestHash: string; responseHash: string; outputTokens: number }[] = [];
  const hook = {
    record(call: { requestHash: string; responseHash: string; outputTokens: number }) {
      calls.push(call);
      return { callSeq: BigInt(calls.length) };
    },
  } as unknown as SettlementHook;
  return { hook, calls };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const chat = (over: object = {}) =>
  JSON.stringify({ model: "m", messages: [{ role: "user", content: "stream me" }], stream: true, ...over });

/** The SSE `data:` payloads of a stream body. */
function sseData(text: string): string[] {
  return text
    .split("\n\n")
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ""));
}

describe("ohttp streaming: chunked OHTTP through the relay", function () {
  this.timeout(60_000);
  const closers: (() => Promise<void>)[] = [];
  let keys: OhttpKeyPair;

  before(() => {
    keys = generateKeyPair({
      keyId: 3,
      symmetric: [
        { kdfId: 1, aeadId: 3 },
        { kdfId: 1, aeadId: 1 },
      ],
    });
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function stack(
    backend: OhttpBackend,
    hook?: SettlementHook,
  ): Promise<{ client: OhttpClient; relayUrl: string }> {
    const ohttp = await createOhttpGateway({ keys, backend, logger: silent, ...(hook ? { hook } : {}) });
    const gw = await listen(ohttp.app, 0);
    closers.push(() => gw.close());
    const relay = await listen(createRelayApp({ gatewayUrl: `http://127.0.0.1:${gw.port}`, logger: silent }), 0);
    closers.push(() => relay.close());
    const relayUrl = `http://127.0.0.1:${relay.port}/`;
    return { client: createOhttpClient({ keyConfig: keys.encodedConfig, relayUrl }), relayUrl };
  }

  it("test_ohttpStream_streamTrueChaCha20Poly1305_sseTokenByTokenBeforeModelFinishesAndReceiptMatches", async () => {
    const { hook, calls } = recordingHook();
    const { client } = await stack(chatBackend(new LocalModel("proofpath-local-1", 40)), hook);
    const t0 = performance.now();
    const res = await client.stream("POST", "/v1/chat/completions", { "content-type": "application/json" }, chat());
    assert.equal(res.status, 200);
    assert.equal(res.headers.find(([n]) => n === "content-type")?.[1], "text/event-stream");
    const arrivals: number[] = [];
    let text = "";
    for await (const piece of res.body) {
      arrivals.push(performance.now() - t0);
      text += dec.decode(piece);
    }
    const events = sseData(text);
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const streamed = chunks.map((c) => c.choices[0].delta.content ?? "").join("");
    // The same words the whole (non-streamed) answer gives.
    const whole = await client.request(
      "POST",
      "/v1/chat/completions",
      { "content-type": "application/json" },
      chat({ stream: false }),
    );
    assert.equal(streamed, whole.json<{ choices: { message: { content: string } }[] }>().choices[0]!.message.content);
    assert.ok(chunks.length >= 9, `one event per token, got ${chunks.length}`);
    // Tokens 40 ms apart arrive spread out, not in one burst at the end.
    assert.ok(arrivals.at(-1)! - arrivals[0]! > 40 * (chunks.length - 3), `arrivals ${arrivals.map(Math.round)}`);
    assert.equal(chunks.at(-1).usage.completion_tokens, chunks.length - 1);

    // The receipt: the response hash the gateway settles is the one the client computed over what it read.
    const done = await res.done;
    await until(() => calls.length === 2, "both calls recorded");
    const streamedCall = calls.find((c) => c.requestHash === res.requestHash)!;
    assert.equal(res.requestHash, keccak256Hex(res.encapsulatedRequest));
    assert.equal(streamedCall.responseHash, done.responseHash);
    assert.equal(streamedCall.outputTokens, chunks.length - 1);
  });

  it("test_ohttpStream_clientClockOff_refusedThenRetriesOnceWithGatewayDate_succeeds", async () => {
    const { relayUrl } = await stack(chatBackend(new LocalModel()));
    const skewed = createOhttpClient({ keyConfig: keys.encodedConfig, relayUrl, now: () => Date.now() - 120_000 });
    const res = await skewed.stream("POST", "/v1/chat/completions", { "content-type": "application/json" }, chat());
    assert.equal(res.status, 200);
    let text = "";
    for await (const p of res.body) text += dec.decode(p);
    assert.equal(sseData(text).at(-1), "[DONE]");
  });

  it("test_relay_streamedResponse_fixedHeadersAndOneLogLineWithoutClientIdentity", async () => {
    let seen: IncomingHttpHeaders | undefined;
    const fake = createServer((req, res) => {
      seen = req.headers;
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "message/ohttp-chunked-res", "set-cookie": "x=1", server: "gw" });
        res.write("abc");
        setTimeout(() => res.end("def"), 20);
      });
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => fake.close(() => r())));
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (l: string) => lines.push(l) });
    const port = (fake.address() as { port: number }).port;
    const relay = await listen(createRelayApp({ gatewayUrl: `http://127.0.0.1:${port}`, logger }), 0);
    closers.push(() => relay.close());
    const r = await fetch(`http://127.0.0.1:${relay.port}/`, {
      method: "POST",
      headers: {
        "content-type": "message/ohttp-chunked-req",
        cookie: "who=me",
        "x-forwarded-for": "10.0.0.1",
        "user-agent": "me",
      },
      body: "hdrchunks",
    });
    assert.equal(await r.text(), "abcdef");
    assert.equal(r.headers.get("set-cookie"), null);
    assert.equal(r.headers.get("server"), null);
    assert.deepEqual(Object.keys(seen!).sort(), [
      "connection",
      "content-length",
      "content-type",
      "host",
      "incremental",
      "user-agent",
    ]);
    assert.equal(seen!["user-agent"], "proofpath-ohttp-relay/1");
    await until(() => lines.length > 0, "the relay's log line");
    const line = JSON.parse(lines[0]!);
    assert.deepEqual([line.msg, line.bytesIn, line.bytesOut, line.status], ["relayed", 9, 6, 200]);
    assert.ok(!lines.join("").includes("10.0.0.1") && !lines.join("").includes("who=me"));
  });

  it("test_ohttpStream_clientDisconnectsMidStream_modelStopsAndNoReceipt", async () => {
    const { hook, calls } = recordingHook();
    let produced = 0;
    let aborted = false;
    const backend: OhttpBackend = {
      async handle(req) {
        req.signal.addEventListener("abort", () => {
          aborted = true;
        });
        return {
          status: 200,
          body: (async function* () {
            for (let i = 0; i < 10_000 && !req.signal.aborted; i++) {
              produced++;
              yield utf8.encode(`data: ${i}\n\n`);
              await new Promise((r) => setTimeout(r, 5));
            }
          })(),
          usage: (): CallUsage => ({ modelId: `0x${"11".repeat(32)}`, inputTokens: 1, outputTokens: produced }),
        };
      },
    };
    const { client } = await stack(backend, hook);
    const res = await client.stream("POST", "/x", {}, "q");
    let read = 0;
    for await (const _ of res.body) if (++read === 3) break; // the user closes the tab
    await assert.rejects(res.done, OhttpError);
    await until(() => aborted, "the gateway to abort the handler");
    const stoppedAt = produced;
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(produced - stoppedAt <= 1, "the handler stopped producing");
    assert.ok(produced < 10_000);
    assert.equal(calls.length, 0, "a stream cut off midway gets no receipt");
  });

  it("test_ohttpStream_handlerFailsMidStream_clientSeesTruncationAndNoReceipt", async () => {
    const { hook, calls } = recordingHook();
    const backend: OhttpBackend = {
      async handle() {
        return {
          status: 200,
          body: (async function* () {
            yield utf8.encode("data: 1\n\n");
            await new Promise((r) => setTimeout(r, 10));
            throw new Error("GPU fell over");
          })(),
          usage: (): CallUsage => ({ modelId: `0x${"11".repeat(32)}`, inputTokens: 1, outputTokens: 1 }),
        };
      },
    };
    const { client } = await stack(backend, hook);
    const res = await client.stream("POST", "/x", {}, "q");
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const p of res.body) got.push(dec.decode(p));
      })(),
    );
    assert.deepEqual(got, ["data: 1\n\n"], "what arrived before the cut was authentic and given");
    await assert.rejects(res.done);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls.length, 0);
  });

  it("test_ohttpStream_slowClient_backPressureThroughRelayBoundsMemory", async () => {
    let produced = 0;
    const piece = new Uint8Array(16_000).fill(0x61);
    const total = 3_000; // 48 MB if it were all buffered
    const backend: OhttpBackend = {
      async handle() {
        return {
          status: 200,
          body: (async function* () {
            for (let i = 0; i < total; i++) {
              produced++;
              yield piece;
            }
          })(),
        };
      },
    };
    const { client } = await stack(backend);
    const res = await client.stream("POST", "/x", {}, "q");
    let consumed = 0;
    let maxAhead = 0;
    for await (const p of res.body) {
      consumed++;
      assert.equal(p.length, piece.length);
      maxAhead = Math.max(maxAhead, produced - consumed);
      if (consumed % 50 === 0) await new Promise((r) => setTimeout(r, 10)); // a slow reader
    }
    assert.equal(consumed, total);
    // Only socket buffers sit between them (loopback TCP autotunes to several MB per socket, two
    // hops here): the lead is bounded by those, far below the 48 MB the whole stream would take.
    assert.ok(maxAhead < 1_000, `the producer ran ${maxAhead} pieces (${(maxAhead * 16) / 1000} MB) ahead`);
    await res.done;
  });
});
