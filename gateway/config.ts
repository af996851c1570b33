/**
 * The hook's configuration, parsed by zod through sdk/config.ts. Every issue is reported at once in
 * one {@link GatewayConfigError}, each named as the operator set it (`batch.maxCalls`, or
 * `PROOFPATH_GATEWAY_BATCH_MAX_CALLS` when it came from the environment), so a misconfigured
 * gateway fails at start.
 */
import { z } from "zod";
import { getAddress, isAddress, isHex, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Logger } from "pino";
import {
  ConfigError,
  defineConfigRole,
  parseConfig,
  type ConfigIssue,
  type ConfigNames,
  type ReportIssue,
} from "../sdk/config.js";
import { readDeployment, type Deployment } from "../sdk/deployment.js";
import { GatewayConfigError } from "./errors.js";

const privateKey = z
  .string()
  .refine((s) => isHex(s) && s.length === 66, { error: "expected a 0x-prefixed 32-byte hex private key" })
  .meta({ type: "private key (0x + 64 hex)" });
const localAccount = z.custom<LocalAccount>(
  (v) =>
    typeof v === "object" &&
    v !== null &&
    (v as LocalAccount).type === "local" &&
    typeof (v as LocalAccount).sign === "function",
  { error: "expected a hex private key or a viem LocalAccount" },
);
const account = z.union([privateKey, localAccount], { error: "expected a hex private key or a viem LocalAccount" });
const address = z
  .string()
  .refine((s) => isAddress(s, { strict: false }), { error: "expected a 0x-prefixed 20-byte address" })
  .meta({ type: "address" });
const url = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
/** An OPG amount in wei: a bigint or a decimal string (JSON configs cannot hold bigints). */
/** A gas price in wei per gas (the native currency's, not OPG). */
const gasWei = z
  .union([z.bigint().positive(), z.string().regex(/^[1-9]\d*$/)], {
    error: "expected wei per gas as a positive bigint or decimal string",
  })
  .transform((v) => BigInt(v))
  .meta({ type: "integer (wei per gas)" });

const opgWei = z
  .union([z.bigint().nonnegative(), z.string().regex(/^\d+$/)], {
    error: "expected OPG wei as a bigint or a decimal string",
  })
  .transform((v) => BigInt(v))
  .meta({ type: "integer (OPG wei)" });

