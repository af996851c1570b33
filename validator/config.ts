/**
 * The validator's configuration, parsed by zod. Every issue becomes a {@link ValidatorConfigError}
 * naming the field (`privateKey`, `peers.1`, `daDeadlineSec`, ...), so a misconfigured validator
 * fails at start, never mid-batch.
 */
import path from "node:path";
import { z } from "zod";
import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import { readDeployment } from "../sdk/deploy.js";
import { ValidatorConfigError } from "./errors.js";

const privateKey = z
  .string({ error: "expected a 0x-prefixed 32-byte hex private key" })
  .refine((s) => isHex(s) && s.length === 66, { error: "expected a 0x-prefixed 32-byte hex private key" });
const address = z
  .string({ error: "expected an address" })
  .refine((s) => isAddress(s, { strict: false }), { error: "expected a 0x-prefixed 20-byte address" });
const url = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const ms = (def: number, min = 1) => z.number({ error: "expected a number of milliseconds" }).int().min(min).default(def);

export const validatorConfigSchema = z
  .object({
    /** The validator's key: signs verdicts and sends its transactions (it needs gas). */
    privateKey,
    rpcUrl: url,
    /** Deployment JSON (sdk/deploy.ts); or give `settlement` (+ optional `startBlock`) instead. */
    deployment: z.string({ error: "expected a file path" }).min(1, { error: "expected a file path" }).optional(),
    settlement: address.optional(),
    startBlock: z.number({ error: "expected a block number" }).int().min(0).optional(),
    /** Folder of `signing.db` (never delete it) and `state.db` (cursor + tracked batches, safe to delete). */
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
    daMaxBytes: z.number({ error: "expected a byte count" }).int().min(65_536).default(16 * 1024 * 1024),
    /**
     * Let daURIs reach private, loopback and link-local addresses. Off in production: a daURI is
     * chosen by the gateway, and would otherwise reach the validator host's metadata service and LAN.
     */
    daAllowPrivate: z.boolean({ error: "expected true or false" }).default(false),
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
  .superRefine((c, ctx) => {
    if (!c.deployment && !c.settlement) {
      ctx.addIssue({ code: "custom", path: ["settlement"], message: "required when no deployment file is given" });
    }
    if (c.retryMaxMs < c.retryBaseMs) ctx.addIssue({ code: "custom", path: ["retryMaxMs"], message: "must be ≥ retryBaseMs" });
    if (c.daFirstByteTimeoutMs !== undefined && c.daFirstByteTimeoutMs > c.daTimeoutMs) ctx.addIssue({ code: "custom", path: ["daFirstByteTimeoutMs"], message: "must be ≤ daTimeoutMs" });
  });

export type ValidatorConfigInput = z.input<typeof validatorConfigSchema>;

/** The parsed configuration with addresses resolved. */
export interface ValidatorConfig extends Omit<z.output<typeof validatorConfigSchema>, "settlement" | "rewardsTo" | "privateKey" | "daFirstByteTimeoutMs"> {
  privateKey: Hex;
  daFirstByteTimeoutMs: number;
  settlement: Address;
  startBlock: number;
  /** Chain id from the deployment file, checked against the RPC at start. */
  chainId: number | undefined;
  rewardsTo: Address | undefined;
}

function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of at) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** Parses `input` or throws a {@link ValidatorConfigError} naming the first bad field. */
export function parseValidatorConfig(input: unknown): ValidatorConfig {
  const parsed = validatorConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length ? issue.path.join(".") : "(root)";
    const reason = issue.code === "invalid_type" && valueAt(input, issue.path) === undefined ? "required" : issue.message;
    throw new ValidatorConfigError({ field, reason });
  }
  const c = parsed.data;
  let settlement = c.settlement;
  let startBlock = c.startBlock;
  let chainId: number | undefined;
  if (c.deployment) {
    let d;
    try {
      d = readDeployment(c.deployment);
    } catch (e) {
      throw new ValidatorConfigError({ field: "deployment", reason: (e as Error).message });
    }
    settlement ??= d.contracts.ProofSettlement;
    startBlock ??= d.startBlock;
    chainId = d.chainId;
  }
  return {
    ...c,
    privateKey: c.privateKey as Hex,
    daFirstByteTimeoutMs: c.daFirstByteTimeoutMs ?? Math.min(3_000, c.daTimeoutMs),
    settlement: getAddress(settlement!),
    startBlock: startBlock ?? 0,
    chainId,
    rewardsTo: c.rewardsTo ? getAddress(c.rewardsTo) : undefined,
    dataDir: path.resolve(c.dataDir),
  };
}
