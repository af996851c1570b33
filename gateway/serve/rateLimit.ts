/**
 * Bounds for the gateway's public, unauthenticated endpoints (DA receipts and batches, metrics,
 * health, OHTTP keys, by-request lookups): a token bucket per client address and one for everyone
 * together, a cap on requests in flight, and a URL length limit. A refused request costs a few
 * microseconds and gets a 429 (or 414) with `Retry-After`, so hostile traffic cannot take the
 * event loop away from the fast path. The fast path itself (`/ohttp`, `/v1/chat/completions`) is
 * not limited here.
 */
import type { Context, MiddlewareHandler } from "hono";

export interface PublicLimits {
  /** Requests per second per client address (sustained) and its burst. Default 50/s, burst 100. */
  perClient?: { rate: number; burst: number };
  /** Requests per second for all clients together and its burst. Default 1,000/s, burst 500. */
  global?: { rate: number; burst: number };
  /** Requests being answered at once (waiting on a worker, writing a large body). Default 32. */
  maxInFlight?: number;
  /** Longest request URL (path + query) accepted, in characters. Default 512. */
  maxUrlLength?: number;
  /** Client addresses tracked at once (least recently seen go first). Default 10,000. */
  maxClients?: number;
  /**
   * A refused request is answered after this long (Retry-After asks for ≥ 1 s anyway), so a client
   * hammering in a loop waits instead of costing the event loop another refusal at once. At most
   * `maxHeld` are held; beyond, the 429 goes at once and the connection is closed. Default 1,000 ms.
   */
  holdRefusedMs?: number;
  /** Refused requests held at once. Default 1,024. */
  maxHeld?: number;
}

class Bucket {
  tokens: number;
  at: number;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }
  /** Takes `n` tokens (at most a burst); 0 when granted, else the seconds until they are available. */
  take(now: number, n = 1): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    const want = Math.min(n, this.burst);
    if (this.tokens >= want) {
      this.tokens -= want;
      return 0;
    }
    return (want - this.tokens) / this.rate;
  }
}

/** A token bucket for everyone together: units of work per second and a burst. */
export class Budget {
  private readonly bucket: Bucket;
  refused = 0;
  constructor(readonly limits: { rate: number; burst: number }) {
    if (!(limits.rate > 0) || !(limits.burst >= 1))
      throw new RangeError(`${new.target.name}: rate must be > 0 and burst ≥ 1`);
    this.bucket = new Bucket(limits.rate, limits.burst, performance.now());
  }
  /** 0 when `n` units may be spent now (they are taken), else the seconds to wait (nothing is taken then). */
  take(n = 1): number {
    const w = this.bucket.take(performance.now(), n);
    if (w > 0) this.refused++;
    return w;
  }
}

/**
 * Receipt signatures strangers may have made, for everyone together and per address: without the
 * per-address share, one address spends the whole global budget and everyone else's receipts wait.
 * The address's own bucket is asked first, so refusing one address never spends the others' budget.
 */
export class SignatureBudget {
  private readonly global: Budget;
  private readonly clients = new Map<string, Budget>();
  readonly perClient: { rate: number; burst: number };
  refused = 0;
  constructor(
    limits: { rate: number; burst: number; perClient?: { rate: number; burst: number } },
    private readonly maxClients = 10_000,
  ) {
    this.global = new Budget(limits);
    this.perClient = limits.perClient ?? {
      rate: limits.rate / 4,
      burst: Math.max(1, Math.floor(limits.burst / 4)),
    };
    new Budget(this.perClient); // validates
  }
  /** 0 when `client` may have one signature made now (it is counted), else the seconds to wait. */
  take(client = "unknown"): number {
    let b = this.clients.get(client);
    if (b)
      this.clients.delete(client); // re-insert: least recently seen first
    else {
      if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!);
      b = new Budget(this.perClient);
    }
    this.clients.set(client, b);
    const w = b.take() || this.global.take();
    if (w > 0) this.refused++;
    return w;
  }
}

/**
 * Bytes per second for the large public answers (whole batches), for everyone together: request
 * counts alone let a few clients make the gateway write hundreds of MB/s to sockets, CPU the fast
 * path needs. An answer larger than the burst waits for a full bucket, so every batch can be served.
 */
export class ByteBudget extends Budget {}

export class PublicLimiter {
  private readonly perClient: { rate: number; burst: number };
  private readonly global: Bucket;
  private readonly clients = new Map<string, Bucket>();
  readonly maxInFlight: number;
  readonly maxUrlLength: number;
  private readonly maxClients: number;
  private readonly holdMs: number;
  private readonly maxHeld: number;
  inFlight = 0;
  held = 0;
  /** Refusals so far, by reason (for metrics and tests). */
  readonly refused = { client: 0, global: 0, inFlight: 0, url: 0 };

