/**
 * A production deployment killed midway resumes (Hardhat Ignition's journal): the deploy process is
 * SIGKILLed after its first contract, with the second one's transaction sent but not yet mined, and
 * run again. Attack/failure: "a retried deployment deploys a contract twice or wires the settlement to
 * the wrong registry". The chain mines only when the test says so, so the kill point is exact.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestClient, getAddress, http, parseAbi, publicActions, type Address, type Hex } from "viem";
import { readDeployment } from "../../sdk/deployment.js";
import { readJournal } from "../../tools/ignitionJournal.js";
import { devClients, devPrivateKey, startDevChain, type DevChain } from "../../tools/devchain.js";
import { root, runDeploy, startDeploy } from "./deployProcess.js";

const wiring = parseAbi([
  "function owner() view returns (address)",
  "function SETTLEMENT() view returns (address)",
  "function REGISTRY() view returns (address)",
  "function VALIDATORS() view returns (address)",
]);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("npm run deploy resumes a deployment killed midway (Ignition journal)", function () {
  this.timeout(240_000);
  let chain: DevChain | undefined;
  let dir: string;
  const dirs: string[] = [];

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "proofpath-resume-"));
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // After the first contract the settlement's address is predicted afresh on the rerun; after the third
  // (ValidatorSet) it is read back from the journal, where the validator set's arguments hold it.
  const cases: [string, number][] = [
    ["test_deployKilledAfterFirstContract_rerun_completesWithoutDeployingAnyContractTwice", 1],
    ["test_deployKilledAfterValidatorSet_rerun_keepsJournaledSettlementAddressAndCompletes", 3],
  ];
  for (const [title, killAfter] of cases) it(title, () => killAndResume(killAfter));

  async function killAndResume(killAfter: number) {
    await chain?.stop();
    chain = await startDevChain();
    const deploymentId = `test-resume-${killAfter}-${process.pid}-${Date.now()}`;
    const deploymentDir = path.join(root, "ignition/deployments", deploymentId);
    dirs.push(deploymentDir);
    const test = createTestClient({ chain: chain.chain, mode: "anvil", transport: http(chain.rpcUrl) }).extend(
      publicActions,
    );
    await test.setAutomine(false);
    const deployer = devClients(chain, 0).account.address;
    const env = {
      PROOFPATH_DEPLOY_RPC_URL: chain.rpcUrl,
      PROOFPATH_DEPLOY_DEPLOYER_KEY: devPrivateKey(0),
      PROOFPATH_DEPLOY_VALIDATORS: [1, 2, 3].map((i) => devClients(chain!, i).account.address).join(","),
      PROOFPATH_DEPLOY_QUORUM: "2",
    };
    const out = path.join(dir, "deployment.json");
    const args = ["--deployment-id", deploymentId, "--out", out];

    // First run: mine each transaction (and Ignition's 5 confirmations on a non-automining chain) until
    // `killAfter` contracts are executed and the next one's transaction is sent; then SIGKILL.
    const first = startDeploy(env, args);
    let journal = readJournal(deploymentDir);
    await until(`${killAfter} contracts executed and the next one's transaction sent`, async () => {
      if (first.child.exitCode !== null) throw new Error(`deploy exited early:\n${first.output()}`);
      journal = readJournal(deploymentDir);
      const done = [...journal.futures.values()].filter((f) => f.complete).length;
      const sentNotDone = [...journal.futures.values()].filter((f) => !f.complete && f.nonces.length).length;
      const { pending } = await test.getTxpoolStatus();
      if (done < killAfter && pending > 0) await test.mine({ blocks: 5 }); // then mine nothing more
      return done === killAfter && sentNotDone === 1 && pending === 1 ? true : undefined;
    });
    first.child.kill("SIGKILL");
    await first.exited;
    const executedBeforeKill = [...journal.futures]
      .filter(([, f]) => f.complete)
      .map(([id, f]) => `${id} ${f.address}`);
    const inFlightAtKill = [...journal.futures].filter(([, f]) => !f.complete && f.nonces.length).map(([id]) => id);
    const order = ["OPGToken", "Timelock", "ValidatorSet", "GatewayRegistry", "ProofSettlement"].map(
      (n) => `Proofpath#${n}`,
    );
    assert.deepEqual(
      executedBeforeKill.map((s) => s.split(" ")[0]),
      order.slice(0, killAfter),
    );
    assert.deepEqual(inFlightAtKill, [order[killAfter]]);
    assert.equal(await test.getTransactionCount({ address: deployer }), killAfter, "mined before the kill");
    assert.equal(
      await test.getTransactionCount({ address: deployer, blockTag: "pending" }),
      killAfter + 1,
      "the next transaction is in the mempool",
    );
    console.log(`      before the kill: executed ${executedBeforeKill.join(", ")}; sent, not mined: ${inFlightAtKill}`);

    // The killed transaction lands while the deployer is down; then the operator runs the same command.
    await test.mine({ blocks: 1 });
    await test.setAutomine(true);
    const second = await runDeploy(env, args);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, new RegExp(`resuming Ignition deployment ${deploymentId}`));

    const d = readDeployment(out);
    const after = readJournal(deploymentDir);
    console.log(
      `      after the rerun: ${[...after.futures]
        .filter(([, f]) => f.complete)
        .map(([id, f]) => `${id} ${f.address}`)
        .join(", ")}`,
    );
    // Nothing twice: five contracts, five transactions from the deployer, five contract creations.
    assert.equal(await test.getTransactionCount({ address: deployer }), 5);
    let creations = 0;
    const latest = await test.getBlockNumber();
    for (let b = 0n; b <= latest; b++) {
      const block = await test.getBlock({ blockNumber: b, includeTransactions: true });
      creations += block.transactions.filter((t) => t.from.toLowerCase() === deployer.toLowerCase() && !t.to).length;
    }
    assert.equal(creations, 5, "each contract deployed exactly once");
    assert.equal(
      d.contracts.OPGToken,
      getAddress(executedBeforeKill[0]!.split(" ")[1]!),
      "the first run's token is kept",
    );

    // Complete and wired: the Timelock owns the three, and the settlement's constructor check held.
    const c = d.contracts as Record<string, Address>;
    for (const name of ["OPGToken", "Timelock", "ValidatorSet", "GatewayRegistry", "ProofSettlement"])
      assert.ok((await test.getCode({ address: c[name]! }))?.length, `${name} has code`);
    for (const name of ["ValidatorSet", "GatewayRegistry", "ProofSettlement"])
      assert.equal(await test.readContract({ address: c[name]!, abi: wiring, functionName: "owner" }), c.Timelock);
    for (const name of ["ValidatorSet", "GatewayRegistry"])
      assert.equal(
        await test.readContract({ address: c[name]!, abi: wiring, functionName: "SETTLEMENT" }),
        c.ProofSettlement,
      );
    assert.equal(
      await test.readContract({ address: c.ProofSettlement!, abi: wiring, functionName: "REGISTRY" }),
      c.GatewayRegistry,
    );

    // The record: one creation transaction per contract with its arguments and build.
    for (const name of ["OPGToken", "Timelock", "ValidatorSet", "GatewayRegistry", "ProofSettlement"]) {
      const t = d.transactions?.[name];
      assert.ok(t, `${name} in the record`);
      const receipt = await test.getTransactionReceipt({ hash: t.hash as Hex });
      assert.equal(receipt.contractAddress && getAddress(receipt.contractAddress), c[name]);
      assert.match(t.buildInfoId ?? "", /^solc-0_8_28-/);
    }
    assert.equal(d.transactions?.ValidatorSet?.constructorArgs[1], c.ProofSettlement);
    assert.match(d.gitCommit ?? "", /^[0-9a-f]{40}$/);
    assert.equal(d.ignition?.deploymentId, deploymentId);
    assert.equal(d.parameters?.quorum, 2);
  }
});
