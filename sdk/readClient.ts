/**
 * A typed read client for any user of proofpath: what the chain says about a receipt (is it proven
 * in a settled batch, in which status, was its enclave key approved when the call was served) and
 * what a gateway publishes about it (the receipt, its header and inclusion proof, the whole batch).
 * Reads only: it never signs or sends. Works in Node and in browsers (viem + `fetch`).
 *
 *   const rc = createReadClient({ client, deployment });
 *   const status = await rc.receiptStatus(header, receipt, proof);   // "Finalized" is the only final one
 *   const key = await rc.keyAt(receipt.gateway, receipt.servedAt);    // approved when it was served?
 */
import { z } from "zod";
import type { Address, Hex, PublicClient } from "viem";
import { gatewayRegistryAbi, proofSettlementAbi } from "./abis.js";
import { recoverReceiptSigner, settlementDomain, type SettlementDomain } from "./eip712.js";
import { hashHeader, receiptLeaf, voidLeaf } from "./hashing.js";
import { BaseError, type BaseErrorParameters } from "./errors.js";
import { buildTree } from "./merkle.js";
import {
  addressSchema,
  batchHeaderSchema,
  hex32Schema,
  receiptSchema,
  uintSchema,
  type BatchHeader,
  type Receipt,
} from "./types.js";

/** `ProofSettlement.BatchStatus`, by its uint8 value. */
export const BATCH_STATUS_NAMES = ["None", "Submitted", "Attested", "Finalized", "Rejected"] as const;
export type BatchStatus = (typeof BATCH_STATUS_NAMES)[number];

/** What the client needs of a deployment (the file `tools/deploy.ts` writes has it). */
export interface ReadDeployment {
  contracts: { ProofSettlement: Address; GatewayRegistry: Address };
  /** First block to search for events (default 0). */
  startBlock?: number;
}

export interface ReadClientConfig {
  client: PublicClient;
  deployment: ReadDeployment;
  /** For gateway DA requests (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Byte cap of one DA answer (default 64 MiB; a receipt answer is capped at 64 KiB). */
  maxDaBytes?: number;
}

/** `ProofSettlement.batch(gateway, batchSeq)`. */
export interface OnChainBatch {
  status: BatchStatus;
  /** When the current status began (unix s). */
  since: bigint;
  /** End of the challenge window (unix s), 0 until attested. */
  windowEnd: bigint;
  attestationId: number;
  /** The first 160 bits of the stored header hash. */
  headerHashPrefix: Hex;
}

/** A batch as `BatchSubmitted` settled it: the whole header, rebuilt from the event. */
export interface SettledBatch {
  header: BatchHeader;
  headerHash: Hex;
  txHash: Hex;
  blockNumber: bigint;
}

/** Was `gateway` an approved key of an allowed measurement when the call was served? */
export interface KeyAt {
  ok: boolean;
  /** Why not, in one sentence (undefined when ok). */
  reason?: string;
  registered: boolean;
  operator?: Address;
  measurement?: Hex;
  /** The approval in force at servedAt: the last `EnclaveApproved` at or before it. */
  approval?: { blockNumber: bigint; at: bigint; activeUntil: bigint; approvalNonce: bigint };
  /** Unix s of the first deactivation / slash / measurement revocation after that approval, at or before servedAt. */
  deactivatedAt?: bigint;
  slashedAt?: bigint;
  revokedAt?: bigint;
  /** Slashed by now (possibly after the call): the key is banned for good. */
  slashedNow: boolean;
}

/** One leaf of a published batch. */
export type BatchLeaf = { kind: "served"; receipt: Receipt } | { kind: "void"; gateway: Address; callSeq: bigint };

/** What a gateway serves at `GET {da}/receipts/:callSeq` (gateway/serve/http.ts), parsed. */
export interface GatewayReceipt {
  receipt: Receipt;
  /** The enclave's EIP-712 signature over the receipt (absent for void callSeqs). */
  receiptSignature?: Hex;
  /** The gateway's own view: pending (not sealed), sealed, submitted, confirmed. */
  status: string;
  batchSeq?: bigint;
  header?: BatchHeader;
  proof?: Hex[];
}

/**
 * A gateway, DA endpoint or the chain served something the read client cannot use (too large, not
 * JSON, not matching what is settled). Retryable only for an HTTP 429 or 5xx answer.
 */
export class ReadClientError extends BaseError {
  override name = "ReadClientError";
  constructor(shortMessage: string, parameters?: BaseErrorParameters) {
    super(shortMessage, parameters);
  }
}

