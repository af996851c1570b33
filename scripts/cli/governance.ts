/**
 * `proofpath governance queue | execute | status`: a parameter change through the Timelock that owns
 * the protocol contracts (TimelockController.schedule, then execute once the delay has passed).
 */
import {
  encodeFunctionData,
  isHex,
  keccak256,
  toHex,
  type Abi,
  type AbiFunction,
  type AbiParameter,
  type Address,
  type Hex,
} from "viem";
import { gatewayRegistryAbi, proofSettlementAbi, timelockAbi, validatorSetAbi } from "../../sdk/abis.js";
import { UsageError } from "../cliErrors.js";
import {
  COMMON_OPTIONS_HELP,
  EXIT_OK,
  connect,
  execute,
  parseCommand,
  plan,
  requireAccount,
  runGroup,
  toJson,
  type Context,
} from "./common.js";

export const GOVERNANCE_HELP = `Usage: proofpath governance <command> <contract> <function> [args...] [options]

A call to ValidatorSet, GatewayRegistry or ProofSettlement made by their owner, the Timelock named
in the deployment: queue it (the proposer's key), then anyone executes it after the delay. The same
<contract> <function> [args...] and --salt name the same operation in every command.

Commands:
  queue <contract> <function> [args...]     Timelock.schedule(target, 0, call, 0, salt, delay)
  execute <contract> <function> [args...]   Timelock.execute(target, 0, call, 0, salt) once ready
  status <contract> <function> [args...]    Operation id, state (Unset, Waiting, Ready, Done), ready time

Arguments are JSON or plain text, checked against the function's ABI: numbers as decimal strings,
structs as JSON objects. Example:
  proofpath governance queue ProofSettlement setFeeRate \\
    '{"perCall":"1000000000000","perKiloInputToken":"10000000000000","perKiloOutputToken":"30000000000000"}'

Options:
  --salt <text|bytes32>  Distinguishes repeated identical calls (default 0x0; text is keccak256-hashed)
  --delay <seconds>      queue only: the delay (default and minimum: the Timelock's getMinDelay)

${COMMON_OPTIONS_HELP}
`;

const TARGETS = {
  ValidatorSet: validatorSetAbi,
  GatewayRegistry: gatewayRegistryAbi,
  ProofSettlement: proofSettlementAbi,
} as const;
const ZERO32 = `0x${"00".repeat(32)}` as Hex;
const STATES = ["Unset", "Waiting", "Ready", "Done"] as const;

