/**
 * The validator's configuration, parsed by zod through sdk/config.ts. A misconfigured validator
 * fails at start, never mid-batch, with one {@link ValidatorConfigError} listing every problem at
 * once: each bad value, each unknown key (a typo would otherwise silently leave the default in
 * force), each cross-field rule and unreadable file, named as the operator set it: the variable
 * (`PROOFPATH_VALIDATOR_PORT`, `PROOFPATH_VALIDATOR_PEERS[1]`) or its file key path (`port`, `peers.1`).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import { ConfigError, defineConfigRole, parseConfig, type ConfigIssue, type ConfigNames } from "../sdk/config.js";
import { readDeployment, type Deployment } from "../sdk/deployment.js";
import { trustedRootDer, trustedRootFromFile } from "./attestation/index.js";
import { ValidatorConfigError } from "./errors.js";

const privateKey = z
  .string({ error: "expected a 0x-prefixed 32-byte hex private key" })
  .refine((s) => isHex(s) && s.length === 66, { error: "expected a 0x-prefixed 32-byte hex private key" })
  .meta({ type: "private key (0x + 64 hex)" });
const address = z
  .string({ error: "expected an address" })
  .refine((s) => isAddress(s, { strict: false }), { error: "expected a 0x-prefixed 20-byte address" })
  .meta({ type: "address" });
const url = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const ms = (def: number, min = 1) =>
  z.number({ error: "expected a number of milliseconds" }).int().min(min).default(def);

/** A gas price in wei per gas (the native currency's). */
const gasWei = z
  .union([z.bigint().positive(), z.string().regex(/^[1-9]\d*$/)], {
    error: "expected wei per gas as a positive bigint or decimal string",
  })
  .transform((v) => BigInt(v))
  .meta({ type: "integer (wei per gas)" });