export const hookConfigSchema = z
  .object({
    store: z
      .string({ error: "expected a file path" })
      .min(1, { error: "expected a file path" })
      .refine((f) => f !== ":memory:", {
        error: "expected a file path: receipts must survive a crash (and the commit worker opens the file too)",
      })
      .describe("SQLite file of receipts and batches (created with its folder)."),
    hostStore: z
      .object({
        endpoint: z
          .string()
          .regex(/^(unix:|tcp:|\/)/, { error: "expected unix:<path>, a socket path, or tcp:<host>:<port>" })
          .describe(
            "Host store endpoint on the parent instance: unix:<path> (in production a Unix socket forwarded to vsock) or tcp:<host>:<port>.",
          ),
        timeoutMs: z
          .number()
          .int()
          .min(100)
          .default(30_000)
          .describe("How long record() waits for the host to acknowledge a reservation a burst needs at once."),
        compactEvery: z
          .number()
          .int()
          .min(0)
          .default(10_000)
          .describe(
            "Every this many frames, append a checkpoint (everything from the first batch not confirmed on-chain, or sealed less than compactKeepMs ago) and ask the host to drop the frames before it, so a start replays only that; 0: never.",
          ),
        compactKeepMs: z
          .number()
          .int()
          .min(0)
          .default(86_400_000)
          .describe(
            "Batches sealed less than this long ago stay in the log even when settled: after a restart the hook still serves them (validators fetch a batch at its daURI to attest it; keep it above the attestation deadline and challenge window).",
          ),
      })
      .strict()
      .optional()
      .describe(
        "Keep the durable store on the (untrusted) parent instance (proofpath host-store): group commits are signed frames acknowledged after the host's fsync; `store` is then a cache in enclave memory, rebuilt from the host at start. Needs enclaveKey as hex.",
      ),
    enclaveKey: account.describe("The enclave signing key: signs headers and receipts; its address is the gateway."),
    relayerKey: account
      .optional()
      .describe("Key that pays for and sends submitBatch (anyone may relay); default the enclave key."),
    rpcUrl: url.optional().describe("JSON-RPC endpoint (or rpcUrls)."),
    rpcUrls: z
      .array(url)
      .min(1, { error: "expected at least one RPC URL" })
      .optional()
      .describe("Several JSON-RPC endpoints, tried in order after rpcUrl (viem fallback)."),
    settlement: address.optional().describe("ProofSettlement address; or give deployment instead."),
    deployment: z.string().min(1).optional().describe("Deployment file (npm run deploy), instead of settlement."),
    startBlock: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "The deployment's first block: key succession events (EnclaveSucceeded) are read from here; default the deployment's start block, else 0.",
      ),
    chainId: z.number().int().min(1).optional().describe("Chain id; default the deployment's, else asked of the RPC."),
    daBaseUrl: url.describe(
      "Public base URL of this gateway's receipts endpoint; each header's daURI is <daBaseUrl>/batches/<batchSeq>.",
    ),
    batch: z
      .object({
        maxCalls: z.number().int().min(1).max(65_535).default(1024).describe("A batch is sealed at this many calls."),
        maxAgeMs: z.number().int().min(1).default(5_000).describe("A batch is sealed when its first call is this old."),
      })
      .strict()
      .prefault({}),
    confirmations: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(2)
      .describe("Blocks on top of the including block before a batch counts as confirmed."),
    reserveSize: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(4_096)
      .describe("callSeqs reserved per durable range reservation (the most a crash can void)."),
    commitIntervalMs: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .default(5)
      .describe(
        "Least time between two group commits: fewer, larger fsyncs keep disk interrupts off the event loop; durable resolves up to this much later. 0 commits back to back.",
      ),
    synchronous: z
      .enum(["full", "normal"])
      .default("full")
      .describe('SQLite synchronous: "full" survives power loss, "normal" survives process crashes.'),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe("Batch transactions in flight at once (consecutive nonces)."),
    bumpAfterMs: z
      .number()
      .int()
      .min(100)
      .default(20_000)
      .describe("A transaction not mined after this long is replaced with fees raised by ≥ 12.5%."),
    maxFeePerGas: gasWei
      .optional()
      .describe(
        "Highest maxFeePerGas the relayer signs: above it the submitter stops bumping and reports FeeCapExceededError until fees fall.",
      ),
    maxPriorityFeePerGas: gasWei
      .default(10_000_000_000n)
      .describe(
        "Highest priority fee (tip) the relayer signs, in wei per gas: an RPC's suggestion above it is clipped, a replacement that needs more stops with FeeCapExceededError. Default 10 gwei.",
      ),
    pollMs: z.number().int().min(10).default(1_000).describe("How often the submitter polls the chain."),
    rateRefreshMs: z.number().int().min(100).default(60_000).describe("How often the on-chain fee rate is re-read."),
    retry: z
      .object({
        baseMs: z.number().int().min(1).default(250).describe("First backoff of a failing RPC call."),
        maxMs: z.number().int().min(1).default(15_000).describe("Longest backoff of a failing RPC call."),
      })
      .strict()
      .prefault({}),
    gasLimit: z
      .bigint()
      .positive()
      .optional()
      .describe("Gas limit of submitBatch; default 400k + 30k per usage entry."),
    // The hook refuses to sign a header whose fee is above a cap: the batch stays sealed and
    // unsigned until the on-chain rate comes down or the cap is raised.
    maxFeePerCall: opgWei
      .optional()
      .describe("Refuse to sign a batch whose fee is above this × its served calls (OPG wei; void leaves are free)."),
    maxFeePerBatch: opgWei.optional().describe("Refuse to sign a batch whose fee is above this (OPG wei)."),
    warnBatchesLeft: z
      .number()
      .int()
      .min(0)
      .default(100)
      .describe("/health warns when the OPG deposit covers fewer than this many batches (at the last fee per batch)."),
    warnActiveUntilSec: z
      .number()
      .int()
      .min(0)
      .default(86_400)
      .describe("/health warns when the enclave key's activeUntil is less than this far away (seconds)."),
    logger: z
      .custom<Logger>((v) => typeof v === "object" && v !== null && typeof (v as Logger).info === "function", {
        error: "expected a pino logger",
      })
      .optional()
      .describe("pino logger (programmatic use only)."),
    predecessors: z
      .array(z.object({ account: address.transform((a) => getAddress(a)), store: z.string().min(1) }).strict())
      .default([])
      .describe(
        "Key succession: retired keys this key succeeds (GatewayRegistry.succeed), each { account, store } with its durable store; before serving under its own key the hook settles each account to its end, in order, signing as this key.",
      ),
    submit: z
      .boolean()
      .default(true)
      .describe("Start the submitter (false: record, seal and sign only, e.g. for benchmarks)."),
  })
  .strict();

