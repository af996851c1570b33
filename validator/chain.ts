/**
 * The validator's view of the chain: viem clients, the reads it needs (batch status, fee schedule,
 * validator set, rewards, logs) and a `send` that simulates before it broadcasts, so a revert comes
 * back as a typed {@link TransactionRevertedError} naming the contract's custom error instead of a
 * wasted transaction. Transport failures become {@link RpcUnavailableError} (retryable).
 */
import {
  BaseError as ViemBaseError, ContractFunctionRevertedError, createPublicClient, createWalletClient, decodeErrorResult, http,
  type Address, type Chain, type Hex, type LocalAccount, type PublicClient,
} from "viem";
import { proofSettlementAbi, validatorSetAbi } from "../sdk/abis.js";
import type { FeeRateFields } from "../sdk/fees.js";
import { RpcUnavailableError, TransactionRevertedError } from "./errors.js";

/** `BatchStatus` of Types.sol. */
export const BatchStatus = { None: 0, Submitted: 1, Attested: 2, Finalized: 3, Rejected: 4 } as const;
export type BatchStatusValue = (typeof BatchStatus)[keyof typeof BatchStatus];

export interface OnchainBatch {
  status: BatchStatusValue;
  /** Submission time, then attestation time once attested. */
  since: bigint;
  /** End of the challenge window, which starts at attestation (0 before). */
  windowEnd: bigint;
  /** The attestation that attested the batch (0 before). */
  attestationId: number;
  headerHashPrefix: Hex;
}

/** True when the 160-bit prefix the contract stores matches `headerHash` (see BatchSlot.sol). */
export function prefixMatches(prefix: Hex, headerHash: Hex): boolean {
  const mask = ((1n << 256n) - 1n) ^ ((1n << 96n) - 1n);
  return (BigInt(headerHash) & mask) === BigInt(prefix);
}

type SettlementFn = "attest" | "reject" | "finalize" | "claimRewards" | "commitChallenge" | "challengeEquivocation";

export interface ValidatorChain {
  readonly publicClient: PublicClient;
  readonly account: LocalAccount;
  readonly settlement: Address;
  chainId(): Promise<number>;
  batch(gateway: Address, batchSeq: bigint): Promise<OnchainBatch>;
  feeRate(): Promise<FeeRateFields>;
  /** Per-model rates that are enabled, for the given models. */
  modelRates(modelIds: readonly Hex[]): Promise<Map<Hex, FeeRateFields>>;
  validatorSet(): Promise<{ address: Address; validators: Address[]; quorum: number }>;
  /** The settlement's GatewayRegistry (immutable: read once). */
  registry(): Promise<Address>;
  rewardsOwed(validator: Address): Promise<bigint>;
  /** The signers of attestation `id`, from its `Attestation` event (finalize must name them). */
  attesters(id: number): Promise<Address[]>;
  head(): Promise<{ number: bigint; hash: Hex; timestamp: bigint }>;
  /** Simulates, sends and waits for `functionName` on the settlement; returns the tx hash. */
  send(functionName: SettlementFn, args: readonly unknown[]): Promise<Hex>;
  /** Like `send`, with calldata encoded by the caller (rawDaUri.ts: a daURI that is not UTF-8). */
  sendCalldata(functionName: SettlementFn, data: Hex): Promise<Hex>;
}

/** Wraps a read so transport errors become retryable and reverts non-retryable. */
export async function rpc<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw classify(operation, e);
  }
}

function classify(operation: string, e: unknown): Error {
  if (e instanceof ViemBaseError) {
    const reverted = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (reverted) {
      const reason = reverted.data?.errorName
        ? `${reverted.data.errorName}(${(reverted.data.args ?? []).map(String).join(", ")})`
        : reverted.reason ?? reverted.shortMessage;
      return new TransactionRevertedError({ functionName: operation, reason, cause: e });
    }
  }
  return new RpcUnavailableError({ operation, cause: e });
}

