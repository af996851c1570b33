/**
 * Deploys proofpath to any EVM chain with Hardhat Ignition (ignition/modules/Proofpath.ts) and writes
 * the deployment record the indexer, gateway and validators read. A Timelock (OpenZeppelin
 * TimelockController) is deployed first and owns the three protocol contracts from their
 * constructors: every parameter change is proposed by governance, queued on-chain and runs only
 * after the delay. Ignition journals each transaction in ignition/deployments/<id>/: run the same
 * command again after a crash and it resumes. Configuration: `PROOFPATH_DEPLOY_*` variables and a
 * `--config` file (scripts/deploy/config.ts; `--help` lists every field). On chain 31337 a raw key
 * and local defaults are allowed; on any other chain every parameter comes from the --config file
 * and the deployer key from the encrypted keystore (`npx hardhat keystore set DEPLOYER_PRIVATE_KEY`).
 *
 *   PROOFPATH_DEPLOY_RPC_URL=https://... npm run deploy -- --config deploy/base.json --out deployments/base.json
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createPublicClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { z } from "zod";
import { ConfigError, configHelp, readConfig } from "../sdk/config.js";
import { writeDeployment } from "../sdk/deployment.js";
import { localDeployDefaults } from "../tools/deploy.js";
import { deployConfigRole, deployConfigSchema } from "./deploy/config.js";

const LOCAL_CHAIN_ID = 31337;

const HELP_EXTRA = `--deployment-id  Ignition deployment id (default chain-<chainId>); its journal is ignition/deployments/<id>/,
              and running again with the same id resumes an interrupted deployment.
Deployer key: on chain 31337 deployerKey (PROOFPATH_DEPLOY_DEPLOYER_KEY); elsewhere the encrypted
keystore's DEPLOYER_PRIVATE_KEY (npx hardhat keystore set DEPLOYER_PRIVATE_KEY): a raw key is refused.
On any chain but 31337 every parameter must be set in the --config file (none is defaulted).
`;

/** Fields with a local-chain default: on any other chain each must be given, never defaulted. */
const localDefaulted = Object.entries(deployConfigSchema.shape)
  .filter(([, t]) => t instanceof z.ZodDefault)
  .map(([k]) => k);

function refuse(message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(2);
}

