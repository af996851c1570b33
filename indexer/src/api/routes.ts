/**
 * Every REST route's contract in one table: its path, the zod schema its parameters are parsed
 * with, and the zod schema of its answer. index.ts registers the handlers from this table and
 * openapi.ts turns the same table into the OpenAPI document, so the document cannot drift from what
 * the routes validate. No Ponder import here: the typed client (sdk/indexerClient.ts) and the unit
 * tests read it without a running indexer.
 */
import { z } from "zod";
import * as p from "./params.js";

// ------------------------------------------------------------------ parameters

export const callParams = p.params({ gateway: p.address, callSeq: p.uint64, chainId: p.chainId.optional() });
export const requestParams = p.params({
  requestHash: p.bytes32,
  gateway: p.address.optional(),
  chainId: p.chainId.optional(),
});
export const batchListParams = p.params({
  gateway: p.address.optional(),
  status: p.batchStatus.optional(),
  from: p.time.optional(),
  to: p.time.optional(),
  cursor: p.batchCursor.optional(),
  limit: p.limit.optional(),
  chainId: p.chainId.optional(),
});
export const batchParams = p.params({ id: p.batchId, chainId: p.chainId.optional() });
export const gatewayStatus = z.enum(["registered", "active", "expired", "deactivated", "slashed", "unregistered"], {
  error: "unknown gateway status",
});
export const gatewayListParams = p.params({
  status: gatewayStatus.optional(),
  cursor: p.address.optional(),
  limit: p.limit.optional(),
  chainId: p.chainId.optional(),
});
export const gatewayParams = p.params({ address: p.address, chainId: p.chainId.optional() });
export const validatorListParams = p.params({
  status: p.validatorStatus.optional(),
  cursor: p.address.optional(),
  limit: p.limit.optional(),
  chainId: p.chainId.optional(),
});
export const validatorParams = p.params({ address: p.address, chainId: p.chainId.optional() });
export const gatewayUsageParams = p.params({
  address: p.address,
  from: p.time.optional(),
  to: p.time.optional(),
  granularity: p.granularity.optional(),
  chainId: p.chainId.optional(),
});
export const modelUsageParams = p.params({
  from: p.time.optional(),
  to: p.time.optional(),
  granularity: p.granularity.optional(),
  chainId: p.chainId.optional(),
});
export const activityParams = modelUsageParams;
/** Routes with nothing to choose but the chain. */
export const chainParams = p.params({ chainId: p.chainId.optional() });

// ------------------------------------------------------------------ answers (bigints as decimal strings)

const dec = z
  .string()
  .regex(/^-?[0-9]+$/)
  .describe("integer as a decimal string (a uint256/int256 may exceed 2^53)");
const hex = z.string().regex(/^0x[0-9a-fA-F]*$/);
const addr = z
  .string()
  .regex(/^0x[0-9a-f]{40}$/)
  .describe("lowercase address");
const nullable = <T extends z.ZodType>(t: T) => t.nullable();
/** Every answer (and every row in it) names the chain it comes from. */
const chain = z.number().int().describe("the chain id the answer's rows were indexed from");

export const errorAnswer = z.object({
  error: z.enum(["invalid_parameter", "not_found", "internal_error"]),
  field: z.string().optional(),
  reason: z.string().optional(),
});

export const callAnswer = z.object({
  chainId: chain,
  gateway: addr,
  callSeq: dec,
  status: z.enum(["pending", "submitted", "attested", "finalized", "rejected"]),
  final: z.boolean().describe("true only once the batch is finalized"),
  batch: z
    .object({
      id: z.string(),
      batchSeq: dec,
      firstCallSeq: dec,
      count: z.number().int(),
      root: hex,
      headerHash: hex,
      daURI: z.string(),
      attestationId: nullable(dec),
    })
    .nullable(),
  index: dec.optional().describe("the call's leaf index in its batch"),
  txs: z.object({ submit: hex, attest: nullable(hex), finalize: nullable(hex), reject: nullable(hex) }).optional(),
  times: z
    .object({
      submittedAt: dec,
      attestedAt: nullable(dec),
      windowEnd: nullable(dec),
      finalizedAt: nullable(dec),
      rejectedAt: nullable(dec),
    })
    .optional()
    .describe("unix seconds"),
  proofLatencyMs: nullable(dec).optional(),
});