export function createValidatorChain(p: { rpcUrl: string; account: LocalAccount; settlement: Address }): ValidatorChain {
  const transport = http(p.rpcUrl, { retryCount: 1, timeout: 10_000 });
  // viem polls for receipts every 4 s by default: a round (and every batch in it) waited that long
  // after each transaction whose receipt was not there at the first look.
  const publicClient = createPublicClient({ transport, pollingInterval: 250 }) as PublicClient;
  let chain: Chain | undefined;
  let chainIdP: Promise<number> | undefined;
  let vsAddress: Address | undefined;
  let registryAddress: Address | undefined;
  const s = { address: p.settlement, abi: proofSettlementAbi } as const;
  let sending: Promise<unknown> = Promise.resolve();
  const attestersCache = new Map<number, Address[]>(); // an attestation's signers never change

  const chainId = () => (chainIdP ??= rpc("getChainId", () => publicClient.getChainId()).catch((e) => {
    chainIdP = undefined;
    throw e;
  }));

  async function validatorSetAddress(): Promise<Address> {
    return (vsAddress ??= await rpc("VALIDATORS", () => publicClient.readContract({ ...s, functionName: "VALIDATORS" })));
  }

  return {
    publicClient,
    account: p.account,
    settlement: p.settlement,
    chainId,
    async registry() {
      return (registryAddress ??= await rpc("REGISTRY", () => publicClient.readContract({ ...s, functionName: "REGISTRY" })));
    },
    async batch(gateway, batchSeq) {
      const [status, since, windowEnd, attestationId, headerHashPrefix] = await rpc("batch", () =>
        publicClient.readContract({ ...s, functionName: "batch", args: [gateway, batchSeq] }));
      return { status: Number(status) as BatchStatusValue, since, windowEnd, attestationId: Number(attestationId), headerHashPrefix };
    },
    async feeRate() {
      const r = await rpc("feeRate", () => publicClient.readContract({ ...s, functionName: "feeRate" }));
      return { perCall: r.perCall, perKiloInputToken: r.perKiloInputToken, perKiloOutputToken: r.perKiloOutputToken };
    },
    async modelRates(modelIds) {
      const out = new Map<Hex, FeeRateFields>();
      await Promise.all(modelIds.map(async (id) => {
        const [rate, enabled] = await rpc("modelFeeRate", () => publicClient.readContract({ ...s, functionName: "modelFeeRate", args: [id] }));
        if (enabled) out.set(id, { perCall: rate.perCall, perKiloInputToken: rate.perKiloInputToken, perKiloOutputToken: rate.perKiloOutputToken });
      }));
      return out;
    },
    async validatorSet() {
      const address = await validatorSetAddress();
      const [validators, quorum] = await Promise.all([
        rpc("validators", () => publicClient.readContract({ address, abi: validatorSetAbi, functionName: "validators" })),
        rpc("quorum", () => publicClient.readContract({ address, abi: validatorSetAbi, functionName: "quorum" })),
      ]);
      return { address, validators: [...validators], quorum: Number(quorum) };
    },
    async rewardsOwed(validator) {
      return rpc("rewardsOwed", () => publicClient.readContract({ ...s, functionName: "rewardsOwed", args: [validator] }));
    },
    async attesters(id) {
      const cached = attestersCache.get(id);
      if (cached) return cached;
      const logs = await rpc("getLogs", () => publicClient.getContractEvents({
        ...s, eventName: "Attestation", args: { attestationId: id }, fromBlock: "earliest", toBlock: "latest",
      }));
      const signers = logs[0]?.args.signers;
      if (!signers) throw new RpcUnavailableError({ operation: `Attestation ${id} log`, cause: new Error("not found (yet)") });
      attestersCache.set(id, [...signers]);
      return [...signers];
    },
    async head() {
      const b = await rpc("getBlock", () => publicClient.getBlock({ blockTag: "latest" }));
      return { number: b.number, hash: b.hash, timestamp: b.timestamp };
    },
    send(functionName, args) {
      // One transaction at a time per key: concurrent sends would race for the same nonce.
      const next = sending.then(() => sendNow(functionName, args));
      sending = next.catch(() => undefined);
      return next;
    },
    sendCalldata(functionName, data) {
      const next = sending.then(() => sendDataNow(functionName, data));
      sending = next.catch(() => undefined);
      return next;
    },
  };

  /** A revert of a raw call carries no decoded error: decode it with the settlement's ABI. */
  async function rawRpc<T>(functionName: SettlementFn, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const withData = e instanceof ViemBaseError
        ? (e.walk((x) => typeof (x as { data?: unknown }).data === "string" && ((x as { data: string }).data).length >= 10) as { data?: Hex } | null)
        : null;
      if (withData?.data) {
        let reason: string;
        try {
          const d = decodeErrorResult({ abi: proofSettlementAbi, data: withData.data });
          reason = `${d.errorName}(${(d.args ?? []).map(String).join(", ")})`;
        } catch {
          reason = withData.data;
        }
        throw new TransactionRevertedError({ functionName, reason, cause: e });
      }
      if (e instanceof ViemBaseError && /revert/i.test(e.message)) throw new TransactionRevertedError({ functionName, reason: e.shortMessage, cause: e });
      throw new RpcUnavailableError({ operation: functionName, cause: e });
    }
  }

  async function sendDataNow(functionName: SettlementFn, data: Hex): Promise<Hex> {
    const id = await chainId();
    chain ??= { id, name: `chain-${id}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [p.rpcUrl] } } };
    const wallet = createWalletClient({ account: p.account, chain, transport });
    const tx = { account: p.account, to: p.settlement, data };
    await rawRpc(functionName, () => publicClient.call({ ...tx, blockTag: "pending" }));
    const gas = await rawRpc(functionName, () => publicClient.estimateGas(tx));
    const hash = await rawRpc(functionName, () => wallet.sendTransaction({ ...tx, chain, gas: (gas * 6n) / 5n }));
    const receipt = await rpc(functionName, () => publicClient.waitForTransactionReceipt({ hash, timeout: 60_000 }));
    if (receipt.status !== "success") throw new TransactionRevertedError({ functionName, reason: `tx ${hash} reverted` });
    return hash;
  }

  async function sendNow(functionName: SettlementFn, args: readonly unknown[]): Promise<Hex> {
    const id = await chainId();
    chain ??= { id, name: `chain-${id}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [p.rpcUrl] } } };
    const wallet = createWalletClient({ account: p.account, chain, transport });
    // Against the pending block: its timestamp is "now", while an idle chain's latest block can be
    // minutes old (anvil automine), which would make finalize look premature forever.
    const call = { ...s, functionName, args, account: p.account, blockTag: "pending" } as never;
    const { request } = await rpc(functionName, () => publicClient.simulateContract(call)) as unknown as { request: Record<string, unknown> };
    const gas = await rpc(functionName, () => publicClient.estimateContractGas(call));
    const { blockTag: _, ...sendable } = request;
    const hash = await rpc(functionName, () => wallet.writeContract({ ...sendable, gas: (gas * 6n) / 5n } as never));
    const receipt = await rpc(functionName, () => publicClient.waitForTransactionReceipt({ hash, timeout: 60_000 }));
    if (receipt.status !== "success") throw new TransactionRevertedError({ functionName, reason: `tx ${hash} reverted` });
    return hash;
  }
}
