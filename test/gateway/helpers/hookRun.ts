/** An in-process hook driven with generated calls, feeding a {@link Ledger} like the child does. */
import { keccak256, toHex, type Hex } from "viem";
import pino from "pino";
import { createSettlementHook, type SettlementHook } from "../../../gateway/index.js";
import type { HookConfigInput } from "../../../gateway/config.js";
import type { Ledger } from "./verify.js";

export const models: Hex[] = ["m-small", "m-medium", "m-large"].map((m) => keccak256(toHex(m)));

export function testHook(
  cfg: Partial<HookConfigInput> & Pick<HookConfigInput, "store" | "enclaveKey" | "rpcUrl" | "settlement">,
): Promise<SettlementHook> {
  return createSettlementHook({
    chainId: 31337,
    daBaseUrl: "http://127.0.0.1:9/da",
    batch: { maxCalls: 64, maxAgeMs: 100 },
    confirmations: 2,
    reserveSize: 128,
    pollMs: 100,
    bumpAfterMs: 2_000,
    retry: { baseMs: 50, maxMs: 1_000 },
    synchronous: "normal",
    logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
    ...cfg,
  });
}

let n = 0;
/** Records `count` calls and adds them to `ledger` (durable once their promise resolves). */
export function recordCalls(hook: SettlementHook, count: number, ledger: Ledger): Promise<void> {
  const all: Promise<void>[] = [];
  for (let k = 0; k < count; k++, n++) {
    const r = hook.record({
      modelId: models[n % 3]!,
      requestHash: keccak256(toHex(`req:${n}`)),
      responseHash: keccak256(toHex(`res:${n}`)),
      inputTokens: (n * 7) % 500,
      outputTokens: (n * 13) % 900,
    });
    const seq = Number(r.callSeq);
    if (ledger.returned.has(seq)) ledger.reused++;
    ledger.returned.set(seq, r.digest);
    all.push(r.durable.then(() => void ledger.durable.add(seq)));
  }
  return Promise.all(all).then(() => {});
}
