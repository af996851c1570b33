/**
 * `proofpath enclave status | deposit | withdraw | succeed`: an enclave key's registry record and its
 * fee balance on ProofSettlement (deposit, requestWithdraw, withdraw after the delay), and key
 * succession (GatewayRegistry.succeed: a dead key's account handed to a new key of the same operator).
 */
import type { Abi, Address } from "viem";
import { gatewayRegistryAbi, proofSettlementAbi } from "../../sdk/abis.js";
import { UsageError } from "../cliErrors.js";
import {
  COMMON_OPTIONS_HELP,
  EXIT_OK,
  addressArg,
  amountArg,
  connect,
  execute,
  opg,
  parseCommand,
  plan,
  requireAccount,
  runGroup,
  toJson,
  withApproval,
} from "./common.js";

export const ENCLAVE_HELP = `Usage: proofpath enclave <command> <enclave-key-address> [options]

An enclave key's fee balance and registry record. The key's operator (the address that registered
it) signs withdrawals; anyone may deposit.

Commands:
  status <key>                       Registry record (operator, bond, active until, slashed), fee
                                     balance, pending withdrawal and open batches
  deposit <key> --amount <OPG>       Approve OPG if needed, then ProofSettlement.deposit(key, amount)
  withdraw <key> --amount <OPG>      ProofSettlement.requestWithdraw(key, amount): the amount leaves the
                                     balance now and unlocks after the withdrawal delay
  withdraw <key> [--to <addr>]       Without --amount: ProofSettlement.withdraw(key, to), the unlocked
                                     pending withdrawal (default to: the signer)
  succeed <dead-key> --successor <key>
                                     GatewayRegistry.succeed(dead-key, key): retires the dead key for
                                     good and lets the successor (same operator, approved) settle the
                                     dead key's account; start the successor's hook with
                                     predecessors: [{ account: dead-key, store }]

${COMMON_OPTIONS_HELP}
`;

const settlementAbi = proofSettlementAbi as Abi;

function keyArg(positionals: string[]): Address {
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  return addressArg(positionals[0], "<enclave-key-address>");
}

async function deposit(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { amount: { type: "string" } });
  if (values.help) return help();
  const key = keyArg(positionals);
  const amount = amountArg(values.amount, "--amount");
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const settlement = ctx.deployment.contracts.ProofSettlement;
  const tx = plan("ProofSettlement", settlement, settlementAbi, "deposit", [key, amount]);
  return execute(
    ctx,
    me,
    await withApproval(ctx, me.address, settlement, amount, tx),
    `deposit ${opg(amount)} for enclave ${key}`,
  );
}

async function withdraw(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { amount: { type: "string" }, to: { type: "string" } });
  if (values.help) return help();
  const key = keyArg(positionals);
  if (values.amount !== undefined && values.to !== undefined) {
    throw new UsageError("--amount requests a withdrawal, --to completes one: pass one of them");
  }
  const amount = values.amount === undefined ? undefined : amountArg(values.amount, "--amount");
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const settlement = ctx.deployment.contracts.ProofSettlement;
  if (amount !== undefined) {
    return execute(
      ctx,
      me,
      [plan("ProofSettlement", settlement, settlementAbi, "requestWithdraw", [key, amount])],
      `request a withdrawal of ${opg(amount)} from enclave ${key}`,
    );
  }
  const to = values.to === undefined ? me.address : addressArg(values.to, "--to");
  return execute(
    ctx,
    me,
    [plan("ProofSettlement", settlement, settlementAbi, "withdraw", [key, to])],
    `withdraw the pending balance of enclave ${key} to ${to}`,
  );
}

async function succeed(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { successor: { type: "string" } });
  if (values.help) return help();
  const key = keyArg(positionals);
  const successor = addressArg(values.successor, "--successor");
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  return execute(
    ctx,
    me,
    [
      plan("GatewayRegistry", ctx.deployment.contracts.GatewayRegistry, gatewayRegistryAbi as Abi, "succeed", [
        key,
        successor,
      ]),
    ],
    `retire enclave ${key}; ${successor} settles its account`,
  );
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  if (values.help) return help();
  const key = keyArg(positionals);
  if (values["dry-run"]) throw new UsageError("status sends nothing: --dry-run does not apply");
  const ctx = await connect(values);
  const { GatewayRegistry: registry, ProofSettlement: settlement } = ctx.deployment.contracts;
  const [record, balance, pending, openBatches, successor] = await Promise.all([
    ctx.pub.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "enclave",
      args: [key],
    }) as Promise<{
      operator: Address;
      activeUntil: bigint;
      slashed: boolean;
      measurement: string;
      attestationHash: string;
      keyConfigHash: string;
      bond: bigint;
      approvalNonce: bigint;
      bondUnlockAt: bigint;
    }>,
    ctx.pub.readContract({
      address: settlement,
      abi: proofSettlementAbi,
      functionName: "balanceOf",
      args: [key],
    }) as Promise<bigint>,
    ctx.pub.readContract({
      address: settlement,
      abi: proofSettlementAbi,
      functionName: "pendingWithdrawal",
      args: [key],
    }) as Promise<readonly [bigint, bigint]>,
    ctx.pub.readContract({
      address: settlement,
      abi: proofSettlementAbi,
      functionName: "openBatches",
      args: [key],
    }) as Promise<bigint>,
    ctx.pub.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "successorOf",
      args: [key],
    }) as Promise<Address>,
  ]);
  const registered = record.operator !== "0x0000000000000000000000000000000000000000";
  const now = (await ctx.pub.getBlock({ blockTag: "latest" })).timestamp;
  const state = !registered
    ? "NotRegistered"
    : record.slashed
      ? "Slashed"
      : successor !== "0x0000000000000000000000000000000000000000"
        ? "Retired"
        : record.activeUntil > now
          ? "Active"
          : "Inactive";
  const body = {
    key,
    state,
    ...record,
    balance,
    pendingWithdrawal: { amount: pending[0], unlockAt: pending[1] },
    openBatches,
    successor,
  };
  if (ctx.json) process.stdout.write(`${toJson(body)}\n`);
  else {
    const when = (t: bigint) => (t === 0n ? "-" : new Date(Number(t) * 1000).toISOString());
    process.stdout.write(
      `${[
        `enclave ${key}`,
        `  state         ${state}`,
        `  operator      ${registered ? record.operator : "-"}`,
        `  active until  ${when(record.activeUntil)}`,
        `  measurement   ${record.measurement}`,
        `  bond          ${opg(record.bond)}${record.bondUnlockAt ? ` (withdrawal unlocks ${when(record.bondUnlockAt)})` : ""}`,
        `  fee balance   ${opg(balance)}`,
        `  withdrawal    ${pending[0] === 0n ? "none pending" : `${opg(pending[0])}, unlocks ${when(pending[1])}`}`,
        `  open batches  ${openBatches}`,
        ...(state === "Retired" ? [`  successor     ${successor} (signs for this account)`] : []),
      ].join("\n")}\n`,
    );
  }
  return EXIT_OK;
}

function help(): number {
  process.stdout.write(ENCLAVE_HELP);
  return EXIT_OK;
}

export function enclaveCommand(args: string[]): Promise<number> {
  return runGroup("enclave", ENCLAVE_HELP, { status, deposit, withdraw, succeed }, args);
}
