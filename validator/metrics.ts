/** Prometheus metrics of one validator (own registry, so several validators in one process don't collide). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface ValidatorMetrics {
  registry: Registry;
  batchesSeen: Counter;
  verdicts: Counter<"verdict" | "reason">;
  doubleSignRefused: Counter;
  submitted: Counter<"fn" | "result">;
  daErrors: Counter<"error">;
  daFetchesParked: Counter;
  daBatchesHeld: Counter;
  rpcErrors: Counter;
  feeBumps: Counter;
  peerErrors: Counter;
  equivocations: Counter;
  openBatches: Gauge;
  verifyLatency: Histogram;
  rewardsClaimed: Counter;
}

/**
 * `gasBalance`: the validator account's native balance, read at scrape time (at most every 10 s;
 * a failed read keeps the last value).
 */
export function createMetrics(sources: { gasBalance?: () => Promise<bigint> } = {}): ValidatorMetrics {
  const registry = new Registry();
  const gasBalance = sources.gasBalance;
  if (gasBalance) {
    let last: { wei: bigint; at: number } | undefined;
    new Gauge({
      name: "proofpath_validator_gas_balance_wei",
      help: "Native (gas) balance of the validator account, which pays for attest/reject/finalize",
      registers: [registry],
      async collect() {
        if (!last || Date.now() - last.at > 10_000) {
          try {
            last = { wei: await gasBalance(), at: Date.now() };
          } catch {
            // RPC down: keep the last value (rpc errors are counted where the validator acts)
          }
        }
        if (last) this.set(Number(last.wei));
      },
    });
  }
  const c = <L extends string = string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    batchesSeen: c("proofpath_validator_batches_seen_total", "BatchSubmitted events tracked"),
    verdicts: c("proofpath_validator_verdicts_signed_total", "Verdicts signed (recorded in the signing record)", [
      "verdict",
      "reason",
    ]),
    doubleSignRefused: c(
      "proofpath_validator_double_sign_refused_total",
      "Attempts to sign a second, different verdict for a header hash (refused)",
    ),
    submitted: c("proofpath_validator_transactions_total", "Settlement transactions sent by this validator", [
      "fn",
      "result",
    ]),
    daErrors: c("proofpath_validator_da_errors_total", "Failed fetches from a batch's daURI, by error (errors.ts)", [
      "error",
    ]),
    daBatchesHeld: c(
      "proofpath_validator_da_batches_held_total",
      "Batches whose receipts were stored durably (da.db) before attesting",
    ),
    daFetchesParked: c(
      "proofpath_validator_da_fetches_parked_total",
      "Batches whose DA fetch was in progress when the process died: not fetched again",
    ),
    rpcErrors: c("proofpath_validator_rpc_errors_total", "Failed RPC calls"),
    feeBumps: c("proofpath_validator_fee_bumps_total", "Transactions not mined in time, replaced with higher fees"),
    peerErrors: c("proofpath_validator_peer_errors_total", "Failed or invalid answers from peers"),
    equivocations: c("proofpath_validator_equivocations_total", "Equivocation proofs submitted"),
    openBatches: new Gauge({
      name: "proofpath_validator_open_batches",
      help: "Tracked batches not yet attested or rejected",
      registers: [registry],
    }),
    verifyLatency: new Histogram({
      name: "proofpath_validator_verify_seconds",
      help: "Fetch + recompute time of one batch",
      registers: [registry],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    }),
    rewardsClaimed: c("proofpath_validator_rewards_claimed_wei_total", "OPG wei claimed as validator rewards"),
  };
}
