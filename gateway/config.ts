/**
 * The hook's configuration, parsed by zod. Every issue is reported as a {@link GatewayConfigError}
 * naming the field (`batch.maxCalls`, `enclaveKey`, ...), so a misconfigured gateway fails at start.
 */
import { z } from "zod";
import { getAddress, isAddress, isHex, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Logger } from "pino";
import { readDeployment } from "../sdk/deployment.js";
import { GatewayConfigError } from "./errors.js";

const privateKey = z
  .string()
  .refine((s) => isHex(s) && s.length === 66, { error: "expected a 0x-prefixed 32-byte hex private key" });
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
  .refine((s) => isAddress(s, { strict: false }), { error: "expected a 0x-prefixed 20-byte address" });
const url = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
/** An OPG amount in wei: a bigint or a decimal string (JSON configs cannot hold bigints). */
const opgWei = z
  .union([z.bigint().nonnegative(), z.string().regex(/^\d+$/)], {
    error: "expected OPG wei as a bigint or a decimal string",
  })
  .transform((v) => BigInt(v));

export const hookConfigSchema = z
  .object({
    /** SQLite file of receipts and batches (created with its folder). */
    store: z
      .string({ error: "expected a file path" })
      .min(1, { error: "expected a file path" })
      .refine((f) => f !== ":memory:", {
        error: "expected a file path: receipts must survive a crash (and the commit worker opens the file too)",
      }),
    /** The enclave signing key: signs headers and receipts; its address is the `gateway`. */
    enclaveKey: account,
    /** Key that pays for and sends `submitBatch` (anyone may relay); defaults to the enclave key. */
    relayerKey: account.optional(),
    /** JSON-RPC endpoint; or `rpcUrls` (tried in order, failing over with viem `fallback`). */
    rpcUrl: url.optional(),
    rpcUrls: z.array(url).min(1, { error: "expected at least one RPC URL" }).optional(),
    /** ProofSettlement address; or give `deployment` (a deployment JSON file) instead. */
    settlement: address.optional(),
    deployment: z.string().min(1).optional(),
    chainId: z.number().int().positive().optional(),
    /** Public base URL of this gateway's HTTP endpoint; each header's daURI is `${daBaseUrl}/batches/${batchSeq}`. */
    daBaseUrl: url,
    batch: z
      .object({
        maxCalls: z.number().int().min(1).max(65_535).default(1024),
        maxAgeMs: z.number().int().min(1).default(5_000),
      })
      .prefault({}),
    /** Blocks on top of the including block before a batch counts as confirmed. */
    confirmations: z.number().int().min(1).max(1_000).default(2),
    /** callSeqs reserved per durable range reservation (the most a crash can void). */
    reserveSize: z.number().int().min(1).max(1_000_000).default(4_096),
    /**
     * Least time between two group commits (ms). Fewer, larger fsyncs keep disk interrupts off the
     * gateway's event loop; `durable` resolves up to this much later. 0 commits back to back.
     */
    commitIntervalMs: z.number().int().min(0).max(1_000).default(5),
    /** SQLite `synchronous`: "full" survives power loss, "normal" survives process crashes. */
    synchronous: z.enum(["full", "normal"]).default("full"),
    /** Batch transactions in flight at once (consecutive nonces). */
    maxInFlight: z.number().int().min(1).max(64).default(4),
    /** A transaction not mined after this long is replaced with fees raised by ≥ 12.5%. */
    bumpAfterMs: z.number().int().min(100).default(20_000),
    pollMs: z.number().int().min(10).default(1_000),
    rateRefreshMs: z.number().int().min(100).default(60_000),
    retry: z
      .object({ baseMs: z.number().int().min(1).default(250), maxMs: z.number().int().min(1).default(15_000) })
      .prefault({}),
    /** Gas limit of `submitBatch`; default 400k + 30k per usage entry. */
    gasLimit: z.bigint().positive().optional(),
    /**
     * Fee caps (OPG wei). The hook refuses to sign a header whose fee is above `maxFeePerBatch`, or
     * above `maxFeePerCall` × its served calls (void leaves are free on-chain and do not count):
     * the batch stays sealed and unsigned until the on-chain rate comes down or the cap is raised.
     */
    maxFeePerCall: opgWei.optional(),
    maxFeePerBatch: opgWei.optional(),
    /** `/health` warns when the OPG deposit covers fewer than this many batches (at the last fee per batch). */
    warnBatchesLeft: z.number().int().min(0).default(100),
    /** `/health` warns when the enclave key's `activeUntil` is less than this far away (seconds). */
    warnActiveUntilSec: z.number().int().min(0).default(86_400),
    logger: z
      .custom<Logger>((v) => typeof v === "object" && v !== null && typeof (v as Logger).info === "function", {
        error: "expected a pino logger",
      })
      .optional(),
    /**
     * Key succession: retired keys this key succeeds (`GatewayRegistry.succeed`), each with its durable
     * store. Before serving under its own key, the hook settles each account to its end, in order,
     * signing as this key (gateway/succession.ts).
     */
    predecessors: z
      .array(z.object({ account: address.transform((a) => getAddress(a)), store: z.string().min(1) }).strict())
      .default([]),
    /** Start the submitter (false: record, seal and sign only — e.g. for benchmarks). */
    submit: z.boolean().default(true),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.rpcUrl && !c.rpcUrls)
      ctx.addIssue({ code: "custom", path: ["rpcUrl"], message: "give an RPC URL (rpcUrl) or several (rpcUrls)" });
    if (!c.settlement && !c.deployment)
      ctx.addIssue({
        code: "custom",
        path: ["settlement"],
        message: "give the ProofSettlement address or a deployment file",
      });
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
};

function toAccount(v: Hex | LocalAccount): LocalAccount {
  return typeof v === "string" ? privateKeyToAccount(v as Hex) : v;
}

/** Parses `input`; throws {@link GatewayConfigError} naming the first bad field. */
export function parseHookConfig(input: unknown): HookConfig {
  const r = hookConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field =
      issue.path.map(String).join(".") ||
      (issue.code === "unrecognized_keys" ? (issue as { keys: string[] }).keys.join(",") : "(config)");
    throw new GatewayConfigError(field, issue.message);
  }
  const { enclaveKey, relayerKey, settlement, rpcUrl, rpcUrls, ...rest } = r.data;
  const urls = [...new Set([...(rpcUrl ? [rpcUrl] : []), ...(rpcUrls ?? [])])];
  let settlementAddr = settlement;
  let chainId = rest.chainId;
  if (!settlementAddr) {
    try {
      const d = readDeployment(rest.deployment!);
      settlementAddr = d.contracts.ProofSettlement;
      chainId ??= d.chainId;
    } catch (e) {
      throw new GatewayConfigError("deployment", (e as Error).message);
    }
  }
  const enclave = toAccount(enclaveKey as Hex | LocalAccount);
  return {
    ...rest,
    rpcUrls: urls,
    ...(chainId === undefined ? {} : { chainId }),
    enclave,
    ...(typeof enclaveKey === "string" ? { enclavePrivateKey: enclaveKey as Hex } : {}),
    relayer: relayerKey ? toAccount(relayerKey as Hex | LocalAccount) : enclave,
    settlement: getAddress(settlementAddr),
  };
}
