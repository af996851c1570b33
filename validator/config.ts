/**
 * The validator's configuration, parsed by zod. A misconfigured validator fails at start, never
 * mid-batch, with one {@link ValidatorConfigError} listing every problem at once: each bad value,
 * each unknown key (a typo would otherwise silently leave the default in force), each cross-field
 * rule and unreadable file, named as the operator set it: the environment variable main.ts read it
 * from (`PORT`, `PEERS[1]`) or its JSON path (`port`, `peers.1`).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import { readDeployment } from "../sdk/deployment.js";
import { trustedRootDer, trustedRootFromFile } from "./attestation/index.js";
import { ValidatorConfigError, type ConfigIssue } from "./errors.js";

const privateKey = z
  .string({ error: "expected a 0x-prefixed 32-byte hex private key" })
  .refine((s) => isHex(s) && s.length === 66, { error: "expected a 0x-prefixed 32-byte hex private key" });
const address = z
  .string({ error: "expected an address" })
  .refine((s) => isAddress(s, { strict: false }), { error: "expected a 0x-prefixed 20-byte address" });
const url = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const ms = (def: number, min = 1) =>
  z.number({ error: "expected a number of milliseconds" }).int().min(min).default(def);

export const validatorConfigSchema = z
  .object({
    /** The validator's key: signs verdicts and sends its transactions (it needs gas). */
    privateKey,
    /** JSON-RPC endpoint; or `rpcUrls` (tried in order, failing over with viem `fallback`). */
    rpcUrl: url.optional(),
    rpcUrls: z
      .array(url, { error: "expected an array of http(s) URLs" })
      .min(1, { error: "expected at least one RPC URL" })
      .optional(),
    /** Deployment JSON (tools/deploy.ts); or give `settlement` (+ optional `startBlock`) instead. */
    deployment: z.string({ error: "expected a file path" }).min(1, { error: "expected a file path" }).optional(),
    settlement: address.optional(),
    startBlock: z.number({ error: "expected a block number" }).int().min(0).optional(),
    /** Folder of `signing.db` (never delete it), `state.db` (cursor + tracked batches, safe to delete) and `da.db` (receipts of attested batches: keep it, users prove equivocation from it). */
    dataDir: z.string({ error: "expected a folder path" }).min(1, { error: "expected a folder path" }),
    /** HTTP base URLs of the other validators (their `/verdicts/:headerHash`). */
    peers: z.array(url, { error: "expected an array of http(s) URLs" }).default([]),
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number({ error: "expected a TCP port" }).int().min(0).max(65_535).default(7400),
    pollIntervalMs: ms(1_000, 10),
    /** How long (seconds after submission) receipts may stay unavailable before the batch is rejected. */
    daDeadlineSec: z.number({ error: "expected seconds" }).int().min(1).default(300),
    /** Until a DA answer (a batch, a spot-checked receipt) is complete. */
    daTimeoutMs: ms(5_000),
    /** Until a DA endpoint has sent its response headers; default min(3000, daTimeoutMs). */
    daFirstByteTimeoutMs: z.number({ error: "expected a number of milliseconds" }).int().min(1).optional(),
    /** Byte budget of a batch body per receipt of its header's `count` (64 KiB of slack on top). */
    daBytesPerReceipt: z.number({ error: "expected a byte count" }).int().min(256).default(1_024),
    /** Hard cap of a batch body (after decompression), whatever its `count`. */
    daMaxBytes: z
      .number({ error: "expected a byte count" })
      .int()
      .min(65_536)
      .default(16 * 1024 * 1024),
    /**
     * Let daURIs reach private, loopback and link-local addresses. Off in production: a daURI is
     * chosen by the gateway, and would otherwise reach the validator host's metadata service and LAN.
     */
    daAllowPrivate: z.boolean({ error: "expected true or false" }).default(false),
    /** Seconds a held batch's receipts (da.db) are kept after it concluded on chain (finalized, rejected). */
    daRetentionSec: z
      .number({ error: "expected seconds" })
      .int()
      .min(0)
      .default(30 * 24 * 3600),
    /** Bytes of prepared batches the `/da` routes keep in memory (LRU). */
    daCacheBytes: z
      .number({ error: "expected a byte count" })
      .int()
      .min(0)
      .default(64 * 1024 * 1024),
    /**
     * Blocks below head before a BatchSubmitted log is read. 0 is safe: every action re-reads the
     * batch's on-chain status first, and a verdict is bound to a header hash, so one signed for a
     * batch a reorg drops can never count for another. (On an idle automining chain, > 0 would
     * hide the last batch until the next block.)
     */
    confirmations: z.number({ error: "expected a block count" }).int().min(0).max(1_000).default(0),
    maxBlockRange: z.number({ error: "expected a block count" }).int().min(1).default(2_000),
    /** Delay per rank before a validator that holds k signatures submits (rank 0 submits at once). */
    submitStaggerMs: ms(3_000, 0),
    /** Receipts per batch spot-checked at the gateway's `/receipts/:callSeq` for equivocation (0 = off). */
    receiptSamples: z.number({ error: "expected a count" }).int().min(0).max(1_000).default(2),
    finalize: z.boolean({ error: "expected true or false" }).default(true),
    claim: z.boolean({ error: "expected true or false" }).default(true),
    claimIntervalMs: ms(60_000, 100),
    /** Where claimed rewards go; defaults to the validator's own address. */
    rewardsTo: address.optional(),
    /** Root certificate (PEM or DER file) enclave attestations must chain to; default: the AWS Nitro root. */
    attestationRoot: z.string({ error: "expected a file path" }).min(1, { error: "expected a file path" }).optional(),
    /** How old an enclave's attestation document may be when the validator is asked to approve it. */
    attestationMaxAgeSec: z.number({ error: "expected seconds" }).int().min(1).default(600),
    retryBaseMs: ms(500),
    retryMaxMs: ms(30_000),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  })
  // An unknown key is refused: `daTimeoutMS` or `peer` would otherwise leave the default in force unseen.
  .strict();

