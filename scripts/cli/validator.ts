/**
 * `proofpath validator join | exit | withdraw | claim | status`: a validator's own life cycle on the
 * ValidatorSet (stake, requestExit, withdrawStake) and its fee rewards on ProofSettlement.
 */
import type { Abi, Address } from "viem";
import { proofSettlementAbi, validatorSetAbi } from "../../sdk/abis.js";
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

export const VALIDATOR_STATUS = ["None", "Admitted", "Active", "Exiting", "Banned"] as const;

export const VALIDATOR_HELP = `Usage: proofpath validator <command> [options]

A validator's own stake and rewards. Governance admits a validator (ValidatorSet.addValidator); the
validator then joins by staking at least minStake, and leaves by requesting exit: its stake stays
locked and slashable for exitDelay, then it withdraws it.

Commands:
  join [--amount <OPG>]     Approve OPG if needed, then ValidatorSet.stake(self, amount)
                            (default amount: what reaches minStake, or minStake when already Active)
  exit                      ValidatorSet.requestExit(): leave the active set; the stake unlocks after exitDelay
  withdraw [--to <addr>]    ValidatorSet.withdrawStake(to) once unlocked (default to: self)
  claim [--to <addr>]       ProofSettlement.claimRewards(to): the fees of batches it attested (default to: self)
  status [<address>]        Validator record, rewards owed, quorum and set size (default: the key's address)

${COMMON_OPTIONS_HELP}
`;

const vsetAbi = validatorSetAbi as Abi;

async function join(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { amount: { type: "string" } });
  if (values.help) return help();
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const vset = ctx.deployment.contracts.ValidatorSet;
  let amount: bigint;
  if (values.amount !== undefined) amount = amountArg(values.amount, "--amount");
  else {
    const [, minStake] = (await ctx.pub.readContract({
      address: vset,
      abi: validatorSetAbi,
      functionName: "params",
    })) as readonly [bigint, bigint, bigint, number];
    const v = (await ctx.pub.readContract({
      address: vset,
      abi: validatorSetAbi,
      functionName: "validator",
      args: [me.address],
    })) as { stake: bigint };
    amount = v.stake >= minStake ? minStake : minStake - v.stake;
  }
  const stake = plan("ValidatorSet", vset, vsetAbi, "stake", [me.address, amount]);
  return execute(
    ctx,
    me,
    await withApproval(ctx, me.address, vset, amount, stake),
    `stake ${opg(amount)} for ${me.address}`,
  );
}

async function exit(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  if (values.help) return help();
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  return execute(
    ctx,
    me,
    [plan("ValidatorSet", ctx.deployment.contracts.ValidatorSet, vsetAbi, "requestExit", [])],
    `request exit for ${me.address}`,
  );
}

async function withdraw(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { to: { type: "string" } });
  if (values.help) return help();
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const to = values.to === undefined ? me.address : addressArg(values.to, "--to");
  return execute(
    ctx,
    me,
    [plan("ValidatorSet", ctx.deployment.contracts.ValidatorSet, vsetAbi, "withdrawStake", [to])],
    `withdraw the stake of ${me.address} to ${to}`,
  );
}

async function claim(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { to: { type: "string" } });
  if (values.help) return help();
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const ctx = await connect(values);
  const me = requireAccount(ctx);
  const to = values.to === undefined ? me.address : addressArg(values.to, "--to");
  return execute(
    ctx,
    me,
    [
      plan("ProofSettlement", ctx.deployment.contracts.ProofSettlement, proofSettlementAbi as Abi, "claimRewards", [
        to,
      ]),
    ],
    `claim the rewards of ${me.address} to ${to}`,
  );
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  if (values.help) return help();
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  if (values["dry-run"]) throw new UsageError("status sends nothing: --dry-run does not apply");
  const ctx = await connect(values);
  let who: Address;
  if (positionals[0] !== undefined) who = addressArg(positionals[0], "<address>");
  else if (ctx.account) who = ctx.account.address;
  else throw new UsageError("pass <address> or set PROOFPATH_OPERATOR_PRIVATE_KEY");
  const { ValidatorSet: vset, ProofSettlement: settlement } = ctx.deployment.contracts;
  const [record, rewardsOwed, quorum, count, params] = await Promise.all([
    ctx.pub.readContract({ address: vset, abi: validatorSetAbi, functionName: "validator", args: [who] }) as Promise<{
      status: number;
      unlockAt: bigint;
      stake: bigint;
    }>,
    ctx.pub.readContract({
      address: settlement,
      abi: proofSettlementAbi,
      functionName: "rewardsOwed",
      args: [who],
    }) as Promise<bigint>,
    ctx.pub.readContract({ address: vset, abi: validatorSetAbi, functionName: "quorum" }) as Promise<bigint>,
    ctx.pub.readContract({ address: vset, abi: validatorSetAbi, functionName: "validatorCount" }) as Promise<bigint>,
    ctx.pub.readContract({ address: vset, abi: validatorSetAbi, functionName: "params" }) as Promise<
      readonly [bigint, bigint, bigint, number]
    >,
  ]);
  const statusName = VALIDATOR_STATUS[record.status] ?? `Unknown(${record.status})`;
  const body = {
    address: who,
    status: statusName,
    stake: record.stake,
    unlockAt: record.unlockAt,
    rewardsOwed,
    quorum,
    activeValidators: count,
    minStake: params[1],
    exitDelay: params[2],
  };
  if (ctx.json) process.stdout.write(`${toJson(body)}\n`);
  else {
    const unlock =
      record.status === 3 ? ` (stake unlocks ${new Date(Number(record.unlockAt) * 1000).toISOString()})` : "";
    process.stdout.write(
      `${[
        `validator ${who}`,
        `  status        ${statusName}${unlock}`,
        `  stake         ${opg(record.stake)} (minStake ${opg(params[1])})`,
        `  rewards owed  ${opg(rewardsOwed)}`,
        `  quorum        ${quorum} of ${count} active validators`,
        `  exit delay    ${params[2]} s`,
      ].join("\n")}\n`,
    );
  }
  return EXIT_OK;
}

function help(): number {
  process.stdout.write(VALIDATOR_HELP);
  return EXIT_OK;
}

export function validatorCommand(args: string[]): Promise<number> {
  return runGroup("validator", VALIDATOR_HELP, { join, exit, withdraw, claim, status }, args);
}
