/**
 * `npm run deploy` (scripts/deploy.ts) on a real anvil chain, as an operator runs it: the Timelock
 * owns every protocol contract from its constructor, so no parameter changes without the delay
 * (attack "owner drains every deposit"), and a local-chain window is refused on any other chain.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, http, parseAbi, type Address } from "viem";
import { devClients, devPrivateKey, startDevChain, type DevChain } from "../../tools/devchain.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function runDeploy(env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(root, "node_modules/tsx/dist/cli.mjs"), "scripts/deploy.ts", ...args],
      {
        cwd: root,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

const ownable = parseAbi(["function owner() view returns (address)"]);
const timelockAbi = parseAbi([
  "function getMinDelay() view returns (uint256)",
  "function hasRole(bytes32, address) view returns (bool)",
  "function PROPOSER_ROLE() view returns (bytes32)",
]);

describe("npm run deploy (scripts/deploy.ts)", function () {
  this.timeout(120_000);
  let chain: DevChain | undefined;
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "proofpath-deploy-"));
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("test_ownerDrainsDeposits_deployedBehindTimelock_everyContractOwnedByIt_succeeds", async () => {
    chain = await startDevChain();
    const validators = [1, 2, 3].map((i) => devClients(chain!, i).account.address);
    const governance = devClients(chain, 4).account.address;
    const out = path.join(dir, "local.json");
    const r = await runDeploy(
      {
        PROOFPATH_RPC_URL: chain.url,
        PROOFPATH_DEPLOYER_KEY: devPrivateKey(0),
        PROOFPATH_VALIDATORS: validators.join(","),
        PROOFPATH_QUORUM: "2",
        PROOFPATH_GOVERNANCE: governance,
        PROOFPATH_WITHDRAW_DELAY: "7200",
      },
      ["--out", out],
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

  it("test_localDefaultsOnRealChain_shortWindowOrShortTimelock_refused", async () => {
    await chain?.stop();
    chain = await startDevChain({ chainId: 8453 });
    const env = {
      PROOFPATH_RPC_URL: chain.url,
      PROOFPATH_DEPLOYER_KEY: devPrivateKey(0),
      PROOFPATH_VALIDATORS: devClients(chain, 1).account.address,
      PROOFPATH_QUORUM: "1",
    };
    const short = await runDeploy(env, ["--out", path.join(dir, "x.json")]);
    assert.equal(short.code, 2, short.out);
    assert.match(short.out, /challengeWindow: 60 s is a local-chain value; chain 8453 needs at least 3600 s/);
    const timelock = await runDeploy(
      { ...env, PROOFPATH_CHALLENGE_WINDOW: "7200", PROOFPATH_EXIT_DELAY: "7200", PROOFPATH_TIMELOCK_DELAY: "3600" },
      ["--out", path.join(dir, "y.json")],
    );
    assert.equal(timelock.code, 2, timelock.out);
    assert.match(timelock.out, /timelockDelay: 3600 s must exceed the longest in-flight horizon/);
  });
});