export const requestAnswer = z.object({
  chainId: chain,
  requestHash: hex,
  items: z
    .array(
      z.object({
        chainId: chain,
        gateway: addr,
        callSeq: dec,
        status: p.batchStatus,
        final: z.boolean().describe("true only once the batch is finalized"),
        batchId: z.string(),
        index: dec.describe("the call's leaf index in its batch"),
        modelId: hex,
        responseHash: hex,
        inputTokens: z.number().int(),
        outputTokens: z.number().int(),
        servedAt: dec.describe("unix ms, from the enclave-signed receipt"),
        submittedAt: dec.describe("unix s"),
        attestedAt: nullable(dec).describe("unix s"),
        windowEnd: nullable(dec).describe("unix s"),
        finalizedAt: nullable(dec).describe("unix s"),
        servedToAttestedMs: nullable(dec).describe("attested (block time) − served; null until attested"),
        servedToFinalMs: nullable(dec).describe("finalized (block time) − served; null until finalized"),
        txs: z.object({ submit: hex, attest: nullable(hex), finalize: nullable(hex), reject: nullable(hex) }),
        daURI: z.string(),
      }),
    )
    .describe(
      "settled calls with this request hash (normally one), newest first: one per gateway (its newest; up to 10 gateways), or with `gateway` up to 10 of that gateway's; empty until its batch is settled and indexed",
    ),
});

const chainAnswer = z.object({
  chain: z.object({ id: z.number().int(), name: z.string() }),
  rpcUrl: z.string().describe("the JSON-RPC URL browsers use to check receipts against the chain"),
  explorerUrl: z.string().nullable().describe("block explorer base: `${explorerUrl}/tx/${hash}`, `/address/${a}`"),
  contracts: z.object({ ProofSettlement: hex, GatewayRegistry: hex, ValidatorSet: hex, OPGToken: hex }),
  startBlock: z.number().int(),
});

export const configAnswer = z.object({
  chainId: chain,
  ...chainAnswer.shape,
  chains: z
    .array(chainAnswer)
    .describe("every chain this indexer follows, the default (answered when a route is given no chainId) first"),
  models: z
    .record(z.string(), z.string())
    .describe("modelId → name, for the names the indexer was given (each checked by hash)"),
});

export const batchAnswer = z.object({
  chainId: chain,
  id: z.string().describe("<gateway>:<batchSeq> (unique on its chain)"),
  gateway: addr,
  batchSeq: dec,
  firstCallSeq: dec,
  count: z.number().int(),
  root: hex,
  fee: dec,
  headerHash: hex,
  usage: z.array(z.object({ modelId: hex, calls: z.number().int(), inputTokens: dec, outputTokens: dec, fee: dec })),
  calls: z.number().int(),
  inputTokens: dec,
  outputTokens: dec,
  firstServedAt: dec.describe("unix ms"),
  lastServedAt: dec.describe("unix ms"),
  daURI: z.string(),
  status: p.batchStatus,
  final: z.boolean(),
  submitTx: hex,
  submitBlock: dec,
  submittedAt: dec,
  attestTx: nullable(hex),
  attestedAt: nullable(dec),
  attestationId: nullable(dec),
  verdictDigest: nullable(hex),
  windowEnd: nullable(dec),
  finalizeTx: nullable(hex),
  finalizedAt: nullable(dec),
  rejectTx: nullable(hex),
  rejectedAt: nullable(dec),
  equivocation: nullable(z.boolean()),
  challenger: nullable(hex),
  refund: nullable(dec),
  proofLatencyMs: nullable(dec),
  finalityLatencyMs: nullable(dec),
  receiptsIndexed: z.boolean().describe("its calls can be looked up by request hash"),
});

