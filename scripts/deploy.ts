/**
 * Deploys proofpath to any EVM chain and writes the deployment file the indexer, gateway and
 * validators read. A Timelock (OpenZeppelin TimelockController) is deployed first and owns the three
 * protocol contracts from their constructors: every parameter change is proposed by governance,
 * queued on-chain and runs only after the delay. Configuration: `PROOFPATH_DEPLOY_*` variables and a
 * `--config` file (deploy/config.ts; `--help` lists every field); every problem is reported at once.
 *
 *   PROOFPATH_DEPLOY_RPC_URL=https://... PROOFPATH_DEPLOY_DEPLOYER_KEY=0x... \
 *   PROOFPATH_DEPLOY_VALIDATORS=0xa,0xb,0xc PROOFPATH_DEPLOY_QUORUM=2 PROOFPATH_DEPLOY_OPG_TOKEN=0x... \
 *   npm run deploy -- --out deployments/mainnet.json
 */
import { parseArgs } from "node:util";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { z } from "zod";
import { ConfigError, configHelp, readConfig } from "../sdk/config.js";
import { deployProofpath } from "../tools/deploy.js";
import { deployConfigRole, type deployConfigSchema } from "./deploy/config.js";
import { writeDeployment } from "../sdk/deployment.js";
import { loadArtifact } from "../tools/artifacts.js";

async function main() {
  const { values } = parseArgs({
    options: { config: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(configHelp(deployConfigRole));
    return;
  }
  let c: z.output<typeof deployConfigSchema>;
  try {
    c = readConfig(deployConfigRole, { file: values.config }).config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`deploy: ${e.message}\ndeploy: run with --help for the settings`);
    process.exit(2);
  }
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
      `deploy: challengeWindow: ${c.challengeWindow} s is a local-chain value; chain ${chainId} needs at least 3600 s (set PROOFPATH_DEPLOY_CHALLENGE_WINDOW)`,
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
  } as never);
  const timelock = getAddress((await pub.waitForTransactionReceipt({ hash: timelockHash })).contractAddress!);
  console.log(`  Timelock         ${timelock} (delay ${timelockDelay} s, proposer ${proposer}, anyone executes)`);
  const deployment = await deployProofpath(wallet, pub as never, {
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
