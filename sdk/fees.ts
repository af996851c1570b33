/**
 * The on-chain fee schedule, as `FeeRate` in Types.sol defines it: per usage entry
 * `calls * perCall + inputTokens * perKiloInputToken / 1000 + outputTokens * perKiloOutputToken / 1000`,
 * each term rounded down on its own, using the model's own rate when one is set.
 */
import type { Hex } from "viem";

/** Fee schedule fields; a parsed {@link import("./types.js").FeeRate} fits. */
export interface FeeRateFields {
  perCall: bigint;
  perKiloInputToken: bigint;
  perKiloOutputToken: bigint;
}

/** Usage entry fields the fee depends on; a parsed `ModelUsage` fits. */
export interface FeeUsageFields {
  modelId: Hex;
  calls: number | bigint;
  inputTokens: number | bigint;
  outputTokens: number | bigint;
}

/** Per-model rates keyed by modelId (any hex case). */
export type PerModelRates = ReadonlyMap<Hex, FeeRateFields> | Readonly<Record<Hex, FeeRateFields>>;

/** Fee of one usage entry at `rate`. */
export function usageFee(u: FeeUsageFields, rate: FeeRateFields): bigint {
  return (
    BigInt(u.calls) * rate.perCall +
    (BigInt(u.inputTokens) * rate.perKiloInputToken) / 1000n +
    (BigInt(u.outputTokens) * rate.perKiloOutputToken) / 1000n
  );
}

function lookup(rates: PerModelRates, modelId: Hex): FeeRateFields | undefined {
  if (rates instanceof Map) {
    return (
      rates.get(modelId) ?? rates.get(modelId.toLowerCase() as Hex) ?? findCaseInsensitive(rates.entries(), modelId)
    );
  }
  const rec = rates as Readonly<Record<string, FeeRateFields>>;
  return rec[modelId] ?? rec[modelId.toLowerCase()] ?? findCaseInsensitive(Object.entries(rec), modelId);
}

function findCaseInsensitive(entries: Iterable<[string, FeeRateFields]>, modelId: string): FeeRateFields | undefined {
  const want = modelId.toLowerCase();
  for (const [k, v] of entries) if (k.toLowerCase() === want) return v;
  return undefined;
}

/**
 * Fee of a batch's usage: the sum of {@link usageFee} over its entries, each at the model's rate
 * from `perModelRates` when present, else `defaultRate`. Equals `BatchHeader.fee` for a valid batch.
 */
export function computeFee(
  usage: readonly FeeUsageFields[],
  defaultRate: FeeRateFields,
  perModelRates?: PerModelRates,
): bigint {
  let fee = 0n;
  for (const u of usage) fee += usageFee(u, (perModelRates && lookup(perModelRates, u.modelId)) || defaultRate);
  return fee;
}