/** The rules across hook fields; resolves the deployment file (every role that runs a hook shares them). */
export function checkHookConfig(
  c: { deployment?: string | undefined },
  report: ReportIssue,
  raw: Record<string, unknown>,
): { deployment: Deployment | undefined } {
  if (raw.rpcUrl === undefined && raw.rpcUrls === undefined)
    report(["rpcUrl"], "give an RPC URL (rpcUrl) or several (rpcUrls)");
  if (raw.hostStore !== undefined && typeof raw.enclaveKey !== "string")
    report(["enclaveKey"], "a host store signs its log with the enclave key: give it as a hex private key");
  if (raw.settlement === undefined && raw.deployment === undefined)
    report(["settlement"], "give the ProofSettlement address or a deployment file");
  let deployment: Deployment | undefined;
  if (raw.settlement === undefined && c.deployment) {
    try {
      deployment = readDeployment(c.deployment);
    } catch (e) {
      report(["deployment"], (e as Error).message);
    }
  }
  return { deployment };
}

/** The hook as a library takes (`createSettlementHook`): keys may be viem accounts, a logger may be given. */
const hookRole = defineConfigRole({
  role: "gateway",
  title: "gateway hook",
  usage: "createSettlementHook(config)",
  about: "The settlement hook inside a TEE gateway.",
  schema: hookConfigSchema,
  check: checkHookConfig,
});

export type HookConfigInput = z.input<typeof hookConfigSchema>;

/** The parsed config with keys turned into accounts and the settlement address resolved. */
export type HookConfig = Omit<
  z.output<typeof hookConfigSchema>,
  "enclaveKey" | "relayerKey" | "settlement" | "rpcUrl" | "rpcUrls"
> & {
  /** Every RPC URL, in failover order (`rpcUrl` first, then `rpcUrls`). */
  rpcUrls: string[];
  enclave: LocalAccount;
  /** The enclave key when it was given as hex: the seal worker then signs headers off the event loop. */
  enclavePrivateKey?: Hex;
  relayer: LocalAccount;
  settlement: Address;
  /** Where the deployment's events start (`startBlock`, else the deployment file's, else 0). */
  startBlock: number;
};

function toAccount(v: Hex | LocalAccount): LocalAccount {
  return typeof v === "string" ? privateKeyToAccount(v as Hex) : v;
}

export interface HookParseOptions {
  /** What the operator called a field when not by its file key (sdk/config.ts `loadConfig`). */
  names?: ConfigNames | undefined;
  /** Problems already found while loading, reported with the rest. */
  issues?: readonly ConfigIssue[] | undefined;
}

/** Parses `input`; throws one {@link GatewayConfigError} listing every bad field, by the operator's names. */
export function parseHookConfig(input: unknown, opts: HookParseOptions = {}): HookConfig {
  let parsed: ReturnType<typeof parseConfig<typeof hookConfigSchema, { deployment: Deployment | undefined }>>;
  try {
    parsed = parseConfig(hookRole, input, opts);
  } catch (e) {
    if (e instanceof ConfigError) throw new GatewayConfigError({ issues: e.issues });
    throw e;
  }
  const { enclaveKey, relayerKey, settlement, rpcUrl, rpcUrls, ...rest } = parsed.config;
  const d = parsed.checked?.deployment;
  const urls = [...new Set([...(rpcUrl ? [rpcUrl] : []), ...(rpcUrls ?? [])])];
  const chainId = rest.chainId ?? d?.chainId;
  const enclave = toAccount(enclaveKey as Hex | LocalAccount);
  return {
    ...rest,
    rpcUrls: urls,
    ...(chainId === undefined ? {} : { chainId }),
    enclave,
    ...(typeof enclaveKey === "string" ? { enclavePrivateKey: enclaveKey as Hex } : {}),
    relayer: relayerKey ? toAccount(relayerKey as Hex | LocalAccount) : enclave,
    settlement: getAddress((settlement ?? d?.contracts.ProofSettlement)!),
    startBlock: rest.startBlock ?? d?.startBlock ?? 0,
  };
}

