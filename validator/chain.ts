/**
 * The validator's view of the chain: viem clients, the reads it needs (batch status, fee schedule,
 * validator set, rewards, logs) and a `send` that simulates before it broadcasts, so a revert comes
 * back as a typed {@link TransactionRevertedError} naming the contract's custom error instead of a
 * wasted transaction. Transactions go out through the SDK's {@link TransactionManager} (nonces,
 * replacement with bumped fees, a fee cap, stuck-nonce recovery), as the gateway's do. Transport
 * failures become {@link RpcUnavailableError} (retryable); the manager's own errors
 * (FeeCapExceededError, TransactionNotMinedError) pass as they are (retryable).
 */
import {
  BaseError as ViemBaseError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  createPublicClient,
  decodeErrorResult,
  encodeFunctionData,
  ExecutionRevertedError,
  fallback,
  http,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from "viem";
import { proofSettlementAbi, validatorSetAbi } from "../sdk/abis.js";
import { BaseError } from "../sdk/errors.js";
import type { FeeRateFields } from "../sdk/fees.js";
import { type SignedTransaction, TransactionManager } from "../sdk/transactions.js";
import { RpcUnavailableError, SubmissionMovedError, TransactionRevertedError } from "./errors.js";

const ZERO_RATE: FeeRateFields = { perCall: 0n, perKiloInputToken: 0n, perKiloOutputToken: 0n };

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

/**
 * The fee schedule a batch was submitted under: what `submitBatch` checked `header.fee` against.
 * `modelRates` holds the enabled per-model rates of the models asked for.
 */
export interface FeeSchedule {
  rate: FeeRateFields;
  modelRates: Map<Hex, FeeRateFields>;
  /** Block and log index of the batch's `BatchSubmitted` log. */
  blockNumber: bigint;
  logIndex: number;
}

type SettlementFn = "attest" | "reject" | "finalize" | "claimRewards" | "commitChallenge" | "challengeEquivocation";

export interface ValidatorChain {
  readonly publicClient: PublicClient;
  readonly account: LocalAccount;
  readonly settlement: Address;
  /** The account's nonces and fees (sdk/transactions.ts). */
  readonly transactions: TransactionManager;
  chainId(): Promise<number>;
  batch(gateway: Address, batchSeq: bigint): Promise<OnchainBatch>;
  /** The default rate, now or at the end of block `at`. */
  feeRate(at?: bigint): Promise<FeeRateFields>;
  /** Per-model rates that are enabled, for the given models, now or at the end of block `at`. */
  modelRates(modelIds: readonly Hex[], at?: bigint): Promise<Map<Hex, FeeRateFields>>;
  /**
   * The schedule in force when the batch `headerHash` was submitted in block `blockNumber`: the
   * state at the end of the block before, then the rate changes of that block that precede its
   * `BatchSubmitted` log. Throws {@link SubmissionMovedError} (retryable) when the log is no
   * longer in that block (a reorg moved or removed it).
   */
  feeScheduleAtSubmission(p: { headerHash: Hex; blockNumber: bigint; modelIds: readonly Hex[] }): Promise<FeeSchedule>;
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
        : (reverted.reason ?? reverted.shortMessage);
      return new TransactionRevertedError({ functionName: operation, reason, cause: e });
    }
  }
  return new RpcUnavailableError({ operation, cause: e });
}