export type ValidatorConfigInput = z.input<typeof validatorConfigSchema>;

/** The parsed configuration with addresses resolved. */
export interface ValidatorConfig
  extends Omit<
    z.output<typeof validatorConfigSchema>,
    "settlement" | "rewardsTo" | "privateKey" | "daFirstByteTimeoutMs" | "rpcUrl" | "rpcUrls"
  > {
  /** The first RPC URL (`rpcUrl`, else `rpcUrls[0]`). */
  rpcUrl: string;
  /** Every RPC URL in failover order: `rpcUrl` first, then `rpcUrls`. */
  rpcUrls: string[];
  privateKey: Hex;
  daFirstByteTimeoutMs: number;
  settlement: Address;
  startBlock: number;
  /** Chain id from the deployment file, checked against the RPC at start. */
  chainId: number | undefined;
  rewardsTo: Address | undefined;
}

/** Environment variables main.ts reads, each to its config field (see {@link VALIDATOR_HELP}). */
export const VALIDATOR_ENV: Readonly<
  Record<string, readonly [keyof ValidatorConfigInput, "string" | "number" | "boolean" | "list"]>
> = {
  VALIDATOR_PRIVATE_KEY: ["privateKey", "string"],
  RPC_URL: ["rpcUrl", "string"],
  RPC_URLS: ["rpcUrls", "list"],
  DEPLOYMENT: ["deployment", "string"],
  SETTLEMENT: ["settlement", "string"],
  START_BLOCK: ["startBlock", "number"],
  DATA_DIR: ["dataDir", "string"],
  PEERS: ["peers", "list"],
  HOST: ["host", "string"],
  PORT: ["port", "number"],
  POLL_INTERVAL_MS: ["pollIntervalMs", "number"],
  DA_DEADLINE_SEC: ["daDeadlineSec", "number"],
  DA_TIMEOUT_MS: ["daTimeoutMs", "number"],
  DA_FIRST_BYTE_TIMEOUT_MS: ["daFirstByteTimeoutMs", "number"],
  DA_BYTES_PER_RECEIPT: ["daBytesPerReceipt", "number"],
  DA_MAX_BYTES: ["daMaxBytes", "number"],
  DA_ALLOW_PRIVATE: ["daAllowPrivate", "boolean"],
  DA_RETENTION_SEC: ["daRetentionSec", "number"],
  DA_CACHE_BYTES: ["daCacheBytes", "number"],
  CONFIRMATIONS: ["confirmations", "number"],
  MAX_BLOCK_RANGE: ["maxBlockRange", "number"],
  SUBMIT_STAGGER_MS: ["submitStaggerMs", "number"],
  RECEIPT_SAMPLES: ["receiptSamples", "number"],
  FINALIZE: ["finalize", "boolean"],
  CLAIM: ["claim", "boolean"],
  CLAIM_INTERVAL_MS: ["claimIntervalMs", "number"],
  REWARDS_TO: ["rewardsTo", "string"],
  ATTESTATION_ROOT: ["attestationRoot", "string"],
  ATTESTATION_MAX_AGE_SEC: ["attestationMaxAgeSec", "number"],
  RETRY_BASE_MS: ["retryBaseMs", "number"],
  RETRY_MAX_MS: ["retryMaxMs", "number"],
  LOG_LEVEL: ["logLevel", "string"],
};

