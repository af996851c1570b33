/**
 * Chain access for the hook: a viem public client, the settlement's per-gateway sequence numbers,
 * and the fee schedule (global + per-model rates) cached with a refresh, so sealing never waits on
 * an RPC round trip unless the cache is stale.
 */
import { createPublicClient, fallback, http, type Address, type Hex, type PublicClient, type Transport } from "viem";
import { proofSettlementAbi } from "../sdk/abis.js";
import type { FeeRateFields } from "../sdk/fees.js";

/**
 * One transport over every RPC URL: a single URL is plain `http`; several are viem `fallback`,
 * each request (reads and `eth_sendRawTransaction` alike) going to the first URL that answers.
 * viem's own retries are off: the submitter owns retry and backoff.
 */
export function rpcTransport(rpcUrls: string | readonly string[]): Transport {
  const urls = typeof rpcUrls === "string" ? [rpcUrls] : rpcUrls;
  if (urls.length === 0) throw new Error("no RPC URL");
  const one = (u: string) => http(u, { retryCount: 0, timeout: 10_000 });
  return urls.length === 1 ? one(urls[0]!) : fallback(urls.map(one), { retryCount: 0 });
}

export function makePublicClient(rpcUrls: string | readonly string[]): PublicClient {
  return createPublicClient({ transport: rpcTransport(rpcUrls) }) as PublicClient;
}

export async function readNextSeqs(
  client: PublicClient,
  settlement: Address,
  gateway: Address,
): Promise<{ nextCallSeq: number; nextBatchSeq: number }> {
  const [c, b] = (await client.readContract({
    address: settlement,
    abi: proofSettlementAbi,
    functionName: "nextSeqs",
    args: [gateway],
  })) as readonly [bigint, bigint];
  return { nextCallSeq: Number(c), nextBatchSeq: Number(b) };
}

/** The on-chain fee schedule with per-model overrides, refreshed at most every `refreshMs`. */
export class FeeRates {
  private rate: FeeRateFields | undefined;
  private readonly models = new Map<Hex, FeeRateFields | null>();
  private fetchedAt = 0;

  constructor(
    private readonly client: PublicClient,
    private readonly settlement: Address,
    private readonly refreshMs: number,
  ) {}

  /** Rates covering `modelIds` (refetched when stale or a model was never looked up). */
  async get(modelIds: readonly Hex[]): Promise<{ rate: FeeRateFields; perModel: Map<Hex, FeeRateFields> }> {
    const stale = Date.now() - this.fetchedAt > this.refreshMs;
    if (stale || !this.rate) {
      const r = (await this.client.readContract({
        address: this.settlement,
        abi: proofSettlementAbi,
        functionName: "feeRate",
      })) as FeeRateFields;
      this.rate = {
        perCall: r.perCall,
        perKiloInputToken: r.perKiloInputToken,
        perKiloOutputToken: r.perKiloOutputToken,
      };
      if (stale) this.models.clear();
      this.fetchedAt = Date.now();
    }
    const missing = modelIds.filter((m) => !this.models.has(m));
    await Promise.all(
      missing.map(async (m) => {
        const [r, enabled] = (await this.client.readContract({
          address: this.settlement,
          abi: proofSettlementAbi,
          functionName: "modelFeeRate",
          args: [m],
        })) as readonly [FeeRateFields, boolean];
        this.models.set(
          m,
          enabled
            ? { perCall: r.perCall, perKiloInputToken: r.perKiloInputToken, perKiloOutputToken: r.perKiloOutputToken }
            : null,
        );
      }),
    );
    const perModel = new Map<Hex, FeeRateFields>();
    for (const m of modelIds) {
      const r = this.models.get(m);
      if (r) perModel.set(m, r);
    }
    return { rate: this.rate!, perModel };
  }

  /** Forget the cache (e.g. after the contract rejected a fee). */
  invalidate(): void {
    this.fetchedAt = 0;
  }
}
