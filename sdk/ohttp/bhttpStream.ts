/**
 * Reads an indeterminate-length `message/bhttp` response (RFC 9292 §3.2) as its bytes arrive: the
 * head (status and header fields) as soon as it is complete, then each content chunk, then the
 * trailers. This is how a streamed answer reaches the user token by token through chunked OHTTP.
 * A known-length response is accepted too and given whole at `end()`. Memory is bounded: at most
 * one head (`maxHeadBytes`) or one content chunk (`maxChunkBytes`) is held.
 */
import {
  BhttpDecodeError,
  FRAMING_INDETERMINATE_RESPONSE,
  FRAMING_KNOWN_LENGTH_RESPONSE,
  Reader,
  decodeIndeterminateFieldSection,
  decodeResponse,
  type BhttpFields,
  type BhttpInformationalResponse,
} from "./bhttp.js";

export type BhttpStreamEvent =
  | { type: "head"; status: number; headers: BhttpFields; informational: BhttpInformationalResponse[] }
  | { type: "content"; data: Uint8Array }
  | { type: "trailers"; trailers: BhttpFields };

const NEED_MORE = Symbol("need more bytes");

/** A Reader over a growing buffer: running out of bytes means "wait", not "invalid". */
class PartialReader extends Reader {
  override fail(what: string, at = this.off): never {
    if (what.startsWith("truncated")) throw NEED_MORE;
    return super.fail(what, at);
  }
}

export class BhttpResponseStreamDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  /** Offset of `buf[0]` in the whole message, for error positions. */
  private base = 0;
  private state: "framing" | "head" | "known" | "content" | "trailers" | "padding" = "framing";
  private readonly maxHead: number;
  private readonly maxChunk: number;

  constructor(options?: { maxHeadBytes?: number; maxChunkBytes?: number }) {
    this.maxHead = options?.maxHeadBytes ?? 64 * 1024;
    this.maxChunk = options?.maxChunkBytes ?? 1024 * 1024;
  }

  /** Feeds bytes; returns the events they completed. Throws `BhttpDecodeError` for an invalid message. */
  push(bytes: Uint8Array): BhttpStreamEvent[] {
    this.buf = this.buf.length ? concat(this.buf, bytes) : bytes.slice();
    const out: BhttpStreamEvent[] = [];
    for (;;) {
      const r = new PartialReader(this.buf);
      let ev: BhttpStreamEvent | undefined;
      try {
        ev = this.step(r);
      } catch (e) {
        if (e !== NEED_MORE) throw this.shift(e);
        this.checkBound();
        return out;
      }
      this.base += r.off;
      this.buf = this.buf.subarray(r.off);
      if (ev) out.push(ev);
      if (this.state === "known" || (this.state === "padding" && this.buf.length === 0)) return out;
      if (this.buf.length === 0) return out;
    }
  }

  /** The message ended: returns the last events (all of a known-length response). */
  end(): BhttpStreamEvent[] {
    if (this.state === "known") {
      let res: ReturnType<typeof decodeResponse>;
      try {
        res = decodeResponse(this.buf);
      } catch (e) {
        throw this.shift(e);
      }
      const events: BhttpStreamEvent[] = [
        { type: "head", status: res.status, headers: res.headers, informational: [...res.informational] },
      ];
      if (res.content.length) events.push({ type: "content", data: res.content });
      if (res.trailers.length) events.push({ type: "trailers", trailers: res.trailers });
      return events;
    }
    if (this.buf.length && this.state !== "padding")
      throw new BhttpDecodeError(`truncated: the message ends inside its ${this.state}`, this.base);
    // RFC 9292 §3.8: a message may end before its content or trailers (missing parts are empty).
    if (this.state === "framing" || this.state === "head")
      throw new BhttpDecodeError("truncated: the message ends before its status", this.base);
    return [];
  }

  private step(r: PartialReader): BhttpStreamEvent | undefined {
    switch (this.state) {
      case "framing": {
        const fi = r.varint("framing indicator");
        if (fi === FRAMING_KNOWN_LENGTH_RESPONSE) {
          this.state = "known";
          r.off = 0; // decoded whole at the end
          return undefined;
        }
        if (fi !== FRAMING_INDETERMINATE_RESPONSE)
          r.fail(`expected a response (framing indicator 1 or 3), got ${fi}`, 0);
        this.state = "head";
        return undefined;
      }
      case "head": {
        const informational: BhttpInformationalResponse[] = [];
        for (;;) {
          const at = r.off;
          const status = r.varint("status code");
          if (status >= 100 && status <= 199) {
            informational.push({ status, headers: decodeIndeterminateFieldSection(r, "header") });
            continue;
          }
          if (status < 200 || status > 599) r.fail(`status code ${status} is outside 100..599`, at);
          // The header section may be truncated away only at the very end of the message (see `end`).
          const headers = decodeIndeterminateFieldSection(r, "header");
          this.state = "content";
          return { type: "head", status, headers, informational };
        }
      }
      case "content": {
        const len = r.varint("content chunk length or terminator");
        if (len === 0) {
          this.state = "trailers";
          return undefined;
        }
        if (len > this.maxChunk) r.fail(`content chunk of ${len} bytes exceeds the ${this.maxChunk} accepted`, 0);
        return { type: "content", data: r.bytes(len, "content chunk").slice() };
      }
      case "trailers": {
        const trailers = decodeIndeterminateFieldSection(r, "trailer");
        this.state = "padding";
        return trailers.length ? { type: "trailers", trailers } : undefined;
      }
      case "padding": {
        for (let i = 0; i < r.buf.length; i++)
          if (r.buf[i] !== 0) r.fail(`non-zero padding byte 0x${r.buf[i]!.toString(16)} after the message`, i);
        r.off = r.buf.length;
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private checkBound(): void {
    const max =
      this.state === "content"
        ? this.maxChunk + 8
        : this.state === "known"
          ? this.maxHead + this.maxChunk
          : this.maxHead;
    if (this.buf.length > max)
      throw new BhttpDecodeError(`${this.state} section exceeds the ${max} bytes this decoder holds`, this.base);
  }

  private shift(e: unknown): unknown {
    return e instanceof BhttpDecodeError ? new BhttpDecodeError(e.shortMessage, e.offset + this.base) : e;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