/** `validator/main.ts --help`. */
export const VALIDATOR_HELP = `Usage: npx tsx validator/main.ts [--config <file.json>]

Config file fields (JSON) and their environment variables (which override the file):
  privateKey        VALIDATOR_PRIVATE_KEY  validator key (signs verdicts, pays gas)
  rpcUrl            RPC_URL
  rpcUrls           RPC_URLS               several RPC URLs, comma-separated: failover in order (after rpcUrl)
  deployment        DEPLOYMENT             deployment file (tools/deploy.ts); or settlement + startBlock
  settlement        SETTLEMENT             ProofSettlement address
  startBlock        START_BLOCK
  dataDir           DATA_DIR               signing record (signing.db), chain state (state.db), held receipts (da.db)
  peers             PEERS                  other validators' URLs, comma-separated
  host, port        HOST, PORT             HTTP listen address (default 127.0.0.1:7400)
  pollIntervalMs    POLL_INTERVAL_MS
  daDeadlineSec     DA_DEADLINE_SEC        reject when receipts stay unavailable this long
  daTimeoutMs       DA_TIMEOUT_MS          a DA answer must be complete within this (default 5000)
  daFirstByteTimeoutMs DA_FIRST_BYTE_TIMEOUT_MS  response headers within this (default 3000)
  daBytesPerReceipt DA_BYTES_PER_RECEIPT   batch body budget per receipt, + 64 KiB (default 1024)
  daMaxBytes        DA_MAX_BYTES           hard cap of a batch body, decoded (default 16 MiB)
  daAllowPrivate    DA_ALLOW_PRIVATE       true: daURIs may reach private/loopback addresses (default false)
  daRetentionSec    DA_RETENTION_SEC       keep held receipts this long after a batch concluded (default 30 days)
  daCacheBytes      DA_CACHE_BYTES         memory for prepared /da answers (default 64 MiB)
  confirmations     CONFIRMATIONS
  maxBlockRange     MAX_BLOCK_RANGE        blocks per getLogs request (default 2000)
  submitStaggerMs   SUBMIT_STAGGER_MS
  receiptSamples    RECEIPT_SAMPLES        receipts spot-checked per batch for equivocation
  finalize, claim   FINALIZE, CLAIM        true/false
  claimIntervalMs   CLAIM_INTERVAL_MS
  rewardsTo         REWARDS_TO
  attestationRoot   ATTESTATION_ROOT       root certificate file enclave attestations chain to (default: AWS Nitro)
  attestationMaxAgeSec ATTESTATION_MAX_AGE_SEC  oldest attestation document POST /approvals accepts (default 600)
  retryBaseMs, retryMaxMs RETRY_BASE_MS, RETRY_MAX_MS  backoff of a failing batch (default 500, 30000)
  logLevel          LOG_LEVEL

A config file key not listed above is refused. Every problem is reported at once, by the name it
was set with (environment variable or JSON field); a bad config exits with status 2.
`;

/**
 * The config fields set by `env` (see {@link VALIDATOR_ENV}), and for each the variable it came
 * from (`names`, for {@link parseValidatorConfig}). Unparsable values stay strings, so that zod
 * names them rather than this function guessing.
 */
export function validatorConfigFromEnv(env: NodeJS.ProcessEnv): {
  values: Record<string, unknown>;
  names: Record<string, string>;
} {
  const values: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  for (const [name, [field, type]] of Object.entries(VALIDATOR_ENV)) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    if (type === "number") values[field] = /^[0-9]+$/.test(v) ? Number(v) : v;
    else if (type === "boolean")
      values[field] = v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : v;
    else if (type === "list")
      values[field] = v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
    else values[field] = v;
    names[field] = name;
  }
  return { values, names };
}

export interface ParseOptions {
  /**
   * What the operator called a top-level field when not by its JSON name: the environment variable
   * it came from (`{ port: "PORT" }`). Issues are reported by these names.
   */
  names?: Readonly<Record<string, string>> | undefined;
}

/** The operator's name of config path `at`: `PEERS[1]` for an env-provided list, else `peers.1`. */
export function configFieldName(at: readonly PropertyKey[], names?: Readonly<Record<string, string>>): string {
  if (at.length === 0) return "(root)";
  const [top, ...rest] = at.map(String);
  const env = names?.[top!];
  if (env) return env + rest.map((r) => `[${r}]`).join("");
  return [top, ...rest].join(".");
}

