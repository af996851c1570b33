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
  feeCapRefusals: Counter;
  submitLatency: Histogram;
  merkleMs: Histogram;
}

export function createMetrics(sources: {
  recorded: () => number;
  queueDepth: () => number;
  unconfirmed: () => number;
  /** Batches held by a fee cap. */
  feeCapHeld: () => number;
  /** Chain state read every `rateRefreshMs` (undefined until the first read answered). */
  chainState: () => { relayerGasWei: bigint; depositWei: bigint; activeUntil: number } | undefined;
}): HookMetrics {
  const registry = new Registry();
  const c = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  new Gauge({
    name: "proofpath_gateway_recorded_total",
    help: "Receipts recorded (callSeqs handed out) by this process",
    registers: [registry],
    collect() {
      this.set(sources.recorded());
    },
  });
  new Gauge({
    name: "proofpath_gateway_queue_depth",
    help: "Receipts recorded but not yet sealed into a batch",
    registers: [registry],
    collect() {
      this.set(sources.queueDepth());
    },
  });
  new Gauge({
    name: "proofpath_gateway_unconfirmed_batches",
    help: "Sealed batches not yet confirmed on-chain",
    registers: [registry],
    collect() {
      this.set(sources.unconfirmed());
    },
  });
  new Gauge({
    name: "proofpath_gateway_fee_cap_held_batches",
    help: "Batches sealed but not signed: their fee is above maxFeePerCall/maxFeePerBatch",
    registers: [registry],
    collect() {
      this.set(sources.feeCapHeld());
    },
  });
  // Balances in wei as floats: exact to 2^53 wei, plenty for alerting.
  new Gauge({
    name: "proofpath_gateway_relayer_gas_balance_wei",
    help: "Native (gas) balance of the relayer account that sends submitBatch",
    registers: [registry],
    collect() {
      const s = sources.chainState();
      if (s) this.set(Number(s.relayerGasWei));
    },
  });
  new Gauge({
    name: "proofpath_gateway_opg_deposit_wei",
    help: "The gateway's OPG fee deposit in ProofSettlement (balanceOf(gateway))",
    registers: [registry],
    collect() {
      const s = sources.chainState();
      if (s) this.set(Number(s.depositWei));
    },
  });
  new Gauge({
    name: "proofpath_gateway_active_until_seconds",
    help: "Seconds until the enclave key's activeUntil in GatewayRegistry (negative: expired)",
    registers: [registry],
    collect() {
      const s = sources.chainState();
      if (s) this.set(s.activeUntil - Date.now() / 1000);
    },
  });
  return {
    registry,
    durable: c("proofpath_gateway_durable_total", "Receipts made durable by a group commit"),
    sealed: c("proofpath_gateway_batches_sealed_total", "Batches sealed and signed"),
    sealedCalls: c("proofpath_gateway_sealed_leaves_total", "Leaves (served + void) sealed into batches"),
    submitted: c(
      "proofpath_gateway_batches_submitted_total",
      "submitBatch transactions broadcast (incl. replacements)",
    ),
    confirmed: c("proofpath_gateway_batches_confirmed_total", "Batches confirmed at the configured depth"),
    reorged: c("proofpath_gateway_batches_reorged_total", "Batches that left the chain and were resubmitted"),
    rpcErrors: c("proofpath_gateway_rpc_errors_total", "RPC errors seen by the submitter"),
    feeBumps: c("proofpath_gateway_fee_bumps_total", "Stuck transactions replaced with higher fees"),
    feeCapRefusals: c(
      "proofpath_gateway_fee_cap_refusals_total",
      "Headers the hook refused to sign because their fee was above maxFeePerCall/maxFeePerBatch (once per batch and fee)",
    ),
    submitLatency: new Histogram({
      name: "proofpath_gateway_submit_latency_seconds",
      help: "Seal to confirmation of a batch",
      registers: [registry],
      buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320],
    }),
    merkleMs: new Histogram({
      name: "proofpath_gateway_merkle_build_ms",
      help: "Merkle tree build time on the worker",
      registers: [registry],
      buckets: [0.5, 1, 2, 5, 10, 15, 25, 50, 100],
    }),
  };
}