export const gatewayAnswer = z.object({
  chainId: chain,
  address: addr,
  operator: nullable(hex),
  measurement: nullable(hex),
  attestationHash: nullable(hex),
  keyConfigHash: nullable(hex),
  bond: dec,
  status: gatewayStatus,
  activeUntil: dec,
  approvalNonce: dec,
  registeredAt: nullable(dec),
  balance: dec,
  pendingWithdrawal: dec,
  totalDeposited: dec,
  nextBatchSeq: dec,
  nextCallSeq: dec,
  batches: z.number().int(),
  calls: dec,
  inputTokens: dec,
  outputTokens: dec,
  fees: dec,
  rejectedBatches: z.number().int(),
  slashed: dec,
  banned: z.boolean(),
  bondPenalties: z.number().int(),
  bondPenalized: dec,
  successor: nullable(addr).describe("retired key: the key that signs its account's batches now (EnclaveSucceeded)"),
  retiredAt: nullable(dec).describe("when it was retired in favour of `successor` (unix s)"),
  predecessor: nullable(addr).describe("successor key: the retired key whose account it signs for"),
  closedAt: nullable(dec).describe(
    "when its account was closed (AccountClosed, unix s): no batch settles for it again",
  ),
  accountEnd: nullable(dec).describe(
    "the closed account's end (nextCallSeq): a receipt its key signed at or above it proves against its bond (challengeOrphanedReceipt)",
  ),
  orphansProven: z.number().int().describe("orphaned receipts proven against this key (OrphanedReceiptProven)"),
});

export const validatorAnswer = z.object({
  chainId: chain,
  address: addr,
  status: p.validatorStatus,
  stake: dec,
  admittedAt: nullable(dec),
  joinedAt: nullable(dec),
  exitingAt: nullable(dec),
  unlockAt: nullable(dec),
  withdrawnAt: nullable(dec),
  attestations: z.number().int(),
  rewardsEarned: dec,
  rewardsClaimed: dec,
  rewardsOwed: dec,
  slashes: z.number().int(),
  slashedAmount: dec,
  banned: z.boolean(),
  bannedAt: nullable(dec),
});

const usageColumns = { calls: dec, inputTokens: dec, outputTokens: dec, fees: dec, batches: z.number().int() };
const usageSums = { calls: dec, inputTokens: dec, outputTokens: dec, fees: dec, batches: dec };
const windowed = { chainId: chain, granularity: p.granularity, from: dec, to: nullable(dec) };

export const gatewayUsageAnswer = z.object({
  gateway: addr,
  ...windowed,
  buckets: z.array(z.object({ bucket: dec, ...usageColumns })),
  models: z.array(z.object({ bucket: dec, modelId: hex, ...usageColumns })),
});
export const modelUsageAnswer = z.object({
  ...windowed,
  items: z.array(z.object({ bucket: dec, modelId: hex, ...usageSums })),
});

export const networkActivityAnswer = z.object({
  ...windowed,
  items: z.array(
    z.object({
      bucket: dec,
      ...usageColumns,
      attested: z.number().int(),
      finalized: z.number().int(),
      rejected: z.number().int(),
      feesDistributed: dec,
      burned: dec,
      toValidators: dec,
      toTreasury: dec,
      latencySumMs: dec,
      latencyCount: z.number().int(),
    }),
  ),
});

const page = <T extends z.ZodType>(item: T) => ({
  chainId: chain,
  items: z.array(item),
  nextCursor: z.string().nullable().describe("pass as `cursor` for the next page"),
});
export const batchPage = z.object(page(batchAnswer));
export const gatewayPage = z.object(page(gatewayAnswer));
export const validatorPage = z.object({
  ...page(validatorAnswer),
  quorum: z.object({ configured: dec, effective: dec, active: dec }),
  activeStake: dec,
  minStake: dec,
  exitDelay: dec,
});

export const networkStatsAnswer = z.object({
  chainId: chain,
  gateways: z.number().int(),
  batchesSubmitted: z.number().int(),
  batchesAttested: z.number().int(),
  batchesFinalized: z.number().int(),
  batchesRejected: z.number().int(),
  callsSettled: dec,
  inputTokens: dec,
  outputTokens: dec,
  feesSubmitted: dec,
  feesPaid: dec,
  toValidators: dec,
  toTreasury: dec,
  burned: dec,
  refunded: dec,
  rewardsClaimed: dec,
  slashed: dec,
  bondPenalized: dec,
  stakeSlashed: dec,
  deposits: dec,
  latencySumMs: dec,
  latencyCount: z.number().int(),
  activeGateways: z.number().int(),
  activeValidators: z.number().int(),
  validatorStake: dec,
  challengeWindow: nullable(dec),
  batchesByStatus: z.object({
    submitted: z.number().int(),
    attested: z.number().int(),
    finalized: z.number().int(),
    rejected: z.number().int(),
  }),
  proofLatency: z.object({
    avgMs: z.number().nullable(),
    p50Ms: z.number().nullable(),
    p95Ms: z.number().nullable(),
    samples: z.number().int(),
  }),
});