function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of at) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** Edit distance, for "did you mean" on an unknown key. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

function suggestion(key: string): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of Object.keys(validatorConfigSchema.shape)) {
    const dk = distance(key, k);
    if (dk < bestD) [best, bestD] = [k, dk];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 4)) ? `; did you mean ${best}?` : "";
}

const parsedConfigs = new WeakSet<object>();

/**
 * Parses `input` or throws one {@link ValidatorConfigError} listing every problem (bad values,
 * unknown keys, cross-field rules, unreadable deployment or attestation root file), each by the
 * name the operator set it with (`opts.names`, else its JSON path). A config this function
 * returned is passed through as is.
 */
export function parseValidatorConfig(input: unknown, opts: ParseOptions = {}): ValidatorConfig {
  if (input !== null && typeof input === "object" && parsedConfigs.has(input)) return input as ValidatorConfig;
  const names = opts.names;
  const issues: ConfigIssue[] = [];
  const add = (at: readonly PropertyKey[], reason: string) =>
    issues.push({ field: at.length ? at.map(String).join(".") : "(root)", name: configFieldName(at, names), reason });
  const parsed = validatorConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) add([...issue.path, key], `unknown field${suggestion(key)}`);
        continue;
      }
      add(
        issue.path,
        issue.code === "invalid_type" && valueAt(input, issue.path) === undefined ? "required" : issue.message,
      );
    }
  }
  // Cross-field rules and files: checked whatever else is wrong, from the fields that are valid on their own.
  const shape = validatorConfigSchema.shape;
  const field = <K extends keyof typeof shape>(k: K): z.output<(typeof shape)[K]> | undefined => {
    const r = shape[k].safeParse(valueAt(input, [k]));
    return r.success ? (r.data as z.output<(typeof shape)[K]>) : undefined;
  };
  const deployment = field("deployment");
  if (valueAt(input, ["deployment"]) === undefined && valueAt(input, ["settlement"]) === undefined) {
    add(["settlement"], "required when no deployment file is given");
  }
  if (valueAt(input, ["rpcUrl"]) === undefined && valueAt(input, ["rpcUrls"]) === undefined) {
    add(["rpcUrl"], "required (or rpcUrls)");
  }
  const retryBaseMs = field("retryBaseMs");
  const retryMaxMs = field("retryMaxMs");
  if (retryBaseMs !== undefined && retryMaxMs !== undefined && retryMaxMs < retryBaseMs)
    add(["retryMaxMs"], `must be ≥ retryBaseMs (${retryBaseMs})`);
  const daTimeoutMs = field("daTimeoutMs");
  const daFirstByteTimeoutMs = field("daFirstByteTimeoutMs");
  if (daFirstByteTimeoutMs !== undefined && daTimeoutMs !== undefined && daFirstByteTimeoutMs > daTimeoutMs)
    add(["daFirstByteTimeoutMs"], `must be ≤ daTimeoutMs (${daTimeoutMs})`);
  let d: ReturnType<typeof readDeployment> | undefined;
  if (deployment) {
    try {
      d = readDeployment(deployment);
    } catch (e) {
      add(["deployment"], (e as Error).message);
    }
  }
  const attestationRoot = field("attestationRoot");
  if (attestationRoot) {
    try {
      trustedRootDer(trustedRootFromFile(readFileSync(attestationRoot)));
    } catch (e) {
      add(["attestationRoot"], (e as { shortMessage?: string }).shortMessage ?? (e as Error).message);
    }
  }
  if (issues.length > 0 || !parsed.success) throw new ValidatorConfigError({ issues });
  const c = parsed.data;
  const rpcUrls = [...new Set([...(c.rpcUrl ? [c.rpcUrl] : []), ...(c.rpcUrls ?? [])])];
  const config: ValidatorConfig = {
    ...c,
    rpcUrl: rpcUrls[0]!,
    rpcUrls,
    privateKey: c.privateKey as Hex,
    daFirstByteTimeoutMs: c.daFirstByteTimeoutMs ?? Math.min(3_000, c.daTimeoutMs),
    settlement: getAddress((c.settlement ?? d?.contracts.ProofSettlement)!),
    startBlock: c.startBlock ?? d?.startBlock ?? 0,
    chainId: d?.chainId,
    rewardsTo: c.rewardsTo ? getAddress(c.rewardsTo) : undefined,
    dataDir: path.resolve(c.dataDir),
  };
  parsedConfigs.add(config);
  return config;
}
