/**
 * `npm run deploy` (scripts/deploy.ts, Hardhat Ignition) on a real anvil chain, as an operator runs it:
 * the Timelock owns every protocol contract from its constructor, so no parameter changes without the
 * delay (attack "owner drains every deposit"); on any chain but 31337 nothing comes from a local
 * default or a raw key in the environment; the encrypted keystore signs; verification is configured.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, getAddress, http, parseAbi, type Address } from "viem";
import { opgTokenAbi } from "../../sdk/abis.js";
import { readDeployment } from "../../sdk/deployment.js";
import { loadArtifact } from "../../tools/artifacts.js";
import { devClients, devPrivateKey, startDevChain, type DevChain } from "../../tools/devchain.js";
import { keystoreSet, notOperator, root, runDeploy } from "./deployProcess.js";

const ownable = parseAbi(["function owner() view returns (address)"]);
const timelockAbi = parseAbi([
  "function getMinDelay() view returns (uint256)",
  "function hasRole(bytes32, address) view returns (bool)",
  "function PROPOSER_ROLE() view returns (bytes32)",
]);

/** Every parameter, as an operator writes them for a real chain. */
const realChainParameters = {
  quorum: 1,
  feePerCall: "1000000000000",
  feePerKiloInput: "10000000000000",
  feePerKiloOutput: "30000000000000",
  maxBatchSize: 8192,
  challengeWindow: 7200,
  withdrawDelay: 7200,
  feeSplit: [7000, 2000, 1000],
  rejectedRefundBps: 5000,
  minBond: "1000000000000000000000",
  heartbeat: 86400,
  bondWithdrawDelay: 604800,
  challengerRewardBps: 1000,
  rejectedSlashBps: 1000,
  attesterSlashBps: 1000,
  minStake: "10000000000000000000000",
  exitDelay: 7200,
  proverRewardBps: 1000,
};

