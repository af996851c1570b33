/**
 * Deploys proofpath to any EVM chain and writes the deployment file the indexer, gateway and
 * validators read. A Timelock (OpenZeppelin TimelockController) is deployed first and owns the three
 * protocol contracts from their constructors: every parameter change is proposed by governance,
 * queued on-chain and runs only after the delay. Configuration comes from environment variables (or
 * a JSON file via --config); every value is checked and a bad one is named in the error.
 *
 *   PROOFPATH_RPC_URL=https://... PROOFPATH_DEPLOYER_KEY=0x... PROOFPATH_VALIDATORS=0xa,0xb,0xc \
 *   PROOFPATH_QUORUM=2 PROOFPATH_OPG_TOKEN=0x... npm run deploy -- --out deployments/mainnet.json
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  isAddress,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { z } from "zod";
import { deployProofpath, localDeployDefaults } from "../tools/deploy.js";
import { writeDeployment } from "../sdk/deployment.js";
import { loadArtifact } from "../tools/artifacts.js";

const HELP = `Usage: npm run deploy -- [--config file.json] [--out deployments/<name>.json]

Environment (a --config JSON file with the same keys in camelCase wins over the environment):
  PROOFPATH_RPC_URL             JSON-RPC endpoint (required)
  PROOFPATH_DEPLOYER_KEY        deployer private key, 0x + 64 hex (required)
  PROOFPATH_VALIDATORS          comma-separated validator addresses (required)
  PROOFPATH_QUORUM              validator quorum k (required)
  PROOFPATH_OPG_TOKEN           existing OPG token; when absent a local OPGToken is deployed (test chains only)
  PROOFPATH_GOVERNANCE          who may propose timelocked changes, e.g. a multisig (default: deployer)
  PROOFPATH_TIMELOCK_DELAY      seconds a change waits in the timelock; must exceed every in-flight horizon
                                (default: the longest of the delays and windows below + 1 day)
  PROOFPATH_TREASURY            treasury address (default: deployer)
  PROOFPATH_FEE_PER_CALL        OPG wei per call             (default ${localDeployDefaults.rate.perCall})
  PROOFPATH_FEE_PER_KILO_INPUT  OPG wei per 1k input tokens  (default ${localDeployDefaults.rate.perKiloInputToken})
  PROOFPATH_FEE_PER_KILO_OUTPUT OPG wei per 1k output tokens (default ${localDeployDefaults.rate.perKiloOutputToken})
  PROOFPATH_MAX_BATCH_SIZE      leaves per batch (default ${localDeployDefaults.maxBatchSize})
  PROOFPATH_CHALLENGE_WINDOW    seconds (default ${localDeployDefaults.challengeWindow})
  PROOFPATH_WITHDRAW_DELAY      seconds (default ${localDeployDefaults.withdrawDelay})
  PROOFPATH_FEE_SPLIT           validator,treasury,burn basis points (default ${localDeployDefaults.validatorBps},${localDeployDefaults.treasuryBps},${localDeployDefaults.burnBps})
  PROOFPATH_REJECTED_REFUND_BPS share of a rejected batch's fee refunded to the gateway (default ${localDeployDefaults.rejectedRefundBps})
  PROOFPATH_MIN_BOND            OPG wei (default ${localDeployDefaults.minBond})
  PROOFPATH_HEARTBEAT           seconds an enclave approval lasts (default ${localDeployDefaults.heartbeatInterval})
  PROOFPATH_BOND_WITHDRAW_DELAY seconds (default ${localDeployDefaults.bondWithdrawDelay})
  PROOFPATH_CHALLENGER_REWARD_BPS share of a slashed bond paid to the challenger, <= 1000 (default ${localDeployDefaults.challengerRewardBps})
  PROOFPATH_REJECTED_SLASH_BPS  share of the bond a quorum-rejected batch costs (default ${localDeployDefaults.rejectedSlashBps})
  PROOFPATH_ATTESTER_SLASH_BPS  share of each attester's stake lost when its batch is proven equivocating (default ${localDeployDefaults.attesterSlashBps})
  PROOFPATH_MIN_STAKE           OPG wei a validator stakes at least (default ${localDeployDefaults.minStake})
  PROOFPATH_EXIT_DELAY          seconds a leaving validator's stake stays locked (default ${localDeployDefaults.exitDelay})
  PROOFPATH_PROVER_REWARD_BPS   share of a slashed stake paid to the prover, <= 1000 (default ${localDeployDefaults.proverRewardBps})
Validators are admitted, not staked: each stakes with ValidatorSet.stake(itself, amount) to join.
`;

const address = (name: string) =>
  z.string().refine((v) => isAddress(v), `${name} must be a 0x-prefixed 20-byte address`);
const uint = z.coerce.bigint().refine((v) => v >= 0n, "must be a non-negative integer");
const seconds = z.coerce.number().int().nonnegative();

const configSchema = z.object({
  rpcUrl: z.string().url(),
  deployerKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x + 64 hex characters"),
  validators: z.array(address("validator")).min(1),
  quorum: z.coerce.number().int().positive(),
  opgToken: address("opgToken").optional(),
  governance: address("governance").optional(),
  treasury: address("treasury").optional(),
  feePerCall: uint.default(localDeployDefaults.rate.perCall),
  feePerKiloInput: uint.default(localDeployDefaults.rate.perKiloInputToken),
  feePerKiloOutput: uint.default(localDeployDefaults.rate.perKiloOutputToken),
  maxBatchSize: z.coerce.number().int().positive().default(localDeployDefaults.maxBatchSize),
  challengeWindow: seconds.default(localDeployDefaults.challengeWindow),
  withdrawDelay: seconds.default(localDeployDefaults.withdrawDelay),
  feeSplit: z
    .tuple([z.coerce.number().int(), z.coerce.number().int(), z.coerce.number().int()])
    .refine(([a, b, c]) => a + b + c === 10_000, "validator + treasury + burn basis points must sum to 10000")
    .default([localDeployDefaults.validatorBps, localDeployDefaults.treasuryBps, localDeployDefaults.burnBps]),
  rejectedRefundBps: z.coerce.number().int().min(0).max(10_000).default(localDeployDefaults.rejectedRefundBps),
  minBond: uint.default(localDeployDefaults.minBond),
  heartbeat: seconds.default(localDeployDefaults.heartbeatInterval),
  bondWithdrawDelay: seconds.default(localDeployDefaults.bondWithdrawDelay),
  challengerRewardBps: z.coerce.number().int().min(0).max(1_000).default(localDeployDefaults.challengerRewardBps),
  rejectedSlashBps: z.coerce.number().int().min(0).max(10_000).default(localDeployDefaults.rejectedSlashBps),
  attesterSlashBps: z.coerce.number().int().min(0).max(10_000).default(localDeployDefaults.attesterSlashBps),
  minStake: uint.default(localDeployDefaults.minStake),
  exitDelay: seconds.default(localDeployDefaults.exitDelay),
  proverRewardBps: z.coerce.number().int().min(0).max(1_000).default(localDeployDefaults.proverRewardBps),
  timelockDelay: seconds.optional(),
});

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const list = (v?: string) =>
    v
      ? v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  const raw: Record<string, unknown> = {
    rpcUrl: env.PROOFPATH_RPC_URL,
    deployerKey: env.PROOFPATH_DEPLOYER_KEY,
    validators: list(env.PROOFPATH_VALIDATORS),
    quorum: env.PROOFPATH_QUORUM,
    opgToken: env.PROOFPATH_OPG_TOKEN,
    governance: env.PROOFPATH_GOVERNANCE,
    treasury: env.PROOFPATH_TREASURY,
    feePerCall: env.PROOFPATH_FEE_PER_CALL,
    feePerKiloInput: env.PROOFPATH_FEE_PER_KILO_INPUT,
    feePerKiloOutput: env.PROOFPATH_FEE_PER_KILO_OUTPUT,
    maxBatchSize: env.PROOFPATH_MAX_BATCH_SIZE,
    challengeWindow: env.PROOFPATH_CHALLENGE_WINDOW,
    withdrawDelay: env.PROOFPATH_WITHDRAW_DELAY,
    feeSplit: list(env.PROOFPATH_FEE_SPLIT),
    rejectedRefundBps: env.PROOFPATH_REJECTED_REFUND_BPS,
    minBond: env.PROOFPATH_MIN_BOND,
    heartbeat: env.PROOFPATH_HEARTBEAT,
    bondWithdrawDelay: env.PROOFPATH_BOND_WITHDRAW_DELAY,
    challengerRewardBps: env.PROOFPATH_CHALLENGER_REWARD_BPS,
    rejectedSlashBps: env.PROOFPATH_REJECTED_SLASH_BPS,
    attesterSlashBps: env.PROOFPATH_ATTESTER_SLASH_BPS,
    minStake: env.PROOFPATH_MIN_STAKE,
    exitDelay: env.PROOFPATH_EXIT_DELAY,
    proverRewardBps: env.PROOFPATH_PROVER_REWARD_BPS,
    timelockDelay: env.PROOFPATH_TIMELOCK_DELAY,
  };
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}

async function main() {
  const { values } = parseArgs({
    options: { config: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const fileConfig = values.config ? JSON.parse(readFileSync(values.config, "utf8")) : {};
  const parsed = configSchema.safeParse({ ...fromEnv(process.env), ...fileConfig });
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      console.error(`deploy: ${issue.path.join(".") || "config"}: ${issue.message}`);
    console.error("deploy: run with --help for the settings");
    process.exit(2);
  }
  const c = parsed.data;
  const account = privateKeyToAccount(c.deployerKey as Hex);
  const probe = createPublicClient({ transport: http(c.rpcUrl) });
  const chainId = await probe.getChainId();
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [c.rpcUrl] } },
  });
  const pub = createPublicClient({ chain, transport: http(c.rpcUrl) });
  const wallet = createWalletClient({ account, chain, transport: http(c.rpcUrl) });

  // Short windows are for local chains: elsewhere a user must have time to see a batch and challenge it.
  if (chainId !== 31337 && c.challengeWindow < 3600) {
    console.error(
      `deploy: challengeWindow: ${c.challengeWindow} s is a local-chain value; chain ${chainId} needs at least 3600 s (set PROOFPATH_CHALLENGE_WINDOW)`,
    );
    process.exit(2);
  }
  // The timelock must outlast every horizon a party may need to act on a change it rejects: a gateway
  // withdrawing its deposit or bond, a validator leaving, a batch in flight closing its window.
  const horizon = Math.max(c.withdrawDelay, c.challengeWindow, c.exitDelay, c.bondWithdrawDelay);
  const timelockDelay = c.timelockDelay ?? horizon + 86_400;
  if (timelockDelay <= horizon) {
    console.error(`deploy: timelockDelay: ${timelockDelay} s must exceed the longest in-flight horizon (${horizon} s)`);
    process.exit(2);
  }
  console.log(
    `deploying proofpath to chain ${chainId} from ${account.address}${c.opgToken ? ` with OPG at ${c.opgToken}` : " with a local OPGToken"}`,
  );
  const proposer = (c.governance ?? account.address) as Address;
  const timelockHash = await wallet.deployContract({
    ...loadArtifact("Timelock"),
    args: [BigInt(timelockDelay), [proposer], [zeroAddress], zeroAddress],
  });
  const timelock = getAddress((await pub.waitForTransactionReceipt({ hash: timelockHash })).contractAddress!);
  console.log(`  Timelock         ${timelock} (delay ${timelockDelay} s, proposer ${proposer}, anyone executes)`);
  const deployment = await deployProofpath(wallet, pub, {
    owner: timelock,
    token: c.opgToken as Address | undefined,
    treasury: c.treasury as Address | undefined,
    validators: c.validators as Address[],
    quorum: c.quorum,
    rate: { perCall: c.feePerCall, perKiloInputToken: c.feePerKiloInput, perKiloOutputToken: c.feePerKiloOutput },
    maxBatchSize: c.maxBatchSize,
    challengeWindow: c.challengeWindow,
    withdrawDelay: c.withdrawDelay,
    validatorBps: c.feeSplit[0],
    treasuryBps: c.feeSplit[1],
    burnBps: c.feeSplit[2],
    rejectedRefundBps: c.rejectedRefundBps,
    minBond: c.minBond,
    heartbeatInterval: c.heartbeat,
    bondWithdrawDelay: c.bondWithdrawDelay,
    challengerRewardBps: c.challengerRewardBps,
    rejectedSlashBps: c.rejectedSlashBps,
    attesterSlashBps: c.attesterSlashBps,
    minStake: c.minStake,
    exitDelay: c.exitDelay,
    proverRewardBps: c.proverRewardBps,
  });
  deployment.contracts.Timelock = timelock;
  const out = values.out ?? `deployments/chain-${chainId}.json`;
  writeDeployment(out, deployment);
  for (const [name, addr] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(16)} ${addr}`);
  console.log(`start block ${deployment.startBlock}; wrote ${out}`);
}

main().catch((e) => {
  console.error(`deploy failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
