/**
 * The validator's chain errors (validator/chain.ts) from a real anvil chain and a real deployment:
 * a revert with the settlement's custom error (through viem's simulate and through a raw call), a
 * revert without data, and a dead RPC URL, each classified by viem's typed errors into a
 * non-retryable TransactionRevertedError or a retryable RpcUnavailableError.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { encodeFunctionData, HttpRequestError } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { freePort } from "../../tools/devchain.js";
import {
  createValidatorChain,
  isRetryable,
  RpcUnavailableError,
  TransactionRevertedError,
} from "../../validator/index.js";
import { startTestNet, type TestNet } from "./helpers/setup.js";

describe("validator chain errors, classified from a real chain", function () {
  this.timeout(120_000);
  let net: TestNet;

  before(async () => {
    net = await startTestNet({ blockTime: 0 });
  });
  after(async () => {
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  const chainOf = (rpcUrl: string) =>
    createValidatorChain({ rpcUrl, account: privateKeyToAccount(net.validatorKeys[0]!), settlement: net.settlement });

  it("test_chain_customErrorRevert_isNonRetryableTransactionRevertedNamingTheError", async () => {
    const chain = chainOf(net.anvil.url);
    // Nothing to claim: claimRewards reverts with SettlementZeroAmount().
    const viaSimulate = await chain.send("claimRewards", [net.validators[0]!.address]).catch((e: unknown) => e);
    assert.ok(viaSimulate instanceof TransactionRevertedError, String(viaSimulate));
    assert.equal(viaSimulate.reason, "SettlementZeroAmount()");
    assert.equal(viaSimulate.retryable, false);
    assert.equal(isRetryable(viaSimulate), false);

    const data = encodeFunctionData({
      abi: proofSettlementAbi,
      functionName: "claimRewards",
      args: [net.validators[0]!.address],
    });
    const viaRaw = await chain.sendCalldata("claimRewards", data).catch((e: unknown) => e);
    assert.ok(viaRaw instanceof TransactionRevertedError, String(viaRaw));
    assert.equal(viaRaw.reason, "SettlementZeroAmount()");
  });

  it("test_chain_revertWithoutData_isTransactionReverted_notRpcUnavailable", async () => {
    // No function has this selector and the settlement has no fallback: a revert with empty data,
    // which viem types as ExecutionRevertedError.
    const e = await chainOf(net.anvil.url)
      .sendCalldata("claimRewards", "0xdeadbeef")
      .catch((x: unknown) => x);
    assert.ok(e instanceof TransactionRevertedError, String(e));
    assert.equal(e.retryable, false);
  });

  it("test_chain_deadRpcUrl_isRetryableRpcUnavailable", async () => {
    const chain = chainOf(`http://127.0.0.1:${await freePort()}`);
    const e = await chain.batch(net.enclave.address, 0n).catch((x: unknown) => x);
    assert.ok(e instanceof RpcUnavailableError, String(e));
    assert.equal(e.retryable, true);
    assert.equal(isRetryable(e), true);
    assert.ok(
      e.walk((x) => x instanceof HttpRequestError),
      "the cause is viem's HttpRequestError",
    );
  });
});
