/**
 * Prometheus metrics of one hook (own registry, so several hooks or a host app don't collide).
 * Counters are bumped off the hot path: `recorded` is read from the hook's counter at scrape time.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface HookMetrics {
  registry: Registry;
  durable: Counter;
  sealed: Counter;
  sealedCalls: Counter;
  submitted: Counter;
  confirmed: Counter;
  reorged: Counter;
  rpcErrors: Counter;
  feeBumps: Counter;
  submitLatency: Histogram;
  merkleMs: Histogram;
}

export function createMetrics(sources: { recorded: () => number; queueDepth: () => number; unconfirmed: () => number }): HookMetrics {
  const registry = new Registry();
  const c = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  new Gauge({
    name: "proofpath_gateway_recorded_total", help: "Receipts recorded (callSeqs handed out) by this process", registers: [registry],
    collect() { this.set(sources.recorded()); },
  });
  new Gauge({
    name: "proofpath_gateway_queue_depth", help: "Receipts recorded but not yet sealed into a batch", registers: [registry],
    collect() { this.set(sources.queueDepth()); },
  });
  new Gauge({
    name: "proofpath_gateway_unconfirmed_batches", help: "Sealed batches not yet confirmed on-chain", registers: [registry],
    collect() { this.set(sources.unconfirmed()); },
  });
  return {
    registry,
    durable: c("proofpath_gateway_durable_total", "Receipts made durable by a group commit"),
    sealed: c("proofpath_gateway_batches_sealed_total", "Batches sealed and signed"),
    sealedCalls: c("proofpath_gateway_sealed_leaves_total", "Leaves (served + void) sealed into batches"),
    submitted: c("proofpath_gateway_batches_submitted_total", "submitBatch transactions broadcast (incl. replacements)"),
    confirmed: c("proofpath_gateway_batches_confirmed_total", "Batches confirmed at the configured depth"),
    reorged: c("proofpath_gateway_batches_reorged_total", "Batches that left the chain and were resubmitted"),
    rpcErrors: c("proofpath_gateway_rpc_errors_total", "RPC errors seen by the submitter"),
    feeBumps: c("proofpath_gateway_fee_bumps_total", "Stuck transactions replaced with higher fees"),
    submitLatency: new Histogram({
      name: "proofpath_gateway_submit_latency_seconds", help: "Seal to confirmation of a batch", registers: [registry],
      buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320],
    }),
    merkleMs: new Histogram({
      name: "proofpath_gateway_merkle_build_ms", help: "Merkle tree build time on the worker", registers: [registry],
      buckets: [0.5, 1, 2, 5, 10, 15, 25, 50, 100],
    }),
  };
}
