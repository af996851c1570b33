/**
 * The operator commands (`proofpath validator|enclave|governance …`) as an operator runs them: the
 * real CLI process against anvil, configured from PROOFPATH_* environment, the key never a flag.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseUnits, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { opgTokenAbi, validatorSetAbi } from "../../sdk/abis.js";
import { deployProofpath, localDeployDefaults } from "../../tools/deploy.js";
import { writeDeployment, type Deployment } from "../../sdk/deployment.js";
import { devClients, devPrivateKey, startDevChain, type DevChain } from "../../tools/devchain.js";
import { registerEnclave } from "../../gateway/registration.js";
import { loadArtifact } from "../../tools/artifacts.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { cli, cliJson } from "../helpers/cli.js";

const json = cliJson;

describe("operator CLI (scripts/cli/*.ts) on anvil", function () {
  this.timeout(180_000);
  let chain: DevChain;
  let dir: string;
  let file: string;
  let d: Deployment;
  let env: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "proofpath-opcli-"));
    chain = await startDevChain();
    const { walletClient, publicClient } = devClients(chain, 0);
    const validators = [1, 2, 3].map((i) => devClients(chain, i).account.address);
    d = await deployProofpath(walletClient, publicClient, { ...localDeployDefaults, validators, quorum: 2 });
    file = path.join(dir, "local.json");
    writeDeployment(file, d);
    env = { PROOFPATH_OPERATOR_DEPLOYMENT: file, PROOFPATH_OPERATOR_RPC_URL: chain.url };
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function owner(address: Address, abi: readonly unknown[], functionName: string, args: unknown[]) {
    const { walletClient, publicClient } = devClients(chain, 0);
    const hash = await walletClient.writeContract({ address, abi, functionName, args });
    assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, "success");
  }

  it("test_validatorCli_admittedValidatorJoinsThenExits_sentCalldataEqualsDryRunStatusActiveThenExitingRefusalsExit1", async () => {
    const key = devPrivateKey(5);
    const me = privateKeyToAccount(key).address;
    await owner(d.contracts.ValidatorSet, validatorSetAbi, "addValidator", [me]);
    await owner(d.contracts.OPGToken, opgTokenAbi, "transfer", [me, parseUnits("10000", 18)]);
    const as = { ...env, PROOFPATH_OPERATOR_PRIVATE_KEY: key };

    const before = await cli(["validator", "status", "--json"], as);
    assert.equal(before.code, 0, before.stderr);
    assert.equal(json(before).status, "Admitted");

    const dry = await cli(["validator", "join", "--dry-run", "--json"], as);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = json<{
      dryRun: boolean;
      from: Address;
      transactions: { to: Address; data: Hex; value: string; function: string; args: unknown[] }[];
    }>(dry);
    assert.equal(planned.from, me);
    assert.deepEqual(
      planned.transactions.map((t) => t.function),
      ["OPGToken.approve", "ValidatorSet.stake"],
    );
    assert.deepEqual(planned.transactions[1]!.args, [me, parseUnits("10000", 18).toString()]);
    assert.equal(json(await cli(["validator", "status", "--json"], as)).status, "Admitted", "a dry run sends nothing");

    const sent = await cli(["validator", "join", "--json"], as);
    assert.equal(sent.code, 0, sent.stderr);
    const txs = json<{ transactions: { function: string; hash: Hex }[] }>(sent).transactions;
    assert.equal(txs.length, 2);
    const { publicClient } = devClients(chain, 0);
    for (const [i, t] of txs.entries()) {
      const tx = await publicClient.getTransaction({ hash: t.hash });
      assert.equal(tx.input, planned.transactions[i]!.data, `${t.function}: sent calldata equals the dry run's`);
      assert.equal(tx.to?.toLowerCase(), planned.transactions[i]!.to.toLowerCase());
      assert.equal(tx.from.toLowerCase(), me.toLowerCase());
    }

    const active = await cli(["validator", "status", "--json"], as);
    const s = json<{ status: string; stake: string; quorum: string; activeValidators: string; rewardsOwed: string }>(
      active,
    );
    assert.equal(s.status, "Active");
    assert.equal(s.stake, parseUnits("10000", 18).toString());
    assert.equal(s.activeValidators, "4");
    assert.equal(s.quorum, "3", "a strict majority of 4");
    assert.equal(s.rewardsOwed, "0");
    const text = await cli(["validator", "status", me], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /status\s+Active/);

    const exit = await cli(["validator", "exit"], as);
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /ValidatorSet\.requestExit\s+tx 0x[0-9a-f]{64}/);
    assert.equal(json(await cli(["validator", "status", "--json"], as)).status, "Exiting");

    // Chain refusals exit 1 and name the contract's error.
    const again = await cli(["validator", "exit", "--json"], as);
    assert.equal(again.code, 1, again.stdout + again.stderr);
    assert.match(again.stderr, /ValidatorInvalidStatus\(0x[0-9a-fA-F]{40}, 3\)/);
    assert.equal(json<{ error: { errorName: string } }>(again).error.errorName, "ValidatorInvalidStatus");
    const early = await cli(["validator", "withdraw"], as);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /ValidatorStakeLocked/);
    const claim = await cli(["validator", "claim"], as);
    assert.equal(claim.code, 1);
    assert.match(claim.stderr, /SettlementZeroAmount/);
  });

  it("test_cli_usageOrConfigurationError_exits2WhileHelpExits0", async () => {
    for (const group of ["validator", "enclave", "governance"]) {
      const h = await cli([group, "--help"], {});
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`Usage: proofpath ${group} <command>`));
      assert.match(h.stdout, /PROOFPATH_OPERATOR_PRIVATE_KEY/);
      assert.equal((await cli([group], {})).code, 2);
      assert.equal((await cli([group, "bogus"], {})).code, 2);
    }
    const sub = await cli(["validator", "join", "--help"], {});
    assert.equal(sub.code, 0);
    const noDeployment = await cli(["validator", "status", "0x0000000000000000000000000000000000000001"], {
      PROOFPATH_OPERATOR_RPC_URL: chain.url,
    });
    assert.equal(noDeployment.code, 2);
    assert.match(noDeployment.stderr, /deployment: required/);
    // Every problem at once, each by the name the operator used: a misspelt variable, a bad key, a
    // file's bad field.
    const file = path.join(dir, "operator.json");
    writeFileSync(file, JSON.stringify({ rpcUrl: "ftp://example", deployment: env.PROOFPATH_OPERATOR_DEPLOYMENT }));
    const several = await cli(["validator", "join", "--dry-run", "--config", file], {
      PROOFPATH_OPERATOR_RPC_ULR: chain.url,
      PROOFPATH_OPERATOR_PRIVATE_KEY: "0x1234",
    });
    assert.equal(several.code, 2);
    assert.match(
      several.stderr,
      /PROOFPATH_OPERATOR_RPC_ULR: unknown variable; did you mean PROOFPATH_OPERATOR_RPC_URL\?/,
    );
    assert.match(several.stderr, /rpcUrl: expected an http\(s\) or ws\(s\) URL/);
    assert.match(several.stderr, /PROOFPATH_OPERATOR_PRIVATE_KEY: must be 0x followed by 64 hex digits/);
    // The same file with a good URL works: the file is a full configuration.
    writeFileSync(file, JSON.stringify({ rpcUrl: chain.url, deployment: env.PROOFPATH_OPERATOR_DEPLOYMENT }));
    const fromFile = await cli(
      ["validator", "status", "0x0000000000000000000000000000000000000001", "--config", file],
      {},
    );
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const missing = await cli(
      [
        "validator",
        "status",
        "0x0000000000000000000000000000000000000001",
        "--deployment",
        path.join(dir, "nope.json"),
        "--rpc",
        chain.url,
      ],
      {},
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot read deployment file/);
    const badKey = await cli(["validator", "join", "--dry-run"], { ...env, PROOFPATH_OPERATOR_PRIVATE_KEY: "0x1234" });
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /PROOFPATH_OPERATOR_PRIVATE_KEY: must be/);
    const noKey = await cli(["validator", "exit"], env);
    assert.equal(noKey.code, 2);
    const keyFlag = await cli(["validator", "join", "--private-key", devPrivateKey(1)], env);
    assert.equal(keyFlag.code, 2, "no key flag exists");
    const badAmount = await cli(
      ["enclave", "deposit", "0x0000000000000000000000000000000000000001", "--amount", "ten"],
      env,
    );
    assert.equal(badAmount.code, 2);
    assert.match(badAmount.stderr, /--amount: expected an OPG amount/);
  });

  it("test_enclaveCli_depositThenWithdrawRequest_statusShowsBalanceAndPendingStrangerOrLockedWithdrawExits1", async () => {
    const ownerClients = devClients(chain, 0);
    const operator = devClients(chain, 6);
    const enclave = privateKeyToAccount(devPrivateKey(7));
    const validators = [1, 2, 3].map((i) => privateKeyToAccount(devPrivateKey(i)));
    await registerEnclave(ownerClients.publicClient, {
      deployment: d,
      owner: ownerClients.walletClient,
      operator: operator.walletClient,
      enclave,
      validators,
      deposit: parseUnits("100", 18),
    });
    const st = await cli(["enclave", "status", enclave.address, "--json"], env);
    assert.equal(st.code, 0, st.stderr);
    const s = json<{ state: string; operator: Address; balance: string; openBatches: string }>(st);
    assert.equal(s.state, "Active");
    assert.equal(s.operator, operator.account.address);
    assert.equal(s.balance, parseUnits("100", 18).toString());
    assert.equal(s.openBatches, "0");

    const depositor = { ...env, PROOFPATH_OPERATOR_PRIVATE_KEY: devPrivateKey(0) };
    const dep = await cli(["enclave", "deposit", enclave.address, "--amount", "25.5", "--json"], depositor);
    assert.equal(dep.code, 0, dep.stderr);
    assert.equal(
      json<{ balance: string }>(await cli(["enclave", "status", enclave.address, "--json"], env)).balance,
      parseUnits("125.5", 18).toString(),
    );

    const asOperator = { ...env, PROOFPATH_OPERATOR_PRIVATE_KEY: devPrivateKey(6) };
    const notOperator = await cli(["enclave", "withdraw", enclave.address, "--amount", "1"], depositor);
    assert.equal(notOperator.code, 1);
    assert.match(notOperator.stderr, /SettlementNotOperator/);
    const req = await cli(["enclave", "withdraw", enclave.address, "--amount", "20"], asOperator);
    assert.equal(req.code, 0, req.stderr);
    const after = json<{ balance: string; pendingWithdrawal: { amount: string } }>(
      await cli(["enclave", "status", enclave.address, "--json"], env),
    );
    assert.equal(after.balance, parseUnits("105.5", 18).toString());
    assert.equal(after.pendingWithdrawal.amount, parseUnits("20", 18).toString());
    const locked = await cli(["enclave", "withdraw", enclave.address], asOperator);
    assert.equal(locked.code, 1);
    assert.match(locked.stderr, /SettlementWithdrawalLocked/);
  });

  it("test_enclaveCliSucceedAndClose_operatorRetiresAndClosesDeadKey_statusClosedStrangerExits1", async () => {
    const ownerClients = devClients(chain, 0);
    const operator = devClients(chain, 6);
    const validators = [1, 2, 3].map((i) => privateKeyToAccount(devPrivateKey(i)));
    const [dead, successor] = [10, 11].map((i) => privateKeyToAccount(devPrivateKey(i)));
    for (const enclave of [dead!, successor!])
      await registerEnclave(ownerClients.publicClient, {
        deployment: d,
        owner: ownerClients.walletClient,
        operator: operator.walletClient,
        enclave,
        validators,
        deposit: parseUnits("1", 18),
      });
    const args = ["enclave", "succeed", dead!.address, "--successor", successor!.address];
    const stranger = await cli(args, { ...env, PROOFPATH_OPERATOR_PRIVATE_KEY: devPrivateKey(0) });
    assert.equal(stranger.code, 1);
    assert.match(stranger.stderr, /RegistryNotOperator/);
    const asOperator = { ...env, PROOFPATH_OPERATOR_PRIVATE_KEY: devPrivateKey(6) };
    const dry = await cli([...args, "--dry-run", "--json"], asOperator);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /succeed/);
    const done = await cli(args, asOperator);
    assert.equal(done.code, 0, done.stderr);
    const st = json<{ state: string; successor: Address }>(
      await cli(["enclave", "status", dead!.address, "--json"], env),
    );
    assert.equal(st.state, "Retired");
    assert.equal(st.successor, successor!.address);
    const missing = await cli(["enclave", "succeed", dead!.address], asOperator);
    assert.equal(missing.code, 2);
    // The successor settled the account (nothing here): a stranger may not close it yet, the operator may.
    const early = await cli(["enclave", "close", dead!.address], {
      ...env,
      PROOFPATH_OPERATOR_PRIVATE_KEY: devPrivateKey(0),
    });
    assert.equal(early.code, 1);
    assert.match(early.stderr, /RegistryAccountNotClosable/);
    const closed = await cli(["enclave", "close", dead!.address], asOperator);
    assert.equal(closed.code, 0, closed.stderr);
    const after = json<{ closed: boolean; nextCallSeq: string }>(
      await cli(["enclave", "status", dead!.address, "--json"], env),
    );
    assert.equal(after.closed, true);
    assert.equal(after.nextCallSeq, "0");
    const twice = await cli(["enclave", "close", dead!.address], asOperator);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /RegistryAccountClosed/);
  });

  it("test_governanceCli_queueSetFeeRateThroughTimelock_executeRefusedEarlyThenDoneAfterDelay", async () => {
    const { walletClient, publicClient } = devClients(chain, 0);
    const { abi, bytecode } = loadArtifact("Timelock");
    const hash = await walletClient.deployContract({
      abi,
      bytecode,
      args: [
        120n,
        [walletClient.account.address],
        ["0x0000000000000000000000000000000000000000"],
        "0x0000000000000000000000000000000000000000",
      ],
    });
    const timelock = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
    const governed = await deployProofpath(walletClient, publicClient, {
      ...localDeployDefaults,
      validators: [devClients(chain, 1).account.address],
      quorum: 1,
      owner: timelock,
    });
    const gfile = path.join(dir, "governed.json");
    writeDeployment(gfile, { ...governed, contracts: { ...governed.contracts, Timelock: timelock } });
    const genv = {
      PROOFPATH_OPERATOR_DEPLOYMENT: gfile,
      PROOFPATH_OPERATOR_RPC_URL: chain.url,
      PROOFPATH_OPERATOR_PRIVATE_KEY: devPrivateKey(0),
    };
    const rate =
      '{"perCall":"2000000000000","perKiloInputToken":"20000000000000","perKiloOutputToken":"60000000000000"}';
    const op = ["ProofSettlement", "setFeeRate", rate];

    const dry = await cli(["governance", "queue", ...op, "--dry-run", "--json"], genv);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = json<{ transactions: { data: Hex; function: string }[] }>(dry).transactions;
    assert.deepEqual(
      planned.map((t) => t.function),
      ["Timelock.schedule"],
    );
    const queued = await cli(["governance", "queue", ...op, "--json"], genv);
    assert.equal(queued.code, 0, queued.stderr);
    const sentHash = json<{ transactions: { hash: Hex }[] }>(queued).transactions[0]!.hash;
    assert.equal(
      (await publicClient.getTransaction({ hash: sentHash })).input,
      planned[0]!.data,
      "sent calldata equals the dry run's",
    );
    assert.equal(json(await cli(["governance", "status", ...op, "--json"], genv)).state, "Waiting");

    const early = await cli(["governance", "execute", ...op], genv);
    assert.equal(early.code, 1, early.stdout + early.stderr);
    assert.match(early.stderr, /TimelockUnexpectedOperationState/);

    await chain.test.increaseTime({ seconds: 121 });
    await chain.test.mine({ blocks: 1 });
    const executed = await cli(["governance", "execute", ...op], {
      ...genv,
      PROOFPATH_OPERATOR_PRIVATE_KEY: devPrivateKey(9),
    });
    assert.equal(executed.code, 0, executed.stderr);
    assert.equal(json(await cli(["governance", "status", ...op, "--json"], genv)).state, "Done");
    const now = (await publicClient.readContract({
      address: governed.contracts.ProofSettlement,
      abi: proofSettlementAbi,
      functionName: "feeRate",
    })) as { perCall: bigint };
    assert.equal(now.perCall, 2_000_000_000_000n);

    const bad = await cli(["governance", "queue", "ProofSettlement", "setFeeRate", '{"perCall":"x"}'], genv);
    assert.equal(bad.code, 2);
    const noSuch = await cli(["governance", "queue", "ProofSettlement", "drain"], genv);
    assert.equal(noSuch.code, 2);
    assert.match(noSuch.stderr, /no state-changing function "drain"/);
  });
});