// ------------------------------------------------------------------ the table

export interface RouteSpec {
  /** OpenAPI path template, `{name}` for a path parameter. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  params: p.Params<z.ZodRawShape>;
  answer: z.ZodType;
  /** Answers 404 with `errorAnswer` when the thing named in the path does not exist. */
  notFound?: boolean;
}

const route = <S extends z.ZodRawShape, A extends z.ZodType>(
  r: Omit<RouteSpec, "params" | "answer"> & { params: p.Params<S>; answer: A },
) => r;

/** The REST API, in the order the document lists it. */
export const routes = {
  getCall: route({
    path: "/calls/{gateway}/{callSeq}",
    operationId: "getCall",
    summary: "Proof status of one call",
    tag: "calls",
    params: callParams,
    answer: callAnswer,
  }),
  getCallsByRequest: route({
    path: "/requests/{requestHash}",
    operationId: "getCallsByRequest",
    summary: "Calls by request hash, with per-call latencies served → attested and served → final",
    tag: "calls",
    params: requestParams,
    answer: requestAnswer,
  }),
  listBatches: route({
    path: "/batches",
    operationId: "listBatches",
    summary: "Batches, newest first (keyset pages)",
    tag: "batches",
    params: batchListParams,
    answer: batchPage,
  }),
  getBatch: route({
    path: "/batches/{id}",
    operationId: "getBatch",
    summary: "One batch by <gateway>:<batchSeq>",
    tag: "batches",
    params: batchParams,
    answer: batchAnswer,
    notFound: true,
  }),
  listGateways: route({
    path: "/gateways",
    operationId: "listGateways",
    summary: "Gateway (enclave) keys by address",
    tag: "gateways",
    params: gatewayListParams,
    answer: gatewayPage,
  }),
  getGateway: route({
    path: "/gateways/{address}",
    operationId: "getGateway",
    summary: "One gateway key",
    tag: "gateways",
    params: gatewayParams,
    answer: gatewayAnswer,
    notFound: true,
  }),
  getGatewayUsage: route({
    path: "/gateways/{address}/usage",
    operationId: "getGatewayUsage",
    summary: "One gateway's usage per hour or day",
    tag: "gateways",
    params: gatewayUsageParams,
    answer: gatewayUsageAnswer,
  }),
  getModelUsage: route({
    path: "/models/usage",
    operationId: "getModelUsage",
    summary: "Usage per model per hour or day",
    tag: "models",
    params: modelUsageParams,
    answer: modelUsageAnswer,
  }),
  listValidators: route({
    path: "/validators",
    operationId: "listValidators",
    summary: "Validators with stake, rewards and the quorum",
    tag: "validators",
    params: validatorListParams,
    answer: validatorPage,
  }),
  getValidator: route({
    path: "/validators/{address}",
    operationId: "getValidator",
    summary: "One validator",
    tag: "validators",
    params: validatorParams,
    answer: validatorAnswer,
    notFound: true,
  }),
  getNetworkStats: route({
    path: "/network/stats",
    operationId: "getNetworkStats",
    summary: "Network totals and proof latency",
    tag: "network",
    params: chainParams,
    answer: networkStatsAnswer,
  }),
  getNetworkActivity: route({
    path: "/network/activity",
    operationId: "getNetworkActivity",
    summary: "Network rollups per hour or day",
    tag: "network",
    params: activityParams,
    answer: networkActivityAnswer,
  }),
  getConfig: route({
    path: "/config",
    operationId: "getConfig",
    summary: "The chain, contracts, explorer and model names the dashboard shows",
    tag: "meta",
    params: chainParams,
    answer: configAnswer,
  }),
} as const;

export type Routes = typeof routes;
/** What a route answers with (200). */
export type Answer<K extends keyof Routes> = z.output<Routes[K]["answer"]>;

/** `/calls/{gateway}/{callSeq}` → `/calls/:gateway/:callSeq` (Hono's syntax). */
export function honoPath(openapiPath: string): string {
  return openapiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
}