  constructor(o: PublicLimits = {}) {
    this.perClient = o.perClient ?? { rate: 50, burst: 100 };
    const g = o.global ?? { rate: 1_000, burst: 500 };
    for (const [name, b] of [
      ["perClient", this.perClient],
      ["global", g],
    ] as const) {
      if (!(b.rate > 0) || !(b.burst >= 1))
        throw new RangeError(`PublicLimits.${name}: rate must be > 0 and burst ≥ 1`);
    }
    this.global = new Bucket(g.rate, g.burst, performance.now());
    this.maxInFlight = o.maxInFlight ?? 32;
    this.maxUrlLength = o.maxUrlLength ?? 512;
    this.maxClients = o.maxClients ?? 10_000;
    this.holdMs = o.holdRefusedMs ?? 1_000;
    this.maxHeld = o.maxHeld ?? 1_024;
  }

  /** 0 when `client` may go ahead now, else the seconds to wait. */
  admit(client: string): { wait: number; reason?: "client" | "global" | "inFlight" } {
    if (this.inFlight >= this.maxInFlight) {
      this.refused.inFlight++;
      return { wait: 1, reason: "inFlight" };
    }
    const now = performance.now();
    let b = this.clients.get(client);
    if (b) {
      this.clients.delete(client); // re-insert: the map's order is least recently seen first
    } else {
      if (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!);
      b = new Bucket(this.perClient.rate, this.perClient.burst, now);
    }
    this.clients.set(client, b);
    const w = b.take(now);
    if (w > 0) {
      this.refused.client++;
      return { wait: w, reason: "client" };
    }
    const g = this.global.take(now);
    if (g > 0) {
      this.refused.global++;
      return { wait: g, reason: "global" };
    }
    return { wait: 0 };
  }

  /** Hono middleware applying these limits to every route after it. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const url = c.req.url;
      if (url.length - url.indexOf("/", url.indexOf("//") + 2) > this.maxUrlLength) {
        this.refused.url++;
        return c.json(
          { error: "uri_too_long", message: `request URL longer than ${this.maxUrlLength} characters` },
          414,
        );
      }
      const { wait, reason } = this.admit(clientAddress(c));
      if (wait > 0) {
        const s = Math.max(1, Math.ceil(wait));
        const why =
          reason === "client"
            ? "too many requests from this address"
            : reason === "global"
              ? "the gateway is answering too many requests"
              : "too many requests in flight";
        const headers: Record<string, string> = { "retry-after": String(s), "cache-control": "no-store" };
        if (this.holdMs > 0 && this.held < this.maxHeld) {
          this.held++;
          await new Promise((r) => setTimeout(r, this.holdMs)); // Retry-After is ≥ 1 s anyway
          this.held--;
        } else headers.connection = "close";
        return c.json({ error: "rate_limited", message: `${why}; retry after ${s} s` }, 429, headers);
      }
      this.inFlight++;
      try {
        await next();
      } finally {
        this.inFlight--;
      }
    };
  }
}

/** The TCP peer's address (the relay's, behind one: set limits for that). */
export function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "unknown";
}

export interface SendPace {
  /** Bytes per second written for everyone together. */
  bytesPerSec: number;
  /** Bytes that may go at once after a quiet spell. Default 256 KiB. */
  burstBytes?: number;
  /** Bytes per write: each is one short syscall, so the scheduler can run the fast path in between. Default 64 KiB. */
  chunkBytes?: number;
}

/**
 * Paces the large public answers (whole batches) onto the sockets, for everyone together: an answer
 * is written in chunks, each once a shared rate allows it (GCRA: every chunk reserves its slot, so
 * waiting answers take turns without polling). A ByteBudget refuses what is over the rate; this
 * smooths what it admits, so the DA thread never writes megabytes in one go and its CPU share stays
 * near bytesPerSec × the cost of a byte, whatever the number of clients.
 */
export class SendPacer {
  readonly bytesPerSec: number;
  readonly chunkBytes: number;
  private readonly burstMs: number;
  /** When the bytes reserved so far are all due (performance.now() ms). */
  private due = 0;
  /** Bytes handed to the sockets so far (for metrics and tests). */
  sent = 0;

  constructor(o: SendPace) {
    const burst = o.burstBytes ?? 256 * 1024;
    this.chunkBytes = o.chunkBytes ?? 64 * 1024;
    if (!(o.bytesPerSec > 0) || !(burst >= 1) || !(this.chunkBytes >= 1))
      throw new RangeError("SendPace: bytesPerSec must be > 0, burstBytes and chunkBytes ≥ 1");
    this.bytesPerSec = o.bytesPerSec;
    this.burstMs = (burst / o.bytesPerSec) * 1000;
  }

  /** Reserves `n` bytes; the milliseconds to wait before writing them (≤ 0: now). */
  reserve(n: number): number {
    const now = performance.now();
    this.due = Math.max(this.due, now);
    const wait = this.due - this.burstMs - now;
    this.due += (n / this.bytesPerSec) * 1000;
    return wait;
  }

  /** `body` as a stream of views into it (never copied), each chunk released at the shared pace. */
  stream(body: Uint8Array): ReadableStream<Uint8Array> {
    let off = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (ctl) => {
          const chunk = body.subarray(off, off + this.chunkBytes);
          off += chunk.length;
          const wait = this.reserve(chunk.length);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          this.sent += chunk.length;
          ctl.enqueue(chunk);
          if (off >= body.length) ctl.close();
        },
      },
      { highWaterMark: 0 },
    );
  }
}
