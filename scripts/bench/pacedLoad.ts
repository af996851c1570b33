/**
 * Open-loop load at a fixed rate, the same driver for every latency a benchmark compares: request i
 * is due at start + i/rate and its latency runs from that due time, not from when it was sent, so a
 * stalled server or a late client timer counts against the result (no coordinated omission). The
 * first `warmupSec` of the same steady load (connections opening, JIT) are run but not counted.
 */
import { performance } from "node:perf_hooks";

export interface PacedResult {
  /** Latency of each successful request after the warm-up, in ms, sorted ascending. */
  latenciesMs: number[];
  /** Failed requests, warm-up included. */
  errors: number;
}

/** `onMeasuring` runs when the first counted request is due (e.g. to start a CPU reading). */
export async function pacedLoad(
  rate: number,
  durationSec: number,
  warmupSec: number,
  fire: (i: number) => Promise<void>,
  onMeasuring?: () => void,
): Promise<PacedResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  const inflight = new Set<Promise<void>>();
  const warmup = Math.round(rate * warmupSec);
  const total = warmup + Math.round(rate * durationSec);
  const start = performance.now();
  for (let i = 0; i < total; ) {
    const now = performance.now();
    // Everything already due goes out now; then sleep until the next one is due.
    for (; i < total && start + (i * 1000) / rate <= now; i++) {
      const due = start + (i * 1000) / rate;
      const counted = i >= warmup;
      if (i === warmup) onMeasuring?.();
      const request = fire(i).then(
        () => void (counted && latenciesMs.push(performance.now() - due)),
        () => void errors++,
      );
      inflight.add(request);
      void request.finally(() => inflight.delete(request));
    }
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, start + (i * 1000) / rate - performance.now())));
  }
  await Promise.all(inflight);
  latenciesMs.sort((a, b) => a - b);
  return { latenciesMs, errors };
}