const hexList = z.array(hex32Schema("proof"));
const gatewayReceiptSchema = z.object({
  receipt: z.object({ kind: z.enum(["served", "void"]).optional() }).passthrough(),
  receiptSignature: z
    .string()
    .regex(/^0x[0-9a-fA-F]{130}$/)
    .nullable()
    .optional(),
  status: z.string().optional(),
  batchSeq: uintSchema(64, "batchSeq").optional(),
  header: batchHeaderSchema.nullable().optional(),
  proof: hexList.nullable().optional(),
});
const daLeafSchema = z.discriminatedUnion("kind", [
  receiptSchema.extend({ kind: z.literal("served"), gateway: addressSchema("gateway").optional() }),
  z.object({
    kind: z.literal("void"),
    callSeq: uintSchema(64, "callSeq"),
    gateway: addressSchema("gateway").optional(),
  }),
]);
const daBatchSchema = z.object({ gateway: addressSchema("gateway"), receipts: z.array(daLeafSchema) });

/** The leaves of a batch as a gateway publishes it at its daURI (`{ gateway, receipts }`), parsed. */
export function parseBatchLeaves(daURI: string, raw: unknown): BatchLeaf[] {
  if (raw === undefined) throw new ReadClientError(`${daURI}: not found (404)`);
  const parsed = daBatchSchema.safeParse(raw);
  if (!parsed.success) throw new ReadClientError(`${daURI}: ${firstIssue(parsed.error)}`);
  const gw = parsed.data.gateway;
  return parsed.data.receipts.map((r): BatchLeaf => {
    if (r.kind === "void") return { kind: "void", gateway: r.gateway ?? gw, callSeq: r.callSeq };
    return { kind: "served", receipt: pickReceipt({ ...r, gateway: r.gateway ?? gw }) };
  });
}

/** The receipt's 8 fields out of a wider object (the gateway adds `kind`, `leaf`). */
export function pickReceipt(raw: unknown): Receipt {
  const r = (raw ?? {}) as Record<string, unknown>;
  const { gateway, callSeq, modelId, requestHash, responseHash, inputTokens, outputTokens, servedAt } = r;
  return receiptSchema.parse({
    gateway,
    callSeq,
    modelId,
    requestHash,
    responseHash,
    inputTokens,
    outputTokens,
    servedAt,
  });
}

/** Leaf hash of a published leaf. */
export function leafOfBatchLeaf(l: BatchLeaf): Hex {
  return l.kind === "served" ? receiptLeaf(l.receipt) : voidLeaf(l.gateway, l.callSeq);
}

/**
 * Why published leaves cannot be the calls of the batch they claim, by position: leaf i must be
 * callSeq `firstCallSeq + i` of `gateway` (when given), as validators check. The root commits to
 * the leaves' hashes, not to their order (sorted-pair hashing), so a gateway can settle a root over
 * leaves that repeat, skip or borrow call numbers; validators reject such a batch, and nothing
 * should be read from it. Undefined when every leaf is where it says it is.
 */
export function leafPositionError(
  leaves: readonly BatchLeaf[],
  h: { firstCallSeq: bigint; gateway?: string | undefined },
): string | undefined {
  const gw = h.gateway?.toLowerCase();
  for (let i = 0; i < leaves.length; i++) {
    const l = leaves[i]!;
    const [gateway, callSeq] = l.kind === "served" ? [l.receipt.gateway, l.receipt.callSeq] : [l.gateway, l.callSeq];
    if (callSeq !== h.firstCallSeq + BigInt(i))
      return `leaf ${i} says callSeq ${callSeq}, not ${h.firstCallSeq + BigInt(i)}: the leaves are not the batch's calls in order`;
    if (gw !== undefined && gateway.toLowerCase() !== gw) return `leaf ${i} belongs to ${gateway}, not ${h.gateway}`;
  }
  return undefined;
}

/** True when `signature` is the enclave's (`receipt.gateway`) EIP-712 signature over `receipt` under `domain`. */
export async function isSignedByGateway(
  domain: SettlementDomain,
  receipt: Receipt,
  signature: Hex,
): Promise<{ ok: boolean; signer?: Address }> {
  try {
    const signer = await recoverReceiptSigner(domain, receipt, signature);
    return { ok: signer.toLowerCase() === receipt.gateway.toLowerCase(), signer };
  } catch {
    return { ok: false };
  }
}

