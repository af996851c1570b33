import type { OhttpClient } from "../../sdk/ohttp/index.js";

/**
 * The demo's load generator: sends OpenAI-style chat calls to the gateway at a steady rate with
 * bounded concurrency and counts what was answered. Prompts are varied but deterministic.
 */
export interface LoadOptions {
  url: string;
  calls: number;
  /** Calls started per second. */
  rate: number;
  concurrency?: number;
  /** Sends one call; the default posts a chat completion to `url`. */
  send?: (i: number, body: string) => Promise<void>;
}

export interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
}

const TOPICS = [
  "zero-knowledge proofs",
  "TEE attestation",
  "Merkle trees",
  "gas costs",
  "OHTTP relays",
  "validator quorums",
  "fee markets",
  "token burns",
];

export function chatBody(i: number): string {
  return JSON.stringify({
    model: i % 5 === 0 ? "proofpath-local-large" : "proofpath-local-small",
    messages: [{ role: "user", content: `Call ${i}: explain ${TOPICS[i % TOPICS.length]} in one paragraph.` }],
  });
}

export function createLoadGenerator(o: LoadOptions) {
  let stopped = false;
  const concurrency = o.concurrency ?? 32;
  const send =
    o.send ??
    (async (_i: number, body: string) => {
      const res = await fetch(o.url, { method: "POST", headers: { "content-type": "application/json" }, body });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      await res.arrayBuffer();
    });
  return {
    async run(onProgress: (done: number, failed: number) => void): Promise<LoadResult> {
      const result: LoadResult = { ok: 0, failed: 0, errors: [] };
      const interval = 1000 / o.rate;
      const t0 = performance.now();
      let inFlight = 0;
      let next = 0;
      await new Promise<void>((resolve) => {
        const pump = () => {
          if (stopped) {
            if (inFlight === 0) resolve();
            return;
          }
          while (next < o.calls && inFlight < concurrency && performance.now() - t0 >= next * interval) {
            const i = next++;
            inFlight++;
            send(i, chatBody(i))
              .then(() => void result.ok++)
              .catch((e: unknown) => {
                result.failed++;
                if (result.errors.length < 5) result.errors.push(e instanceof Error ? e.message : String(e));
              })
              .finally(() => {
                inFlight--;
                onProgress(result.ok + result.failed, result.failed);
                if (result.ok + result.failed === (stopped ? next : o.calls)) resolve();
                else pump();
              });
          }
          if (next < o.calls && inFlight < concurrency) setTimeout(pump, Math.max(1, interval / 2));
        };
        if (o.calls === 0) resolve();
        else pump();
      });
      return result;
    },
    /** Starts no more calls; `run` resolves once the calls in flight have ended. */
    stop(): void {
      stopped = true;
    },
  };
}

/** A `send` that encrypts each call with the OHTTP client and posts it to the client's relay. */
export function ohttpSender(
  client: Pick<OhttpClient, "request">,
  path = "/v1/chat/completions",
): (i: number, body: string) => Promise<void> {
  return async (_i, body) => {
    const res = await client.request("POST", path, { "content-type": "application/json" }, body);
    if (res.status !== 200) throw new Error(`HTTP ${res.status} inside OHTTP: ${res.text().slice(0, 200)}`);
    // With the client's `receipts` option the user's client waits for the signed receipt and keeps
    // it. A call answered just before its enclave died may never get one: the receipt was not
    // durable yet, so it was never signed (and its callSeq is voided).
    await res.receipt?.catch(() => {});
  };
}