async function main() {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      out: { type: "string" },
      "deployment-id": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(configHelp(deployConfigRole, HELP_EXTRA));
    return;
  }
  let c: z.output<typeof deployConfigSchema>;
  let fromEnv: Readonly<Record<string, string>>;
  try {
    ({ config: c, names: fromEnv } = readConfig(deployConfigRole, { file: values.config }));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`deploy: ${e.message}\ndeploy: run with --help for the settings`);
    process.exit(2);
  }
  // What the operator set (file keys or variables), as opposed to a local default.
  const fileKeys = values.config ? Object.keys(JSON.parse(readFileSync(values.config, "utf8")) as object) : [];
  const given = new Set([...fileKeys, ...Object.keys(fromEnv)]);
  const chainId = await createPublicClient({ transport: http(c.rpcUrl) }).getChainId();

  // Local defaults are for the local chain only: anywhere else every value is the operator's, written
  // in a parameters file, and the key comes from the encrypted keystore, not the environment.
  if (chainId !== LOCAL_CHAIN_ID) {
    if (!values.config)
      refuse(
        `chain ${chainId} needs a parameters file (--config deploy/<network>.json); local defaults apply on ${LOCAL_CHAIN_ID} only`,
      );
    const missing = localDefaulted.filter((k) => !given.has(k));
    if (missing.length)
      refuse(`${values.config}: chain ${chainId} needs every parameter set; missing ${missing.join(", ")}`);
    if (c.deployerKey || process.env.DEPLOYER_PRIVATE_KEY)
      refuse(
        `a raw deployer key in the environment is for chain ${LOCAL_CHAIN_ID} only; on chain ${chainId} store it encrypted: npx hardhat keystore set DEPLOYER_PRIVATE_KEY`,
      );
    if (!c.opgToken)
      refuse(`opgToken: chain ${chainId} needs the existing OPG token; a local OPGToken is for test chains`);
    if (c.rejectedRefundBps === 0)
      refuse(
        `rejectedRefundBps: 0 is a local-chain value; on chain ${chainId} a gateway whose batch is rejected must get part of its fee back`,
      );
  } else if (!c.deployerKey) {
    refuse(
      `deployerKey: chain ${LOCAL_CHAIN_ID} takes a raw key (PROOFPATH_DEPLOY_DEPLOYER_KEY); keystores are for real chains`,
    );
  }
  // Short windows are for local chains: elsewhere a user must have time to see a batch and challenge it.
  if (chainId !== LOCAL_CHAIN_ID && c.challengeWindow < 3600)
    refuse(
      `challengeWindow: ${c.challengeWindow} s is a local-chain value; chain ${chainId} needs at least 3600 s (set challengeWindow)`,
    );
  // The timelock must outlast every horizon a party may need to act on a change it rejects: a gateway
  // withdrawing its deposit or bond, a validator leaving, a batch in flight closing its window.
  const horizon = Math.max(c.withdrawDelay, c.challengeWindow, c.exitDelay, c.bondWithdrawDelay);
  const timelockDelay = c.timelockDelay ?? horizon + 86_400;
  if (timelockDelay <= horizon)
    refuse(`timelockDelay: ${timelockDelay} s must exceed the longest in-flight horizon (${horizon} s)`);

  const deployer = c.deployerKey ? privateKeyToAccount(c.deployerKey as Hex).address : undefined;
  const proposer = c.governance ?? deployer;
  if (!proposer) refuse("governance: who may propose timelocked changes (e.g. a multisig) must be set");
  // Hardhat (config, plugins, keystore) loads only once the parameters passed every check above.
  const { deployWithIgnition } = await import("../tools/deployIgnition.js");
  const deployment = await deployWithIgnition({
    rpcUrl: c.rpcUrl,
    privateKey: c.deployerKey as Hex | undefined,
    deploymentId: values["deployment-id"] ?? `chain-${chainId}`,
    deployToken: !c.opgToken,
    treasuryIsTimelock: !c.treasury,
    parameters: {
      ...(c.opgToken ? { token: c.opgToken } : { initialSupply: localDeployDefaults.initialSupply }),
      ...(c.treasury ? { treasury: c.treasury } : {}),
      proposer,
      timelockDelay: BigInt(timelockDelay),
      validators: c.validators,
      quorum: BigInt(c.quorum),
      minStake: c.minStake,
      exitDelay: BigInt(c.exitDelay),
      proverRewardBps: c.proverRewardBps,
      minBond: c.minBond,
      heartbeat: BigInt(c.heartbeat),
      bondWithdrawDelay: BigInt(c.bondWithdrawDelay),
      challengerRewardBps: c.challengerRewardBps,
      rejectedSlashBps: c.rejectedSlashBps,
      feePerCall: c.feePerCall,
      feePerKiloInput: c.feePerKiloInput,
      feePerKiloOutput: c.feePerKiloOutput,
      maxBatchSize: c.maxBatchSize,
      challengeWindow: c.challengeWindow,
      withdrawDelay: c.withdrawDelay,
      validatorBps: c.feeSplit[0],
      treasuryBps: c.feeSplit[1],
      burnBps: c.feeSplit[2],
      rejectedRefundBps: c.rejectedRefundBps,
      attesterSlashBps: c.attesterSlashBps,
    },
    // Neither the key nor the RPC URL (it often carries a provider's API key) goes into the record.
    recordParameters: { ...c, deployerKey: undefined, rpcUrl: undefined, governance: proposer, timelockDelay },
  });
  const out = values.out ?? `deployments/chain-${chainId}.json`;
  writeDeployment(out, deployment);
  for (const [name, addr] of Object.entries(deployment.contracts)) console.log(`  ${name.padEnd(16)} ${addr}`);
  console.log(`start block ${deployment.startBlock}; wrote ${out}`);
}

main().catch((e) => {
  console.error(`deploy failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
