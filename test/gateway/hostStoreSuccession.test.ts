/**
 * Attack review (session 10): the host cuts the tail of a dead key's log before its successor
 * reads it. The cut is a valid, shorter chain (every frame is signed), so the successor settles the
 * account to the end the shorter log knows. Receipts the dead key signed after the cut (acknowledged
 * by the host as fsynced, so `durable` and signed) are then never settled, and no leaf is ever settled
 * at their callSeq to prove equivocation against. What stops it: once the account is closed
 * (`GatewayRegistry.closeAccount`), such a receipt is itself the proof
 * (`ProofSettlement.challengeOrphanedReceipt`): the dead key's bond pays its holder.
 * Real processes: `proofpath host-store`, anvil, two hooks, a user's commit and reveal.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createWalletClient, http, parseEventLogs, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { decodeBody, parseFrame } from "../../gateway/hoststore/frames.js";
import { closeAccount, registerEnclave, succeedEnclave } from "../../gateway/registration.js";
import { receiptStruct, type StoredReceipt } from "../../gateway/record/receiptLayout.js";
import { gatewayRegistryAbi, proofSettlementAbi } from "../../sdk/abis.js";
import { newSalt, orphanCommitment } from "../../sdk/challenge.js";
import { toCompactSignature } from "../../sdk/eip712.js";
import { hashReceipt } from "../../sdk/hashing.js";
import type { Receipt } from "../../sdk/types.js";
import { devAccount, startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { waitFor } from "../../tools/waitFor.js";
import { nextSeqs } from "./helpers/chain.js";
import { readFrames, startHost, writeFrames } from "./helpers/hostStore.js";
import { recordCalls, testHook } from "./helpers/hookRun.js";
import { newLedger } from "./helpers/verify.js";

describe("host store under succession: the host cuts a dead key's log", function () {
  this.timeout(300_000);
  let dir: string;
  let anvil: DevChain;
  let pp: DevNet;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "pp-hsucc-"));
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
  });
  after(async () => {
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_attack_hostCutsDeadKeysLogBeforeSuccessor_orphanedReceiptProvableBondSlashed", async () => {
    const logs = path.join(dir, "logs");
    const sock = path.join(dir, "host.sock");
    const dead = pp.enclave.address;
    const logFile = path.join(logs, `${dead.toLowerCase()}.log`);
    const ledger = newLedger();
    const held = new Map<number, { receipt: Receipt; signature: Hex }>();
    let host = await startHost(logs, sock);
    try {
      // The dead key serves calls; nothing reaches the chain before it dies.
      const hook = await testHook({
        store: path.join(dir, "dead", "gateway.db"),
        enclaveKey: pp.enclaveKey,
        relayerKey: pp.relayerKey,
        rpcUrl: anvil.url,
        settlement: pp.settlement,
        hostStore: { endpoint: host.endpoint },
        submit: false,
      });
      // A burst that outruns the reservation: raised ahead of it, frame by frame, then one group commit.
      await recordCalls(hook, 60, ledger);
      await recordCalls(hook, 600, ledger);
      // Users ask for their signatures once durable (as GET /da/receipts/:n gives them).
      for (const seq of ledger.durable) {
        const view = hook.receipt(seq)!;
        const stored = view.receipt as unknown as StoredReceipt;
        held.set(seq, {
          receipt: receiptStruct(dead, stored),
          signature: (await hook.receiptSignature(stored)) as Hex,
        });
      }
      await hook.close();
    } finally {
      await host.stop();
    }
    // Every durable receipt could have been signed and handed to its user.
    const signed = [...ledger.durable].sort((a, b) => a - b);

    // The host cuts the log before the last frame that raised the reservation: the receipts that
    // frame made durable above the previous reservation are gone with it (a valid, shorter chain).
    const frames = readFrames(logFile);
    const raises = frames
      .map((f, i) => ({ i, w: decodeBody(parseFrame(f).body) }))
      .filter(({ i, w }) => i > 0 && w.some((x) => x.kind === "reserve" || (x.kind === "receipts" && x.reserve)));
    const cut = raises.at(-1)!.i;
    writeFrames(logFile, frames.slice(0, cut));

    const owner = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(0) });
    const nextKey = generatePrivateKey();
    const next = privateKeyToAccount(nextKey);
    await registerEnclave(anvil.client, { deployment: pp.deployment, owner, enclave: next, validators: pp.validators });
    await succeedEnclave(anvil.client, {
      deployment: pp.deployment,
      operator: owner,
      predecessor: dead,
      successor: next.address,
    });
    host = await startHost(logs, sock);
    try {
      const successor = await testHook({
        store: path.join(dir, "next", "gateway.db"),
        enclaveKey: nextKey,
        relayerKey: pp.relayerKey,
        rpcUrl: anvil.url,
        settlement: pp.settlement,
        hostStore: { endpoint: host.endpoint },
        predecessors: [{ account: dead, store: path.join(dir, "pred", "gateway.db") }],
      });
      await successor.close();
    } finally {
      await host.stop();
    }
    // The successor settled what the cut log holds; the operator closes the account there.
    const end = await closeAccount(anvil.client, { deployment: pp.deployment, sender: owner, account: dead });
    const chain = await nextSeqs(anvil.client, pp.settlement, dead);
    assert.equal(end, BigInt(chain.nextCallSeq));
    const orphaned = signed.filter((s) => s >= chain.nextCallSeq);
    assert.ok(orphaned.length > 0, "the cut must orphan signed receipts, or this test proves nothing");
    assert.ok(
      orphaned.every((s) => held.has(s)),
      "every orphaned receipt's holder has its signature",
    );

    // Every orphaned receipt's holder can prove it; the first to reveal takes the reward.
    const user = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(7) });
    const salt = newSalt();
    const registry = pp.deployment.contracts.GatewayRegistry;
    const bond = (
      (await anvil.client.readContract({
        address: registry,
        abi: gatewayRegistryAbi,
        functionName: "enclave",
        args: [dead],
      })) as { bond: bigint }
    ).bond;
    for (const seq of orphaned) {
      const { receipt } = held.get(seq)!;
      await anvil.client.waitForTransactionReceipt({
        hash: await user.writeContract({
          address: pp.settlement,
          abi: proofSettlementAbi,
          functionName: "commitChallenge",
          args: [orphanCommitment(user.account.address, hashReceipt(receipt), salt)],
        }),
      });
    }
    const commitBlock = await anvil.client.getBlockNumber();
    await waitFor("a block after the commitments", async () => (await anvil.client.getBlockNumber()) > commitBlock);
    for (const seq of orphaned) {
      const { receipt, signature } = held.get(seq)!;
      await anvil.client.simulateContract({
        address: pp.settlement,
        abi: proofSettlementAbi,
        functionName: "challengeOrphanedReceipt",
        args: [receipt, toCompactSignature(signature), salt],
        account: user.account,
      });
    }
    const first = held.get(orphaned[0]!)!;
    const tx = await anvil.client.waitForTransactionReceipt({
      hash: await user.writeContract({
        address: pp.settlement,
        abi: proofSettlementAbi,
        functionName: "challengeOrphanedReceipt",
        args: [first.receipt, toCompactSignature(first.signature), salt],
      }),
    });
    assert.equal(tx.status, "success");
    const [proven] = parseEventLogs({ abi: proofSettlementAbi, logs: tx.logs, eventName: "OrphanedReceiptProven" });
    assert.equal(proven!.args.callSeq, BigInt(orphaned[0]!));
    assert.equal(proven!.args.slashed, bond);
    assert.ok(bond > 0n);
    const after = (await anvil.client.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "enclave",
      args: [dead],
    })) as { bond: bigint; slashed: boolean };
    assert.equal(after.slashed, true);
    assert.equal(after.bond, 0n);
  });
});