export async function boundedText(res: Response, maxBytes: number, url: string): Promise<string> {
  const len = Number(res.headers.get("content-length") ?? "0");
  if (len > maxBytes) throw new ReadClientError(`${url}: ${len} bytes is more than ${maxBytes}`);
  if (!res.body) return res.text();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ReadClientError(`${url}: more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function firstIssue(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.join(".") || "(root)"}: ${i.message}`;
}

export interface ReadClient {
  readonly settlement: Address;
  readonly registry: Address;
  /** The settlement's EIP-712 domain on the client's chain (what receipts are signed under). */
  domain(): Promise<SettlementDomain>;
  /** `verifyReceipt(header, receipt, proof)`: the batch's status when the receipt is proven in the stored header, else None. */
  receiptStatus(header: BatchHeader, receipt: Receipt, proof: readonly Hex[]): Promise<BatchStatus>;
  /** `batch(gateway, batchSeq)`; status None for an unknown batch. */
  batch(gateway: Address, batchSeq: bigint): Promise<OnChainBatch>;
  /** `nextSeqs(gateway)`: the next callSeq and batchSeq the chain expects. */
  nextSeqs(gateway: Address): Promise<{ nextCallSeq: bigint; nextBatchSeq: bigint }>;
  /**
   * Whether `gateway`'s account is closed (no batch settles for it again: `GatewayRegistry.accountClosed`),
   * whether its key is slashed, and the bond it still holds (what an orphan proof would take).
   */
  accountState(gateway: Address): Promise<{ closed: boolean; slashed: boolean; bond: bigint }>;
  /** The settled batch holding `callSeq` of `gateway`, rebuilt from its `BatchSubmitted` event (hint: its batchSeq). */
  settledBatchOf(gateway: Address, callSeq: bigint, batchSeqHint?: bigint): Promise<SettledBatch | undefined>;
  /** Signers of attestation `attestationId` (what `finalize` and `challengeEquivocation` take). */
  attesters(attestationId: number): Promise<Address[]>;
  /** Whether `gateway` was registered, approved (not expired), not deactivated or slashed, and on a non-revoked measurement at `servedAtMs`. */
  keyAt(gateway: Address, servedAtMs: bigint): Promise<KeyAt>;
  /** `GET {daBase}/receipts/:callSeq` of a gateway (or a sidecar's `/da`); undefined on 404. */
  fetchReceipt(daBase: string, callSeq: bigint): Promise<GatewayReceipt | undefined>;
  /** `GET daURI`: the batch's published leaves in callSeq order. */
  fetchBatchLeaves(daURI: string): Promise<BatchLeaf[]>;
  /** The inclusion proof of `callSeq` from the batch published at `header.daURI`, checked against `header.root`. */
  proofFromDa(header: BatchHeader, callSeq: bigint): Promise<{ proof: Hex[]; leaf: BatchLeaf; leaves: BatchLeaf[] }>;
}

export function createReadClient(cfg: ReadClientConfig): ReadClient {
  const { client } = cfg;
  const settlement = cfg.deployment.contracts.ProofSettlement;
  const registry = cfg.deployment.contracts.GatewayRegistry;
  const fromBlock = BigInt(cfg.deployment.startBlock ?? 0);
  const doFetch = cfg.fetch ?? globalThis.fetch;
  const maxDaBytes = cfg.maxDaBytes ?? 64 * 1024 * 1024;
  let domain: SettlementDomain | undefined;
  const blockTimes = new Map<bigint, bigint>();

  const blockTime = async (n: bigint): Promise<bigint> => {
    let t = blockTimes.get(n);
    if (t === undefined) {
      t = (await client.getBlock({ blockNumber: n })).timestamp;
      blockTimes.set(n, t);
    }
    return t;
  };

  const getJson = async (url: string, maxBytes: number): Promise<unknown | undefined> => {
    const res = await doFetch(url, { redirect: "error" });
    if (res.status === 404) return undefined;
    const text = await boundedText(res, maxBytes, url);
    if (!res.ok)
      throw new ReadClientError(`${url}: HTTP ${res.status} ${text.slice(0, 200)}`, {
        retryable: res.status === 429 || res.status >= 500,
      });
    try {
      return JSON.parse(text);
    } catch {
      throw new ReadClientError(`${url}: not JSON`);
    }
  };

  const rc: ReadClient = {
    settlement,
    registry,
    async domain() {
      domain ??= settlementDomain(await client.getChainId(), settlement);
      return domain;
    },

    async receiptStatus(header, receipt, proof) {
      const code = await client.readContract({
        address: settlement,
        abi: proofSettlementAbi,
        functionName: "verifyReceipt",
        args: [header, receipt, [...proof]],
      });
      return BATCH_STATUS_NAMES[Number(code)] ?? "None";
    },

    async batch(gateway, batchSeq) {
      const [status, since, windowEnd, attestationId, headerHashPrefix] = await client.readContract({
        address: settlement,
        abi: proofSettlementAbi,
        functionName: "batch",
        args: [gateway, batchSeq],
      });
      return {
        status: BATCH_STATUS_NAMES[Number(status)] ?? "None",
        since: BigInt(since),
        windowEnd: BigInt(windowEnd),
        attestationId: Number(attestationId),
        headerHashPrefix: headerHashPrefix as Hex,
      };
    },

    async nextSeqs(gateway) {
      const [c, b] = await client.readContract({
        address: settlement,
        abi: proofSettlementAbi,
        functionName: "nextSeqs",
        args: [gateway],
      });
      return { nextCallSeq: BigInt(c), nextBatchSeq: BigInt(b) };
    },

    async accountState(gateway) {
      const [closed, enclave] = await Promise.all([
        client.readContract({
          address: registry,
          abi: gatewayRegistryAbi,
          functionName: "accountClosed",
          args: [gateway],
        }),
        client.readContract({ address: registry, abi: gatewayRegistryAbi, functionName: "enclave", args: [gateway] }),
      ]);
      return { closed, slashed: enclave.slashed, bond: enclave.bond };
    },

    async settledBatchOf(gateway, callSeq, batchSeqHint) {
      const args = batchSeqHint === undefined ? { gateway } : { gateway, batchSeq: batchSeqHint };
      const logs = await client.getContractEvents({
        address: settlement,
        abi: proofSettlementAbi,
        eventName: "BatchSubmitted",
        args,
        fromBlock,
        toBlock: "latest",
      });
      for (const l of logs) {
        const a = l.args;
        const first = a.firstCallSeq!;
        if (callSeq < first || callSeq >= first + BigInt(a.count!)) continue;
        const header = batchHeaderSchema.parse({
          gateway: a.gateway,
          batchSeq: a.batchSeq,
          firstCallSeq: first,
          count: a.count,
          root: a.root,
          usage: a.usage,
          fee: a.fee,
          firstServedAt: a.firstServedAt,
          lastServedAt: a.lastServedAt,
          daURI: a.daURI,
        });
        const headerHash = hashHeader(header);
        if (headerHash !== (a.headerHash as Hex).toLowerCase())
          throw new ReadClientError(`BatchSubmitted of batch ${a.batchSeq} does not hash to its headerHash`);
        // The batch slot must still hold this header (a reorg may have replaced it).
        const onchain = await rc.batch(gateway, header.batchSeq);
        if (!headerHash.startsWith(onchain.headerHashPrefix.toLowerCase().slice(0, 42))) continue;
        return { header, headerHash, txHash: l.transactionHash, blockNumber: l.blockNumber };
      }
      return undefined;
    },

    async attesters(attestationId) {
      if (attestationId === 0) return [];
      const logs = await client.getContractEvents({
        address: settlement,
        abi: proofSettlementAbi,
        eventName: "Attestation",
        args: { attestationId },
        fromBlock,
        toBlock: "latest",
      });
      return [...(logs[0]?.args.signers ?? [])];
    },

    async keyAt(gateway, servedAtMs) {
      const e = await client.readContract({
        address: registry,
        abi: gatewayRegistryAbi,
        functionName: "enclave",
        args: [gateway],
      });
      const registered = e.operator !== "0x0000000000000000000000000000000000000000";
      const base: KeyAt = { ok: false, registered, slashedNow: e.slashed };
      if (!registered) return { ...base, reason: `${gateway} is not a registered enclave key of this deployment` };
      base.operator = e.operator;
      base.measurement = e.measurement;
      const served = servedAtMs / 1000n; // unix s, rounded down: a key approved in the same second counts
      const q = { address: registry, abi: gatewayRegistryAbi, fromBlock, toBlock: "latest" } as const;
      const [approved, deactivated, slashed, revoked] = await Promise.all([
        client.getContractEvents({ ...q, eventName: "EnclaveApproved", args: { key: gateway } }),
        client.getContractEvents({ ...q, eventName: "EnclaveDeactivated", args: { key: gateway } }),
        client.getContractEvents({ ...q, eventName: "BondSlashed", args: { key: gateway } }),
        client.getContractEvents({ ...q, eventName: "MeasurementRevoked", args: { measurement: e.measurement } }),
      ]);
      type Pos = { blockNumber: bigint; logIndex: number };
      const before = (a: Pos, b: Pos) =>
        a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex < b.logIndex);
      let approval: (typeof approved)[number] | undefined;
      for (const l of approved) {
        if ((await blockTime(l.blockNumber)) > served) continue;
        if (!approval || before(approval, l)) approval = l;
      }
      if (!approval)
        return { ...base, reason: `no approval of ${gateway} at or before the call was served (${servedAtMs} ms)` };
      const at = await blockTime(approval.blockNumber);
      base.approval = {
        blockNumber: approval.blockNumber,
        at,
        activeUntil: BigInt(approval.args.activeUntil!),
        approvalNonce: BigInt(approval.args.approvalNonce!),
      };
      const firstAfter = async (logs: Pos[]): Promise<bigint | undefined> => {
        for (const l of [...logs].sort((x, y) => (before(x, y) ? -1 : 1))) {
          if (!before(approval!, l)) continue;
          const t = await blockTime(l.blockNumber);
          if (t <= served) return t;
        }
        return undefined;
      };
      const deactivatedAt = await firstAfter(deactivated);
      const slashedAt = await firstAfter(slashed);
      let revokedAt: bigint | undefined;
      for (const l of revoked) {
        const t = await blockTime(l.blockNumber);
        if (t <= served && (revokedAt === undefined || t < revokedAt)) revokedAt = t;
      }
      if (deactivatedAt !== undefined) base.deactivatedAt = deactivatedAt;
      if (slashedAt !== undefined) base.slashedAt = slashedAt;
      if (revokedAt !== undefined) base.revokedAt = revokedAt;
      if (servedAtMs > base.approval.activeUntil * 1000n)
        return {
          ...base,
          reason: `the approval of ${gateway} expired at ${base.approval.activeUntil} (unix s), before the call was served`,
        };
      if (slashedAt !== undefined)
        return { ...base, reason: `${gateway} was slashed at ${slashedAt} (unix s), before the call was served` };
      if (deactivatedAt !== undefined)
        return {
          ...base,
          reason: `${gateway} was deactivated at ${deactivatedAt} (unix s), before the call was served`,
        };
      if (revokedAt !== undefined)
        return {
          ...base,
          reason: `measurement ${e.measurement} was revoked at ${revokedAt} (unix s), before the call was served`,
        };
      return { ...base, ok: true };
    },

    async fetchReceipt(daBase, callSeq) {
      const url = `${daBase.replace(/\/+$/, "")}/receipts/${callSeq}`;
      const raw = await getJson(url, 64 * 1024);
      if (raw === undefined) return undefined;
      const parsed = gatewayReceiptSchema.safeParse(raw);
      if (!parsed.success) throw new ReadClientError(`${url}: ${firstIssue(parsed.error)}`);
      const v = parsed.data;
      if (v.receipt.kind === "void")
        throw new ReadClientError(`${url}: callSeq ${callSeq} is void (allocated, never served)`);
      let receipt: Receipt;
      try {
        receipt = pickReceipt(v.receipt);
      } catch (err) {
        throw new ReadClientError(`${url}: ${err instanceof z.ZodError ? firstIssue(err) : (err as Error).message}`);
      }
      return {
        receipt,
        status: v.status ?? "unknown",
        ...(v.receiptSignature ? { receiptSignature: v.receiptSignature as Hex } : {}),
        ...(v.batchSeq !== undefined ? { batchSeq: v.batchSeq } : {}),
        ...(v.header ? { header: v.header } : {}),
        ...(v.proof ? { proof: v.proof } : {}),
      };
    },

    async fetchBatchLeaves(daURI) {
      return parseBatchLeaves(daURI, await getJson(daURI, maxDaBytes));
    },

    async proofFromDa(header, callSeq) {
      const leaves = await rc.fetchBatchLeaves(header.daURI);
      if (leaves.length !== header.count)
        throw new ReadClientError(`${header.daURI}: ${leaves.length} leaves for a header of count ${header.count}`);
      const tree = buildTree(leaves.map(leafOfBatchLeaf));
      if (tree.root !== header.root.toLowerCase())
        throw new ReadClientError(`${header.daURI}: the published leaves do not rebuild the settled root`);
      const misplaced = leafPositionError(leaves, header);
      if (misplaced) throw new ReadClientError(`${header.daURI}: ${misplaced}`);
      const index = Number(callSeq - header.firstCallSeq);
      if (index < 0 || index >= header.count)
        throw new ReadClientError(`callSeq ${callSeq} is outside batch ${header.batchSeq}`);
      return { proof: tree.proof(index), leaf: leaves[index]!, leaves };
    },
  };
  return rc;
}