export const validatorConfigSchema = z
  .object({
    privateKey: privateKey.describe("The validator's key: signs verdicts and sends its transactions (it needs gas)."),
    rpcUrl: url.optional().describe("JSON-RPC endpoint (or rpcUrls)."),
    rpcUrls: z
      .array(url, { error: "expected an array of http(s) URLs" })
      .min(1, { error: "expected at least one RPC URL" })
      .optional()
      .describe("Several JSON-RPC endpoints, tried in order after rpcUrl (viem fallback)."),
    deployment: z
      .string({ error: "expected a file path" })
      .min(1, { error: "expected a file path" })
      .optional()
      .describe("Deployment file (npm run deploy); or give settlement (+ startBlock) instead."),
    settlement: address.optional().describe("ProofSettlement address, when no deployment file is given."),
    startBlock: z
      .number({ error: "expected a block number" })
      .int()
      .min(0)
      .optional()
      .describe("First block to read; default the deployment's start block, else 0."),
    dataDir: z
      .string({ error: "expected a folder path" })
      .min(1, { error: "expected a folder path" })
      .describe(
        "Folder of signing.db (never delete it), state.db (cursor + tracked batches, safe to delete) and da.db (receipts of attested batches: keep it, users prove equivocation from it).",
      ),
    peers: z
      .array(url, { error: "expected an array of http(s) URLs" })
      .default([])
      .describe("HTTP base URLs of the other validators (their /verdicts/:headerHash)."),
    host: z.string().min(1).default("127.0.0.1").describe("Address the HTTP server binds."),
    port: z
      .number({ error: "expected a TCP port" })
      .int()
      .min(0)
      .max(65_535)
      .default(7400)
      .describe("Port of the HTTP server (0: any free port)."),
    pollIntervalMs: ms(1_000, 10).describe("How often the chain is polled for new batches."),
    daDeadlineSec: z
      .number({ error: "expected seconds" })
      .int()
      .min(1)
      .default(300)
      .describe("How long (seconds after submission) receipts may stay unavailable before the batch is rejected."),
    daTimeoutMs: ms(5_000).describe("Until a DA answer (a batch, a spot-checked receipt) is complete."),
    daFirstByteTimeoutMs: z
      .number({ error: "expected a number of milliseconds" })
      .int()
      .min(1)
      .optional()
      .describe("Until a DA endpoint has sent its response headers; default min(3000, daTimeoutMs)."),
    daBytesPerReceipt: z
      .number({ error: "expected a byte count" })
      .int()
      .min(256)
      .default(1_024)
      .describe("Byte budget of a batch body per receipt of its header's count (64 KiB of slack on top)."),
    daMaxBytes: z
      .number({ error: "expected a byte count" })
      .int()
      .min(65_536)
      .default(16 * 1024 * 1024)
      .describe("Hard cap of a batch body (after decompression), whatever its count."),
    daAllowPrivate: z
      .boolean({ error: "expected true or false" })
      .default(false)
      .describe(
        "Let daURIs reach private, loopback and link-local addresses. Off in production: a daURI is chosen by the gateway, and would otherwise reach the validator host's metadata service and LAN.",
      ),
    daRetentionSec: z
      .number({ error: "expected seconds" })
      .int()
      .min(0)
      .default(30 * 24 * 3600)
      .describe("Seconds a held batch's receipts (da.db) are kept after it concluded on chain (finalized, rejected)."),
    daCacheBytes: z
      .number({ error: "expected a byte count" })
      .int()
      .min(0)
      .default(64 * 1024 * 1024)
      .describe("Bytes of prepared batches the /da routes keep in memory (LRU)."),
    // 0 is safe: every action re-reads the batch's on-chain status first, and a verdict is bound to
    // a header hash, so one signed for a batch a reorg drops can never count for another. (On an
    // idle automining chain, > 0 would hide the last batch until the next block.)
    confirmations: z
      .number({ error: "expected a block count" })
      .int()
      .min(0)
      .max(1_000)
      .default(0)
      .describe("Blocks below head before a BatchSubmitted log is read."),
    maxBlockRange: z
      .number({ error: "expected a block count" })
      .int()
      .min(1)
      .default(2_000)
      .describe("Blocks per getLogs request."),
    submitStaggerMs: ms(3_000, 0).describe(
      "Delay per rank before a validator that holds k signatures submits (rank 0 submits at once).",
    ),
    receiptSamples: z
      .number({ error: "expected a count" })
      .int()
      .min(0)
      .max(1_000)
      .default(2)
      .describe("Receipts per batch spot-checked at the gateway's /receipts/:callSeq for equivocation (0 = off)."),
    finalize: z
      .boolean({ error: "expected true or false" })
      .default(true)
      .describe("Finalize batches past their window."),
    claim: z.boolean({ error: "expected true or false" }).default(true).describe("Claim earned rewards."),
    claimIntervalMs: ms(60_000, 100).describe("How often rewards are claimed."),
    rewardsTo: address.optional().describe("Where claimed rewards go; default the validator's own address."),
    attestationRoot: z
      .string({ error: "expected a file path" })
      .min(1, { error: "expected a file path" })
      .optional()
      .describe("Root certificate (PEM or DER file) enclave attestations must chain to; default the AWS Nitro root."),
    attestationMaxAgeSec: z
      .number({ error: "expected seconds" })
      .int()
      .min(1)
      .default(600)
      .describe("How old an enclave's attestation document may be when the validator is asked to approve it."),
    bumpAfterMs: ms(20_000, 100).describe(
      "A transaction not mined after this long is replaced with fees raised by ≥ 12.5% (sdk/transactions.ts).",
    ),
    maxFeePerGas: gasWei
      .optional()
      .describe(
        "Highest maxFeePerGas the validator signs: above it, it stops bumping and reports FeeCapExceededError until fees fall.",
      ),
    maxPriorityFeePerGas: gasWei
      .default(10_000_000_000n)
      .describe(
        "Highest priority fee (tip) the validator signs, in wei per gas: an RPC's suggestion above it is clipped, a replacement that needs more stops with FeeCapExceededError. Default 10 gwei.",
      ),
    txTimeoutMs: ms(120_000, 1_000).describe(
      "How long one transaction (replacements included) may take to be mined before the send fails and is retried.",
    ),
    retryBaseMs: ms(500).describe("First backoff of a failing batch."),
    retryMaxMs: ms(30_000).describe("Longest backoff of a failing batch (≥ retryBaseMs)."),
    logLevel: z
      .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
      .default("info")
      .describe("pino log level."),
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

/** The validator role: `PROOFPATH_VALIDATOR_*` variables and a `--config` file (sdk/config.ts). */
export const validatorConfigRole = defineConfigRole({
  role: "validator",
  title: "validator",
  usage: "npx tsx validator/main.ts [--config <file.json>]",
  about:
    "Watches settled batches, verifies each against its receipts, signs verdicts with its peers, finalizes, claims rewards and proves equivocation.",
  schema: validatorConfigSchema,
  check(c, report, raw): { deployment: Deployment | undefined } {
    if (raw.deployment === undefined && raw.settlement === undefined)
      report(["settlement"], "required when no deployment file is given");
    if (raw.rpcUrl === undefined && raw.rpcUrls === undefined) report(["rpcUrl"], "required (or rpcUrls)");
    if (c.retryBaseMs !== undefined && c.retryMaxMs !== undefined && c.retryMaxMs < c.retryBaseMs)
      report(["retryMaxMs"], `must be ≥ retryBaseMs (${c.retryBaseMs})`);
    if (c.daFirstByteTimeoutMs !== undefined && c.daTimeoutMs !== undefined && c.daFirstByteTimeoutMs > c.daTimeoutMs)
      report(["daFirstByteTimeoutMs"], `must be ≤ daTimeoutMs (${c.daTimeoutMs})`);
    let deployment: Deployment | undefined;
    if (c.deployment) {
      try {
        deployment = readDeployment(c.deployment);
      } catch (e) {
        report(["deployment"], (e as Error).message);
      }
    }
    if (c.attestationRoot) {
      try {
        trustedRootDer(trustedRootFromFile(readFileSync(c.attestationRoot)));
      } catch (e) {
        report(["attestationRoot"], (e as { shortMessage?: string }).shortMessage ?? (e as Error).message);
      }
    }
    return { deployment };
  },
});

export interface ParseOptions {
  /** What the operator called a field when not by its file key (`{ port: "PROOFPATH_VALIDATOR_PORT" }`); issues use these names. */
  names?: ConfigNames | undefined;
  /** Problems already found while loading (sdk/config.ts `loadConfig`), reported with the rest. */
  issues?: readonly ConfigIssue[] | undefined;
}

const parsedConfigs = new WeakSet<object>();

/**
 * Parses `input` or throws one {@link ValidatorConfigError} listing every problem (bad values,
 * unknown keys, cross-field rules, unreadable deployment or attestation root file), each by the
 * name the operator set it with (`opts.names`, else its file key path). A config this function
 * returned is passed through as is.
 */
export function parseValidatorConfig(input: unknown, opts: ParseOptions = {}): ValidatorConfig {
  if (input !== null && typeof input === "object" && parsedConfigs.has(input)) return input as ValidatorConfig;
  let parsed: ReturnType<typeof parseConfig<typeof validatorConfigSchema, { deployment: Deployment | undefined }>>;
  try {
    parsed = parseConfig(validatorConfigRole, input, opts);
  } catch (e) {
    if (e instanceof ConfigError) throw new ValidatorConfigError({ issues: e.issues });
    throw e;
  }
  const c = parsed.config;
  const d = parsed.checked?.deployment;
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
