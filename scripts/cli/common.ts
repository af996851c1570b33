/**
 * What the operator commands (`proofpath validator|enclave|governance …`) share: options and
 * configuration (the `operator` role: flags, then PROOFPATH_OPERATOR_* variables, then a --config
 * file), the deployment file, a signer from PROOFPATH_OPERATOR_PRIVATE_KEY (or the file) only, transactions planned as {to, data, value, function, args} so a dry run
 * prints exactly what a real run sends, pre-flight simulation that names the contract's custom error,
 * and output as text or --json.
 *
 * Exit codes: 0 success, 1 the chain refused (or could not be reached), 2 usage or configuration error.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  BaseError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  defineChain,
  encodeFunctionData,
  formatUnits,
  http,
  isAddress,
  isHex,
  parseUnits,
  getAddress,
  type Abi,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { gatewayRegistryAbi, opgTokenAbi, proofSettlementAbi, timelockAbi, validatorSetAbi } from "../../sdk/abis.js";
import { readConfig } from "../../sdk/config.js";
import { readDeployment, type Deployment } from "../../sdk/deployment.js";
import { ChainRefusal, UsageError } from "../cliErrors.js";
import { operatorConfigRole } from "./operatorConfig.js";

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

export { ChainRefusal };

export const COMMON_OPTIONS_HELP = `Common options:
  --deployment <file>   Deployment record (default: PROOFPATH_OPERATOR_DEPLOYMENT)
  --rpc <url>           JSON-RPC endpoint (default: PROOFPATH_OPERATOR_RPC_URL)
  --config <file>       JSON file of the same fields (default: PROOFPATH_OPERATOR_CONFIG)
  --json                Print the result as JSON
  --dry-run             Print the transaction(s) {to, data, value, function, args}; send nothing
  -h, --help            Show this help

Environment: PROOFPATH_OPERATOR_PRIVATE_KEY (0x + 64 hex) signs transactions; keys are never taken
as flags ("proofpath config operator" lists every field).
Exit codes: 0 success, 1 the chain refused (the contract's error is named) or was unreachable,
2 usage or configuration error.`;

const commonOptions = {
  deployment: { type: "string" },
  rpc: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

export function parseCommand<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O) {
  return parseArgs({ args, options: { ...commonOptions, ...options }, allowPositionals: true, strict: true });
}

export interface CommonValues {
  deployment?: string;
  rpc?: string;
  config?: string;
  json?: boolean;
  "dry-run"?: boolean;
}

export interface Context {
  deployment: Deployment;
  pub: PublicClient;
  chain: Chain;
  rpcUrl: string;
  account?: PrivateKeyAccount;
  json: boolean;
  dryRun: boolean;
}

/** Resolves configuration and connects; checks the RPC serves the deployment's chain. */
export async function connect(values: CommonValues): Promise<Context> {
  // A bad or missing field is a ConfigError naming the flag, variable or file key (exit 2).
  const { config } = readConfig(operatorConfigRole, {
    file: values.config,
    flags: { deployment: values.deployment, rpcUrl: values.rpc },
  });
  const file = config.deployment;
  let deployment: Deployment;
  try {
    deployment = readDeployment(file);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const rpcUrl = config.rpcUrl;
  const chain = defineChain({
    id: deployment.chainId,
    name: `chain ${deployment.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const pub = createPublicClient({ chain, transport: http(rpcUrl, { retryCount: 1 }) }) as PublicClient;
  let chainId: number;
  try {
    chainId = await pub.getChainId();
  } catch (e) {
    throw new ChainRefusal(`cannot reach ${rpcUrl}: ${e instanceof BaseError ? e.shortMessage : (e as Error).message}`);
  }
  if (chainId !== deployment.chainId) {
    throw new UsageError(
      `${rpcUrl} serves chain ${chainId}, but the deployment ${file} is on chain ${deployment.chainId}`,
    );
  }
  return {
    deployment,
    pub,
    chain,
    rpcUrl,
    account: config.privateKey === undefined ? undefined : privateKeyToAccount(config.privateKey as Hex),
    json: values.json ?? false,
    dryRun: values["dry-run"] ?? false,
  };
}

/** The signer, required to send (or to plan a dry run for). */
export function requireAccount(ctx: Context): PrivateKeyAccount {
  if (!ctx.account)
    throw new UsageError(
      "PROOFPATH_OPERATOR_PRIVATE_KEY is not set: it signs this transaction (also for --dry-run, which plans for its address)",
    );
  return ctx.account;
}

export function addressArg(value: string | undefined, what: string): Address {
  if (value === undefined) throw new UsageError(`${what} is required`);
  if (!isAddress(value, { strict: false }))
    throw new UsageError(`${what}: expected an address, got ${JSON.stringify(value)}`);
  return getAddress(value);
}

/** An OPG amount in whole tokens (18 decimals), e.g. "10000" or "0.5". */
export function amountArg(value: string | undefined, what: string): bigint {
  if (value === undefined) throw new UsageError(`${what} is required`);
  if (!/^\d+(\.\d{1,18})?$/.test(value.trim()))
    throw new UsageError(`${what}: expected an OPG amount such as 10000 or 0.5, got ${JSON.stringify(value)}`);
  const v = parseUnits(value.trim(), 18);
  if (v === 0n) throw new UsageError(`${what} must be more than 0`);
  return v;
}

export const opg = (wei: bigint) => `${formatUnits(wei, 18)} OPG`;

/** Every custom error the protocol's contracts (and the token, and the timelock) can raise. */
let errorAbiCache: Abi | undefined;
function errorAbi(): Abi {
  if (errorAbiCache) return errorAbiCache;
  const seen = new Set<string>();
  const all = [...proofSettlementAbi, ...gatewayRegistryAbi, ...validatorSetAbi, ...opgTokenAbi, ...timelockAbi];
  errorAbiCache = all.filter((x) => x.type === "error" && !seen.has(x.name!) && seen.add(x.name!)) as Abi;
  return errorAbiCache;
}

/** Names a revert: the decoded custom error and its arguments, or the node's message. */
export function describeRevert(e: unknown): ChainRefusal {
  let data: Hex | undefined;
  if (e instanceof BaseError) {
    e.walk((x) => {
      const d = (x as { data?: unknown }).data;
      if (typeof d === "string" && isHex(d) && d.length >= 10) data = d;
      else if (d && typeof d === "object" && typeof (d as { data?: unknown }).data === "string")
        data = (d as { data: Hex }).data;
      return false;
    });
  }
  if (data) {
    try {
      const { errorName, args } = decodeErrorResult({ abi: errorAbi(), data });
      const shown = (args ?? []).map((a) => (typeof a === "bigint" ? a.toString() : String(a))).join(", ");
      return new ChainRefusal(`reverted with ${errorName}(${shown})`, errorName, args ?? []);
    } catch {
      /* not one of ours */
    }
  }
  const msg = e instanceof BaseError ? e.shortMessage : ((e as Error)?.message ?? String(e));
  return new ChainRefusal(msg);
}

export interface PlannedTx {
  to: Address;
  data: Hex;
  value: bigint;
  /** "Contract.function", for people. */
  function: string;
  args: readonly unknown[];
}

export function plan(
  contract: string,
  to: Address,
  abi: Abi,
  functionName: string,
  args: readonly unknown[],
): PlannedTx {
  return {
    to,
    data: encodeFunctionData({ abi, functionName, args }),
    value: 0n,
    function: `${contract}.${functionName}`,
    args,
  };
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}

export interface SentTx {
  function: string;
  hash: Hex;
  blockNumber: bigint;
  gasUsed: bigint;
}

/**
 * Sends each planned transaction in order, simulating it first so a refusal names the contract's
 * error before any gas is spent; or, with --dry-run, prints the plan. Returns the exit code.
 */
export async function execute(
  ctx: Context,
  from: PrivateKeyAccount,
  txs: PlannedTx[],
  summary: string,
): Promise<number> {
  if (ctx.dryRun) {
    const body = { dryRun: true, chainId: ctx.deployment.chainId, from: from.address, transactions: txs };
    if (ctx.json) process.stdout.write(`${toJson(body)}\n`);
    else {
      const out = [`dry run: ${summary} (from ${from.address}, chain ${ctx.deployment.chainId}); nothing sent`];
      txs.forEach((t, i) => {
        out.push(
          `  ${i + 1}. ${t.function}(${t.args.map((a) => (typeof a === "object" ? toJson(a).replace(/\s+/g, " ") : String(a))).join(", ")})`,
        );
        out.push(`     to    ${t.to}`, `     value ${t.value}`, `     data  ${t.data}`);
      });
      process.stdout.write(`${out.join("\n")}\n`);
    }
    return EXIT_OK;
  }
  const wallet = createWalletClient({
    account: from,
    chain: ctx.chain,
    transport: http(ctx.rpcUrl, { retryCount: 1 }),
  });
  const sent: SentTx[] = [];
  for (const t of txs) {
    try {
      await ctx.pub.call({ account: from, to: t.to, data: t.data, value: t.value });
    } catch (e) {
      const r = describeRevert(e);
      throw new ChainRefusal(
        `${t.function} ${r.shortMessage}${sent.length ? ` (after ${sent.map((s) => `${s.function} ${s.hash}`).join(", ")})` : ""}`,
        r.errorName,
        r.errorArgs,
      );
    }
    let hash: Hex;
    try {
      hash = await wallet.sendTransaction({ to: t.to, data: t.data, value: t.value, account: from, chain: ctx.chain });
    } catch (e) {
      const r = describeRevert(e);
      throw new ChainRefusal(`${t.function} was not sent: ${r.shortMessage}`, r.errorName, r.errorArgs);
    }
    const receipt = await ctx.pub.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new ChainRefusal(`${t.function} reverted on-chain (tx ${hash})`);
    sent.push({ function: t.function, hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed });
  }
  if (ctx.json) process.stdout.write(`${toJson({ ok: true, from: from.address, transactions: sent })}\n`);
  else {
    const out = [`${summary}: done`];
    for (const s of sent) out.push(`  ${s.function}  tx ${s.hash} (block ${s.blockNumber}, gas ${s.gasUsed})`);
    process.stdout.write(`${out.join("\n")}\n`);
  }
  return EXIT_OK;
}

/** Approves `spender` for `amount` OPG first when the allowance falls short. */
export async function withApproval(
  ctx: Context,
  owner: Address,
  spender: Address,
  amount: bigint,
  then: PlannedTx,
): Promise<PlannedTx[]> {
  const token = ctx.deployment.contracts.OPGToken;
  const allowance = (await ctx.pub.readContract({
    address: token,
    abi: opgTokenAbi,
    functionName: "allowance",
    args: [owner, spender],
  })) as bigint;
  return allowance >= amount
    ? [then]
    : [plan("OPGToken", token, opgTokenAbi as Abi, "approve", [spender, amount]), then];
}

/** Runs one group's subcommand, printing its help for -h or a missing / unknown subcommand. */
export async function runGroup(
  group: string,
  help: string,
  subs: Record<string, (args: string[]) => Promise<number>>,
  args: string[],
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    process.stdout.write(help);
    return EXIT_OK;
  }
  if (sub === undefined) {
    process.stderr.write(help);
    return EXIT_USAGE;
  }
  const run = subs[sub];
  if (!run)
    throw new UsageError(`unknown ${group} command ${JSON.stringify(sub)} (one of: ${Object.keys(subs).join(", ")})`);
  return run(rest);
}