/** Converts a command-line value to what viem encodes for `param`. */
function coerce(param: AbiParameter, value: unknown, where: string): unknown {
  const t = param.type;
  const fail = (): never => {
    throw new UsageError(`${where}: expected ${t}, got ${JSON.stringify(value)}`);
  };
  const array = /^(.*)\[(\d*)\]$/.exec(t);
  if (array) {
    const list = typeof value === "string" ? parseJson(value, where) : value;
    if (!Array.isArray(list)) return fail();
    return list.map((v, i) => coerce({ ...param, type: array[1]! } as AbiParameter, v, `${where}[${i}]`));
  }
  if (t === "tuple") {
    const obj = typeof value === "string" ? parseJson(value, where) : value;
    if (obj === null || typeof obj !== "object") return fail();
    const components = (param as { components: readonly AbiParameter[] }).components;
    const out: Record<string, unknown> = {};
    for (const [i, c] of components.entries()) {
      const v = Array.isArray(obj) ? obj[i] : (obj as Record<string, unknown>)[c.name!];
      if (v === undefined) throw new UsageError(`${where}: missing field ${c.name}`);
      out[c.name!] = coerce(c, v, `${where}.${c.name}`);
    }
    return out;
  }
  if (/^u?int\d*$/.test(t)) {
    if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
    if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
    return fail();
  }
  if (t === "bool")
    return value === true || value === "true" ? true : value === false || value === "false" ? false : fail();
  if (t === "address" || t.startsWith("bytes")) return typeof value === "string" && isHex(value) ? value : fail();
  if (t === "string") return String(value);
  return fail();
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${where}: expected JSON, got ${JSON.stringify(text)}`);
  }
}

interface Operation {
  contract: keyof typeof TARGETS;
  target: Address;
  fn: AbiFunction;
  args: unknown[];
  call: Hex;
  salt: Hex;
}

function parseOperation(
  ctx: Pick<Context, "deployment">,
  positionals: string[],
  saltText: string | undefined,
): Operation {
  const [contract, functionName, ...raw] = positionals;
  if (!contract || !functionName) throw new UsageError("expected <contract> <function> [args...]");
  if (!(contract in TARGETS))
    throw new UsageError(`<contract>: one of ${Object.keys(TARGETS).join(", ")}, got ${JSON.stringify(contract)}`);
  const abi = TARGETS[contract as keyof typeof TARGETS] as Abi;
  const candidates = abi.filter(
    (x): x is AbiFunction =>
      x.type === "function" && x.name === functionName && x.stateMutability !== "view" && x.stateMutability !== "pure",
  );
  if (candidates.length === 0)
    throw new UsageError(`${contract} has no state-changing function ${JSON.stringify(functionName)}`);
  const fn = candidates.find((f) => f.inputs.length === raw.length);
  if (!fn)
    throw new UsageError(
      `${contract}.${functionName} takes ${candidates.map((f) => f.inputs.length).join(" or ")} argument(s), got ${raw.length}`,
    );
  const args = fn.inputs.map((p, i) => {
    const text = raw[i]!;
    const v = p.type === "tuple" || p.type.endsWith("]") ? parseJson(text, `argument ${p.name ?? i}`) : text;
    return coerce(p, v, `argument ${p.name || i}`);
  });
  let salt = ZERO32;
  if (saltText !== undefined)
    salt = /^0x[0-9a-fA-F]{64}$/.test(saltText) ? (saltText as Hex) : keccak256(toHex(saltText));
  const target = ctx.deployment.contracts[contract as keyof typeof TARGETS];
  return {
    contract: contract as keyof typeof TARGETS,
    target,
    fn,
    args,
    call: encodeFunctionData({ abi: [fn], functionName: fn.name, args }),
    salt,
  };
}

function timelockOf(ctx: Context): Address {
  const t = ctx.deployment.contracts.Timelock;
  if (!t)
    throw new UsageError(
      "the deployment names no Timelock (deployed without governance: its owner calls the contracts directly)",
    );
  return t as Address;
}
async function queue(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { salt: { type: "string" }, delay: { type: "string" } });
  if (values.help) return help();
  const ctx = await connect(values);
  const op = parseOperation(ctx, positionals, values.salt);
  const me = requireAccount(ctx);
  const timelock = timelockOf(ctx);
  const minDelay = (await ctx.pub.readContract({
    address: timelock,
    abi: timelockAbi,
    functionName: "getMinDelay",
  })) as bigint;
  let delay = minDelay;
  if (values.delay !== undefined) {
    if (!/^\d+$/.test(values.delay))
      throw new UsageError(`--delay: expected seconds, got ${JSON.stringify(values.delay)}`);
    delay = BigInt(values.delay);
    if (delay < minDelay) throw new UsageError(`--delay ${delay} is below the Timelock's minimum delay ${minDelay}`);
  }
  const tx = plan("Timelock", timelock, timelockAbi, "schedule", [op.target, 0n, op.call, ZERO32, op.salt, delay]);
  return execute(ctx, me, [tx], `queue ${op.contract}.${op.fn.name} (ready in ${delay} s)`);
}

async function executeOp(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { salt: { type: "string" } });
  if (values.help) return help();
  const ctx = await connect(values);
  const op = parseOperation(ctx, positionals, values.salt);
  const me = requireAccount(ctx);
  const tx = plan("Timelock", timelockOf(ctx), timelockAbi, "execute", [op.target, 0n, op.call, ZERO32, op.salt]);
  return execute(ctx, me, [tx], `execute ${op.contract}.${op.fn.name}`);
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { salt: { type: "string" } });
  if (values.help) return help();
  if (values["dry-run"]) throw new UsageError("status sends nothing: --dry-run does not apply");
  const ctx = await connect(values);
  const op = parseOperation(ctx, positionals, values.salt);
  const timelock = timelockOf(ctx);
  const abi = timelockAbi;
  const id = (await ctx.pub.readContract({
    address: timelock,
    abi,
    functionName: "hashOperation",
    args: [op.target, 0n, op.call, ZERO32, op.salt],
  })) as Hex;
  const [state, readyAt] = await Promise.all([
    ctx.pub.readContract({ address: timelock, abi, functionName: "getOperationState", args: [id] }) as Promise<number>,
    ctx.pub.readContract({ address: timelock, abi, functionName: "getTimestamp", args: [id] }) as Promise<bigint>,
  ]);
  const body = {
    id,
    state: STATES[state] ?? String(state),
    readyAt,
    timelock,
    target: op.target,
    function: `${op.contract}.${op.fn.name}`,
    args: op.args,
    call: op.call,
    salt: op.salt,
  };
  if (ctx.json) process.stdout.write(`${toJson(body)}\n`);
  else {
    const when = readyAt > 1n ? ` (ready at ${new Date(Number(readyAt) * 1000).toISOString()})` : "";
    process.stdout.write(`operation ${id}\n  ${body.function}\n  state  ${body.state}${when}\n`);
  }
  return EXIT_OK;
}

function help(): number {
  process.stdout.write(GOVERNANCE_HELP);
  return EXIT_OK;
}

export function governanceCommand(args: string[]): Promise<number> {
  return runGroup("governance", GOVERNANCE_HELP, { queue, execute: executeOp, status }, args);
}
