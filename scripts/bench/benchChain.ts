/**
 * The indexer benches' chain: an anvil node with proofpath deployed and `events` BatchSubmitted
 * events emitted by contracts/mocks/BatchEventEmitter.sol (the very `IProofSettlement` event
 * declaration), 1,000 per transaction and block, mined past Ponder's finality so that all of it is
 * backfill. The deployment file names the emitter as ProofSettlement. Needs `npx hardhat build`.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createPublicClient, http, keccak256, toHex, type Abi, type Address, type Hex } from "viem";
import { repoRoot } from "../../indexer/harness/ponder.js";
import { writeDeployment } from "../../sdk/deployment.js";
import { type DevChain, devClients, devPrivateKey, startDevChain } from "../../tools/devchain.js";
import { localDeployDefaults } from "../../tools/deploy.js";
import { deployDevNet } from "../../tools/devnet.js";

const PER_TX = 1000;
const GATEWAYS = 10;

export async function emitBenchChain(events: number, log: (...a: unknown[]) => void) {
  const emitterArtifact = JSON.parse(
    readFileSync(path.join(repoRoot, "artifacts/contracts/mocks/BatchEventEmitter.sol/BatchEventEmitter.json"), "utf8"),
  ) as { abi: Abi; bytecode: Hex };

  // A 1,000-event transaction needs ~20M gas: raise the block gas limit above it.
  const anvil: DevChain = await startDevChain({ gasLimit: 100_000_000 });
  try {
    const pub = createPublicClient({ chain: anvil.chain, transport: http(anvil.url, { timeout: 300_000 }) });
    const { account, walletClient: wallet } = devClients(anvil, 0);
    const { deployment } = await deployDevNet(anvil, {
      validatorKeys: [devPrivateKey(0)],
      quorum: 1,
      register: false,
    });
    const rate = localDeployDefaults.rate;
    const deployTx = await wallet.deployContract({
      abi: emitterArtifact.abi,
      bytecode: emitterArtifact.bytecode,
      args: [rate.perCall, rate.perKiloInputToken, rate.perKiloOutputToken],
    });
    const emitter = (await pub.waitForTransactionReceipt({ hash: deployTx })).contractAddress as Address;
    const file = path.join(mkdtempSync(path.join(tmpdir(), "proofpath-bench-")), "deployment.json");
    writeDeployment(file, { ...deployment, contracts: { ...deployment.contracts, ProofSettlement: emitter } });

    const gateways = Array.from(
      { length: GATEWAYS },
      (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}` as Address,
    );
    const models = [keccak256(toHex("llama-3.1-8b")), keccak256(toHex("mistral-7b"))].sort() as Hex[];
    const usage = models.map((modelId, i) => ({ modelId, calls: 2 + i, inputTokens: 500n, outputTokens: 900n }));
    const count = 8;
    const fee = usage.reduce(
      (n, u) =>
        n +
        BigInt(u.calls) * rate.perCall +
        (u.inputTokens * rate.perKiloInputToken) / 1000n +
        (u.outputTokens * rate.perKiloOutputToken) / 1000n,
      0n,
    );
    const txs = Math.ceil(events / PER_TX);
    const t0 = performance.now();
    await anvil.rpc("evm_setAutomine", [false]);
    let nonce = await pub.getTransactionCount({ address: account.address, blockTag: "pending" });
    const next = new Map(gateways.map((g) => [g, 0n]));
    const servedAt = BigInt(Date.now()) - 30_000n;
    let last: Hex | undefined;
    for (let t = 0; t < txs; t++) {
      const gw = gateways[t % GATEWAYS]!;
      const first = next.get(gw)!;
      const n = Math.min(PER_TX, events - t * PER_TX);
      last = await wallet.writeContract({
        address: emitter,
        abi: emitterArtifact.abi,
        functionName: "emitBatches",
        args: [
          { gateway: gw, firstBatchSeq: first, firstCallSeq: first * BigInt(count), n, count, fee, servedAt },
          usage,
        ],
        gas: 60_000_000n,
        nonce: nonce++,
        maxFeePerGas: 100_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
      });
      next.set(gw, first + BigInt(n));
      // One 1,000-event transaction per block keeps each block's logs ~1.8 MB, under RPC body limits.
      await anvil.rpc("evm_mine", []);
    }
    while (!(await anvil.rpc("eth_getTransactionReceipt", [last]))) await anvil.rpc("evm_mine", []);
    await anvil.rpc("evm_setAutomine", [true]);
    await anvil.rpc("anvil_mine", ["0x40"]); // past Ponder's 30-block finality: all of it is backfill
    const head = BigInt(await anvil.rpc<string>("eth_blockNumber"));
    log(
      `emitted ${events} BatchSubmitted events in ${txs} txs (${((performance.now() - t0) / 1000).toFixed(1)} s), head ${head}`,
    );
    return { anvil, pub, deployment, emitter, file, head, gateways, next, count };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}