function hardhat(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const k of notOperator) delete merged[k];
  const child = spawn(process.execPath, [path.join(root, "node_modules/hardhat/dist/src/cli.js"), ...args], {
    cwd: root,
    env: merged,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}

describe("npm run deploy (scripts/deploy.ts)", function () {
  this.timeout(240_000);
  let chain: DevChain | undefined;
  let dir: string;
  const ids: string[] = [];
  const deploymentId = (name: string) => {
    const id = `test-${name}-${process.pid}-${Date.now()}`;
    ids.push(id);
    return id;
  };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "proofpath-deploy-"));
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const id of ids) rmSync(path.join(root, "ignition/deployments", id), { recursive: true, force: true });
  });

  it("test_ownerDrainsDeposits_deployedBehindTimelock_everyContractOwnedByIt_succeeds", async () => {
    chain = await startDevChain();
    const validators = [1, 2, 3].map((i) => devClients(chain!, i).account.address);
    const governance = devClients(chain, 4).account.address;
    const out = path.join(dir, "local.json");
    const r = await runDeploy(
      {
        PROOFPATH_DEPLOY_RPC_URL: chain.rpcUrl,
        PROOFPATH_DEPLOY_DEPLOYER_KEY: devPrivateKey(0),
        PROOFPATH_DEPLOY_VALIDATORS: validators.join(","),
        PROOFPATH_DEPLOY_QUORUM: "2",
        PROOFPATH_DEPLOY_GOVERNANCE: governance,
        PROOFPATH_DEPLOY_WITHDRAW_DELAY: "7200",
      },
      ["--out", out, "--deployment-id", deploymentId("local")],
    );
    assert.equal(r.code, 0, r.out);
    const d = JSON.parse(readFileSync(out, "utf8")) as { contracts: Record<string, Address> };
    const pub = createPublicClient({ transport: http(chain.url) });
    const timelock = d.contracts.Timelock!;
    assert.ok(timelock, "the deployment record names the timelock");
    for (const name of ["ValidatorSet", "GatewayRegistry", "ProofSettlement"]) {
      assert.equal(
        await pub.readContract({ address: d.contracts[name]!, abi: ownable, functionName: "owner" }),
        timelock,
        `${name} is owned by the timelock`,
      );
    }
    // Default delay: the longest horizon (bond withdrawal delay, 7 days) plus a day.
    assert.equal(
      await pub.readContract({ address: timelock, abi: timelockAbi, functionName: "getMinDelay" }),
      8n * 86_400n,
    );
    const proposer = await pub.readContract({ address: timelock, abi: timelockAbi, functionName: "PROPOSER_ROLE" });
    assert.equal(
      await pub.readContract({
        address: timelock,
        abi: timelockAbi,
        functionName: "hasRole",
        args: [proposer, governance],
      }),
      true,
    );
  });

  it("test_localDefaultsOnRealChain_missingFileRawKeyShortWindowNoRefund_eachRefusedByName", async () => {
    await chain?.stop();
    chain = await startDevChain({ chainId: 8453 });
    const validator = devClients(chain, 1).account.address;
    const env = {
      PROOFPATH_DEPLOY_RPC_URL: chain.rpcUrl,
      PROOFPATH_DEPLOY_VALIDATORS: validator,
      PROOFPATH_DEPLOY_QUORUM: "1",
    };
    const args = (file: string) => [
      "--config",
      file,
      "--out",
      path.join(dir, "x.json"),
      "--deployment-id",
      deploymentId("refused"),
    ];
    const write = (name: string, v: object) => {
      const file = path.join(dir, name);
      writeFileSync(file, JSON.stringify(v));
      return file;
    };
    const full = { ...realChainParameters, opgToken: validator, governance: validator };
    const refusals: [string, Record<string, string | undefined>, string[], RegExp][] = [
      ["no parameters file", env, ["--out", path.join(dir, "x.json")], /chain 8453 needs a parameters file/],
      [
        "a parameter left to its local default",
        env,
        args(write("partial.json", { ...full, challengeWindow: undefined, rejectedRefundBps: undefined })),
        /chain 8453 needs every parameter set; missing challengeWindow, rejectedRefundBps/,
      ],
      [
        "a raw key in the environment",
        { ...env, PROOFPATH_DEPLOY_DEPLOYER_KEY: devPrivateKey(0) },
        args(write("full.json", full)),
        /a raw deployer key in the environment is for chain 31337 only.*keystore set DEPLOYER_PRIVATE_KEY/,
      ],
      [
        "the keystore variable set raw in the environment",
        { ...env, DEPLOYER_PRIVATE_KEY: devPrivateKey(0) },
        args(write("full.json", full)),
        /a raw deployer key in the environment is for chain 31337 only/,
      ],
      [
        "the 60 s window",
        env,
        args(write("window.json", { ...full, challengeWindow: 60 })),
        /challengeWindow: 60 s is a local-chain value; chain 8453 needs at least 3600 s/,
      ],
      [
        "0 % refund",
        env,
        args(write("refund.json", { ...full, rejectedRefundBps: 0 })),
        /rejectedRefundBps: 0 is a local-chain value/,
      ],
      [
        "a local OPGToken",
        env,
        args(write("token.json", { ...full, opgToken: undefined })),
        /opgToken: chain 8453 needs the existing OPG token/,
      ],
      [
        "a timelock shorter than a horizon",
        env,
        args(write("timelock.json", { ...full, timelockDelay: 3600 })),
        /timelockDelay: 3600 s must exceed the longest in-flight horizon/,
      ],
    ];
    for (const [what, e, a, message] of refusals) {
      const r = await runDeploy(e, a);
      assert.equal(r.code, 2, `${what}: ${r.out}`);
      assert.match(r.out, message, what);
    }
    const pub = createPublicClient({ transport: http(chain.rpcUrl) });
    assert.equal(await pub.getTransactionCount({ address: devClients(chain, 0).account.address }), 0, "nothing sent");
  });

  it("test_realChainDeploy_keyFromEncryptedKeystore_deploysAndRecordsProvenance", async () => {
    // chain is the 8453 anvil of the previous test; the OPG token is deployed on it here.
    const { walletClient, publicClient } = devClients(chain!, 0);
    const hash = await walletClient.deployContract({
      abi: opgTokenAbi,
      bytecode: loadArtifact("OPGToken").bytecode,
      args: [walletClient.account.address, 10n ** 27n],
    });
    const token = getAddress((await publicClient.waitForTransactionReceipt({ hash })).contractAddress!);
    const configHome = path.join(dir, "operator-config");
    const password = "correct-horse-battery";
    const key = devPrivateKey(5);
    await keystoreSet(configHome, "DEPLOYER_PRIVATE_KEY", key, password);
    assert.ok(!readFileSync(path.join(configHome, "hardhat-nodejs/keystore.json"), "utf8").includes(key.slice(2)));

    const governance = devClients(chain!, 4).account.address;
    const file = path.join(dir, "base.json");
    writeFileSync(
      file,
      JSON.stringify({
        ...realChainParameters,
        validators: [devClients(chain!, 1).account.address],
        opgToken: token,
        governance,
      }),
    );
    const out = path.join(dir, "base-record.json");
    const id = deploymentId("keystore");
    const r = await runDeploy(
      {
        PROOFPATH_DEPLOY_RPC_URL: chain!.rpcUrl,
        XDG_CONFIG_HOME: configHome,
        PROOFPATH_DEPLOY_VALIDATORS: undefined,
        PROOFPATH_DEPLOY_QUORUM: undefined,
      },
      ["--config", file, "--out", out, "--deployment-id", id],
      { password },
    );
    assert.equal(r.code, 0, r.out);
    assert.ok(!r.out.includes(key.slice(2)), "the key is never printed");
    const d = readDeployment(out);
    assert.equal(d.deployer, devClients(chain!, 5).account.address, "signed by the keystore's key");
    assert.equal(d.chainId, 8453);
    assert.equal(d.contracts.OPGToken, token);
    assert.equal(d.transactions?.OPGToken, undefined, "an existing token is not redeployed");
    assert.deepEqual(Object.keys(d.transactions ?? {}), [
      "Timelock",
      "ValidatorSet",
      "GatewayRegistry",
      "ProofSettlement",
    ]);
    assert.equal(d.parameters?.rejectedRefundBps, 5000);
    assert.equal(d.parameters?.rpcUrl, undefined, "the RPC URL (it may carry an API key) is not recorded");
    assert.equal(
      await publicClient.readContract({ address: d.contracts.ProofSettlement, abi: ownable, functionName: "owner" }),
      d.contracts.Timelock,
    );

    // Verification is configured for this chain's explorers; offline it fails loudly, never silently.
    const verify = await hardhat(["ignition", "verify", id, "--network", "deploy"], {
      PROOFPATH_DEPLOY_RPC_URL: chain!.rpcUrl,
      ETHERSCAN_API_KEY: "test-key",
      DEPLOYER_PRIVATE_KEY: key,
    });
    assert.notEqual(verify.code, 0, verify.out);
    assert.match(verify.out, /HHE\d+|ENOTFOUND|fetch failed|failed/i);
    const noKey = await hardhat(["verify", "etherscan", "--network", "deploy", d.contracts.Timelock!], {
      PROOFPATH_DEPLOY_RPC_URL: chain!.rpcUrl,
      DEPLOYER_PRIVATE_KEY: key,
      XDG_CONFIG_HOME: path.join(dir, "empty-config"),
    });
    assert.notEqual(noKey.code, 0, noKey.out);
    assert.match(noKey.out, /Configuration Variable "ETHERSCAN_API_KEY" not found/);
  });
});