const logLevel = z
  .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
  .default("info")
  .describe("pino log level.");

/**
 * The attestation heartbeat a gateway process runs next to its hook (gateway/attest/heartbeat.ts):
 * before the enclave key's activeUntil comes near, fetch a fresh document from nitriding, re-attest
 * on-chain with the operator's key and gather a validator quorum's approvals.
 */
export const heartbeatConfigSchema = z
  .object({
    operatorKey: privateKey.describe("The enclave key's operator: sends reattest and approveEnclave."),
    attestationUrl: url.describe(
      "nitriding's base URL inside the enclave (GET <attestationUrl>/enclave/attestation?nonce=…).",
    ),
    validators: z
      .array(url)
      .min(1, { error: "expected at least one validator URL" })
      .describe("Validators' HTTP base URLs, asked for approvals (POST /approvals)."),
    quorum: z.number().int().min(1).describe("Approvals to gather (the ValidatorSet's quorum)."),
    marginSec: z
      .number()
      .int()
      .min(1)
      .default(3_600)
      .describe("Re-attest once activeUntil is less than this many seconds away (chain time)."),
    checkEveryMs: z.number().int().min(100).default(60_000).describe("How often activeUntil is read."),
    retryMs: z.number().int().min(100).default(30_000).describe("Wait after a failed round."),
  })
  .strict();

/** What a gateway process (`proofpath gateway-sidecar`) reads: the hook's fields and its HTTP listener. */
export const gatewayConfigSchema = hookConfigSchema
  .omit({ logger: true })
  .extend({
    host: z
      .string()
      .min(1)
      .default("127.0.0.1")
      .describe("Address to bind: keep it loopback (POST /record takes calls on the enclave's behalf)."),
    port: z.number().int().min(0).max(65_535).default(8787).describe("Port (0: any free port)."),
    daPort: z
      .number()
      .int()
      .min(1)
      .max(65_535)
      .optional()
      .describe(
        "Serve the DA endpoints (/receipts, /batches, …) on this port, from a worker thread or daProcess, instead of under /da on port: hostile DA traffic then never takes a turn of the event loop POST /record runs on. Point daBaseUrl at it.",
      ),
    daProcess: z
      .boolean()
      .optional()
      .describe(
        "With daPort: serve the DA endpoints from a child process instead of a worker thread (same routes and limits; its own CPU, heap and GC; it holds no key, receipts are signed here, and it exits with this process). Default false.",
      ),
    daCpus: z
      .string()
      .regex(/^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/)
      .optional()
      .describe(
        'With daProcess: the CPUs the DA process may run on, as taskset -c takes them (e.g. "1"; Linux, util-linux taskset), so hostile DA traffic is served on a core of its own and the fast path keeps the others.',
      ),
    logLevel,
    heartbeat: heartbeatConfigSchema
      .optional()
      .describe("When set: run the attestation heartbeat next to the hook (re-attest before activeUntil)."),
  })
  .strict();

/** The gateway role: `PROOFPATH_GATEWAY_*` variables and a `--config` file (sdk/config.ts). */
export const gatewayConfigRole = defineConfigRole({
  role: "gateway",
  title: "gateway",
  usage: "proofpath gateway-sidecar [--config <hook.json>] [--port <n>] [--host <addr>]",
  about:
    "The settlement hook as a local HTTP service (POST /record, GET /status, /da/…), for a gateway written in any language; the hook's fields are those of createSettlementHook.",
  schema: gatewayConfigSchema,
  check: checkHookConfig,
});
