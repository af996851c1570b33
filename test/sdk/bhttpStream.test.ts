import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BhttpDecodeError,
  decodeResponse,
  encodeContentChunk,
  encodeResponse,
  encodeResponseEnd,
  encodeResponseHead,
} from "../../sdk/ohttp/bhttp.js";
import { BhttpResponseStreamDecoder, type BhttpStreamEvent } from "../../sdk/ohttp/bhttpStream.js";

const utf8 = (s: string) => new TextEncoder().encode(s);
const join = (parts: readonly Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

function feed(bytes: Uint8Array, cut: number): BhttpStreamEvent[] {
  const d = new BhttpResponseStreamDecoder();
  const events: BhttpStreamEvent[] = [];
  for (let i = 0; i < bytes.length; i += cut) events.push(...d.push(bytes.subarray(i, i + cut)));
  events.push(...d.end());
  return events;
}

describe("bhttp: indeterminate-length responses, streamed", () => {
  const head = encodeResponseHead({ status: 200, headers: [["content-type", "text/event-stream"]] });
  const chunks = ["data: a\n\n", "data: bc\n\n", "data: [DONE]\n\n"].map(utf8);
  const wire = join([head, ...chunks.map(encodeContentChunk), encodeResponseEnd([["x-usage", "3"]])]);

  it("test_decodeResponse_wholeIndeterminateLength_sameAsKnownLengthEncoding", () => {
    const r = decodeResponse(wire);
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers, [["content-type", "text/event-stream"]]);
    assert.equal(new TextDecoder().decode(r.content), "data: a\n\ndata: bc\n\ndata: [DONE]\n\n");
    assert.deepEqual(r.trailers, [["x-usage", "3"]]);
    assert.deepEqual(decodeResponse(encodeResponse(r)), r);
  });

  it("test_responseStreamDecoder_anySplit_yieldsHeadThenEachChunkAsSoonAsComplete", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: wire.length }), (cut) => {
        const events = feed(wire, cut);
        assert.deepEqual(
          events.map((e) => e.type),
          ["head", "content", "content", "content", "trailers"],
        );
        assert.deepEqual(
          events.filter((e) => e.type === "content").map((e) => (e as { data: Uint8Array }).data),
          chunks,
        );
      }),
    );
    const d = new BhttpResponseStreamDecoder();
    assert.deepEqual(
      d.push(join([head, encodeContentChunk(chunks[0]!)])).map((e) => e.type),
      ["head", "content"],
    );
  });

  it("test_responseStreamDecoder_knownLengthResponse_yieldsItWholeAtEnd", () => {
    const events = feed(encodeResponse({ status: 404, content: utf8("no") }), 3);
    assert.deepEqual(
      events.map((e) => e.type),
      ["head", "content"],
    );
  });

  it("test_responseStreamDecoder_cutInsideChunkOrHugeDeclaredChunk_bhttpDecodeError", () => {
    assert.throws(() => feed(wire.subarray(0, head.length + 4), 5), BhttpDecodeError);
    const d = new BhttpResponseStreamDecoder({ maxChunkBytes: 100 });
    assert.throws(() => d.push(join([head, Uint8Array.of(0x80, 0x10, 0, 0)])), BhttpDecodeError);
  });

  it("test_responseStreamDecoder_arbitraryBytes_decodesOrBhttpDecodeErrorOnly", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 1, max: 16 }), (b, cut) => {
        try {
          feed(join([Uint8Array.of(3), b]), cut);
        } catch (e) {
          if (!(e instanceof BhttpDecodeError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