export function createValidatorChain(p: {
  rpcUrl: string;
  rpcUrls?: readonly string[];
  account: LocalAccount;
  settlement: Address;
  /** The transaction manager's settings (validator config: bumpAfterMs, maxFeePerGas, txTimeoutMs). */
  transactions?: {
    bumpAfterMs?: number | undefined;
    maxFeePerGas?: bigint | undefined;
    maxPriorityFeePerGas?: bigint | undefined;
    timeoutMs?: number | undefined;
    pollMs?: number | undefined;
    onReplace?: ((from: SignedTransaction, to: SignedTransaction) => void) | undefined;
  };
}): ValidatorChain {
  // Several URLs: viem `fallback`, each request (reads and sends) going to the first that answers.
  const urls = p.rpcUrls?.length ? p.rpcUrls : [p.rpcUrl];
  const one = (u: string) => http(u, { retryCount: 1, timeout: 10_000 });
  const transport = urls.length === 1 ? one(urls[0]!) : fallback(urls.map(one), { retryCount: 0 });
  // viem polls for receipts every 4 s by default: a round (and every batch in it) waited that long
  // after each transaction whose receipt was not there at the first look.
  const publicClient = createPublicClient({ transport, pollingInterval: 250 }) as PublicClient;
  const transactions = new TransactionManager({
    client: publicClient,
    account: p.account,
    pollMs: 250,
    ...p.transactions,
    timeoutMs: p.transactions?.timeoutMs ?? 120_000,
  });
  let chainIdP: Promise<number> | undefined;
  let vsAddress: Address | undefined;
  let registryAddress: Address | undefined;
  const s = { address: p.settlement, abi: proofSettlementAbi } as const;
  const serial = serialize();
  const attestersCache = new Map<number, Address[]>(); // an attestation's signers never change

  const chainId = () =>
    (chainIdP ??= rpc("getChainId", () => publicClient.getChainId()).catch((e) => {
      chainIdP = undefined;
      throw e;
    }));

  /** A read at block `at` (latest when undefined); undefined when the settlement had no code there yet. */
  async function readAt<T>(
    operation: string,
    at: bigint | undefined,
    fn: (blockNumber: bigint | undefined) => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await fn(at);
    } catch (e) {
      if (at !== undefined && e instanceof ViemBaseError && e.walk((x) => x instanceof ContractFunctionZeroDataError))
        return undefined;
      throw classify(operation, e);
    }
  }

  async function feeRateAt(at: bigint | undefined): Promise<FeeRateFields | undefined> {
    const r = await readAt("feeRate", at, (blockNumber) =>
      publicClient.readContract({ ...s, functionName: "feeRate", blockNumber }),
    );
    return (
      r && { perCall: r.perCall, perKiloInputToken: r.perKiloInputToken, perKiloOutputToken: r.perKiloOutputToken }
    );
  }

  async function modelRatesAt(
    modelIds: readonly Hex[],
    at: bigint | undefined,
  ): Promise<Map<Hex, FeeRateFields> | undefined> {
    const out = new Map<Hex, FeeRateFields>();
    let deployed = true;
    await Promise.all(
      modelIds.map(async (id) => {
        const r = await readAt("modelFeeRate", at, (blockNumber) =>
          publicClient.readContract({ ...s, functionName: "modelFeeRate", args: [id], blockNumber }),
        );
        if (!r) deployed = false;
        else if (r[1])
          out.set(id, {
            perCall: r[0].perCall,
            perKiloInputToken: r[0].perKiloInputToken,
            perKiloOutputToken: r[0].perKiloOutputToken,
          });
      }),
    );
    return deployed ? out : undefined;
  }

  async function validatorSetAddress(): Promise<Address> {
    return (vsAddress ??= await rpc("VALIDATORS", () =>
      publicClient.readContract({ ...s, functionName: "VALIDATORS" }),
    ));
  }

  return {
    publicClient,
    account: p.account,
    settlement: p.settlement,
    transactions,
    chainId,
    async registry() {
      return (registryAddress ??= await rpc("REGISTRY", () =>
        publicClient.readContract({ ...s, functionName: "REGISTRY" }),
      ));
    },
    async batch(gateway, batchSeq) {
      const [status, since, windowEnd, attestationId, headerHashPrefix] = await rpc("batch", () =>
        publicClient.readContract({ ...s, functionName: "batch", args: [gateway, batchSeq] }),
      );
      return {
        status: Number(status) as BatchStatusValue,
        since,
        windowEnd,
        attestationId: Number(attestationId),
        headerHashPrefix,
      };
    },
    feeRate: (at) => feeRateAt(at).then((r) => r ?? ZERO_RATE),
    modelRates: (modelIds, at) => modelRatesAt(modelIds, at).then((r) => r ?? new Map()),
    async feeScheduleAtSubmission({ headerHash, blockNumber, modelIds }) {
      // Every event of the settlement in that block, in order: the submission and rate changes.
      const logs = await rpc("getLogs", () =>
        publicClient.getContractEvents({ ...s, fromBlock: blockNumber, toBlock: blockNumber, strict: true }),
      );
      const want = headerHash.toLowerCase();
      const sub = logs.find((l) => l.eventName === "BatchSubmitted" && l.args.headerHash.toLowerCase() === want);
      if (!sub) throw new SubmissionMovedError({ headerHash, blockNumber });
      // State at the end of the previous block; none when the contract was deployed in this one
      // (its constructor's FeeRateChanged is then replayed below).
      const before = blockNumber > 0n ? blockNumber - 1n : undefined;
      let rate = (before !== undefined ? await feeRateAt(before) : undefined) ?? ZERO_RATE;
      const modelRates =
        (before !== undefined ? await modelRatesAt(modelIds, before) : undefined) ?? new Map<Hex, FeeRateFields>();
      // A change earlier in the same block already applied to the submission; a later one did not.
      for (const l of [...logs].sort((a, b) => a.logIndex - b.logIndex)) {
        if (l.logIndex >= sub.logIndex) break;
        if (l.eventName === "FeeRateChanged") {
          rate = {
            perCall: l.args.perCall,
            perKiloInputToken: l.args.perKiloInputToken,
            perKiloOutputToken: l.args.perKiloOutputToken,
          };
        } else if (l.eventName === "ModelFeeRateChanged") {
          const id = modelIds.find((m) => m.toLowerCase() === l.args.modelId.toLowerCase());
          if (!id) continue;
          if (l.args.enabled)
            modelRates.set(id, {
              perCall: l.args.perCall,
              perKiloInputToken: l.args.perKiloInputToken,
              perKiloOutputToken: l.args.perKiloOutputToken,
            });
          else modelRates.delete(id);
        }
      }
      // The reads above are by number: make sure they were all of the branch that holds the log.
      const block = await rpc("getBlock", () => publicClient.getBlock({ blockNumber }));
      if (block.hash !== sub.blockHash) throw new SubmissionMovedError({ headerHash, blockNumber });
      return { rate, modelRates, blockNumber, logIndex: sub.logIndex };
    },
    async validatorSet() {
      const address = await validatorSetAddress();
      const [validators, quorum] = await Promise.all([
        rpc("validators", () =>
          publicClient.readContract({ address, abi: validatorSetAbi, functionName: "validators" }),
        ),
        rpc("quorum", () => publicClient.readContract({ address, abi: validatorSetAbi, functionName: "quorum" })),
      ]);
      return { address, validators: [...validators], quorum: Number(quorum) };
    },
    async rewardsOwed(validator) {
      return rpc("rewardsOwed", () =>
        publicClient.readContract({ ...s, functionName: "rewardsOwed", args: [validator] }),
      );
    },
    async attesters(id) {
      const cached = attestersCache.get(id);
      if (cached) return cached;
      const logs = await rpc("getLogs", () =>
        publicClient.getContractEvents({
          ...s,
          eventName: "Attestation",
          args: { attestationId: id },
          fromBlock: "earliest",
          toBlock: "latest",
        }),
      );
      const signers = logs[0]?.args.signers;
      if (!signers)
        throw new RpcUnavailableError({ operation: `Attestation ${id} log`, cause: new Error("not found (yet)") });
      attestersCache.set(id, [...signers]);
      return [...signers];
    },
    async head() {
      const b = await rpc("getBlock", () => publicClient.getBlock({ blockTag: "latest" }));
      return { number: b.number, hash: b.hash, timestamp: b.timestamp };
    },
    // One transaction at a time per key (the manager queues its sends): the simulation of the next
    // runs after the previous one was mined.
    send: (functionName, args) => serial(() => sendNow(functionName, args)),
    sendCalldata: (functionName, data) => serial(() => sendDataNow(functionName, data)),
  };

  /** A revert of a raw call carries no decoded error: decode it with the settlement's ABI. */
  async function rawRpc<T>(functionName: SettlementFn, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const withData =
        e instanceof ViemBaseError
          ? (e.walk(
              (x) => typeof (x as { data?: unknown }).data === "string" && (x as { data: string }).data.length >= 10,
            ) as { data?: Hex } | null)
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
      // A revert without data (`revert()`, out of gas): viem types it as ExecutionRevertedError.
      const reverted = e instanceof ViemBaseError ? e.walk((x) => x instanceof ExecutionRevertedError) : null;
      if (reverted instanceof ExecutionRevertedError)
        throw new TransactionRevertedError({ functionName, reason: reverted.shortMessage, cause: e });
      throw new RpcUnavailableError({ operation: functionName, cause: e });
    }
  }

  async function sendDataNow(functionName: SettlementFn, data: Hex): Promise<Hex> {
    const tx = { account: p.account, to: p.settlement, data };
    await rawRpc(functionName, () => publicClient.call({ ...tx, blockTag: "pending" }));
    const gas = await rawRpc(functionName, () => publicClient.estimateGas(tx));
    return mined(functionName, { to: p.settlement, data, gas: (gas * 6n) / 5n });
  }

  async function sendNow(functionName: SettlementFn, args: readonly unknown[]): Promise<Hex> {
    // Against the pending block: its timestamp is "now", while an idle chain's latest block can be
    // minutes old (anvil automine), which would make finalize look premature forever.
    // Narrow: `functionName` is one of six writes, `args` checked against it by viem at run time.
    const call = { ...s, functionName, args, account: p.account, blockTag: "pending" } as Parameters<
      typeof publicClient.simulateContract
    >[0];
    await rpc(functionName, () => publicClient.simulateContract(call));
    const gas = await rpc(functionName, () =>
      publicClient.estimateContractGas(call as Parameters<typeof publicClient.estimateContractGas>[0]),
    );
    const data = encodeFunctionData({ abi: proofSettlementAbi, functionName, args } as Parameters<
      typeof encodeFunctionData
    >[0]);
    return mined(functionName, { to: p.settlement, data, gas: (gas * 6n) / 5n });
  }

  /** Sends through the manager and waits for the receipt; a reverted one is a TransactionRevertedError. */
  async function mined(functionName: SettlementFn, req: { to: Address; data: Hex; gas: bigint }): Promise<Hex> {
    let receipt: Awaited<ReturnType<TransactionManager["send"]>>;
    try {
      receipt = await transactions.send(req);
    } catch (e) {
      if (e instanceof BaseError) throw e; // the manager's own (fee cap, not mined in time): retryable
      throw classify(functionName, e);
    }
    if (receipt.status !== "success")
      throw new TransactionRevertedError({ functionName, reason: `tx ${receipt.transactionHash} reverted` });
    return receipt.transactionHash;
  }
}

/** Runs `fn` after every earlier call has settled. */
function serialize(): <T>(fn: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const next = last.then(fn);
    last = next.catch(() => undefined);
    return next;
  };
}
