/**
 * The hook's durable store on an untrusted host (issue 18 item 1). Real processes: the host store
 * runs as `proofpath host-store` on a Unix socket, the chain is anvil. The host is the attacker: it
 * edits, drops, reorders, truncates and rolls back the enclave's log between runs, and each one must
 * be refused at recovery by name. The honest host carries the hook through restarts and settles
 * every call; a host SIGKILLed mid-commit never acknowledges the commit it did not fsync, and
 * nothing the enclave signed is lost.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { bytesToHex, hexToBytes, isAddressEqual, keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { devAccount, startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { nextSeqs, settledBatches } from "./helpers/chain.js";
import { testHook, recordCalls, models } from "./helpers/hookRun.js";
import { startHost, type Host } from "./helpers/hostStore.js";
import { newLedger, verifySettlement, type Ledger } from "./helpers/verify.js";
import { HostStoreClient } from "../../gateway/hoststore/client.js";
import { appendWrites, restoreFromHost } from "../../gateway/hoststore/restore.js";
import { GENESIS, chainHead, parseFrame, verifyLog } from "../../gateway/hoststore/frames.js";
import { hostConnect } from "../../gateway/hoststore/transport.js";
import { HostStoreTamperedError, StoreBehindChainError } from "../../gateway/errors.js";
import { REC } from "../../gateway/record/receiptLayout.js";
import type { SettlementHook } from "../../gateway/index.js";
import { Store } from "../../gateway/store.js";
import { decodeRecord } from "../../gateway/record/receiptLayout.js";
import { buildTree } from "../../sdk/merkle.js";
import { registerEnclave, succeedEnclave } from "../../gateway/registration.js";
import { createWalletClient, http } from "viem";
import { foundry } from "viem/chains";

/** A host log file's frames (`u32 length | frame` each). */
function readFrames(file: string): Buffer[] {
  const b = readFileSync(file);
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; ) {
    const n = b.readUInt32BE(at);
    out.push(b.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

function writeFrames(file: string, frames: readonly Buffer[]): void {
  writeFileSync(
    file,
    Buffer.concat(
      frames.flatMap((f) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(f.length);
        return [len, f];
      }),
    ),
  );
}

describe("host store: durable state outside the enclave", function () {
  this.timeout(300_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "pp-host-"));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_attack_hostAltersDropsOrReordersFrames_refusedByNameAtRecovery", async () => {
    const logs = path.join(dir, "tamper");
    const host = await startHost(logs, path.join(dir, "tamper.sock"));
    try {
      const key = generatePrivateKey();
      const gateway = privateKeyToAccount(key).address;
      // An honest log: 6 group commits of receipts, chained and signed by the enclave key.
      const { client } = await HostStoreClient.open(hostConnect(host.endpoint), host.endpoint, "pristine");
      let state = { seq: 0, head: GENESIS };
      for (let g = 0; g < 6; g++) {
        const data = new Uint8Array(4 * REC).fill(g + 1);
        state = await appendWrites(client, state, gateway, key, [
          { kind: "receipts", firstSeq: g * 4, count: 4, data },
        ]);
      }
      client.close();
      const restore = (log: string, signers: Address[] = [gateway]) =>
        restoreFromHost({ endpoint: host.endpoint, log }, gateway, signers, path.join(dir, `${log}.db`));

      const ok = await restore("pristine");
      assert.equal(ok.frames, 6);
      assert.equal(ok.store.durableEnd(), 24, "the honest log restores every receipt");
      ok.store.close();
      ok.client.close();

      const frames = readFrames(path.join(logs, "pristine.log"));
      const altered = frames.map((f) => Buffer.from(f));
      altered[2]![altered[2]!.length - 7]! ^= 1; // one byte of one receipt in frame 2
      writeFrames(path.join(logs, "altered.log"), altered);
      const alteredLast = frames.map((f) => Buffer.from(f));
      alteredLast[5]![alteredLast[5]!.length - 1]! ^= 1;
      writeFrames(path.join(logs, "alteredLast.log"), alteredLast);
      writeFrames(path.join(logs, "dropped.log"), [...frames.slice(0, 3), ...frames.slice(4)]);
      writeFrames(path.join(logs, "reordered.log"), [frames[0]!, frames[2]!, frames[1]!, ...frames.slice(3)]);

      const refused = async (log: string, problem: string, signers?: Address[]) => {
        await assert.rejects(restore(log, signers), (e: unknown) => {
          assert.ok(e instanceof HostStoreTamperedError, `${log}: ${String(e)}`);
          assert.equal(e.name, "HostStoreTamperedError");
          assert.equal(e.problem, problem, `${log}: ${e.message}`);
          return true;
        });
      };
      await refused("altered", "altered");
      await refused("alteredLast", "altered");
      await refused("dropped", "dropped");
      await refused("reordered", "reordered");
      // The honest log, but presented as another key's: its signer is not the gateway's.
      await refused("pristine", "altered", [privateKeyToAccount(generatePrivateKey()).address]);
    } finally {
      await host.stop();
    }
  });

  describe("on anvil", () => {
    let anvil: DevChain;
    let pp: DevNet;
    /** What the succession test leaves for the attack after it. */
    let succession: { dead: Address; next: Address; nextKey: Hex; logs: string; settledEnd: number } | undefined;
    before(async () => {
      anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
      pp = await deployDevNet(anvil);
    });
    after(async () => {
      await anvil?.stop();
    });

    const hookOn = (host: Host, cache: string) =>
      testHook({
        store: cache,
        enclaveKey: pp.enclaveKey,
        relayerKey: pp.relayerKey,
        rpcUrl: anvil.url,
        settlement: pp.settlement,
        hostStore: { endpoint: host.endpoint },
      });

    it("test_hostStore_unixSocketRestartsTruncationAndRollback_settlesEverythingRefusesStaleLogs", async () => {
      const logs = path.join(dir, "e2e");
      const sock = path.join(dir, "e2e.sock");
      const cache = path.join(dir, "e2e-cache", "gateway.db");
      const logFile = path.join(logs, `${pp.enclave.address.toLowerCase()}.log`);
      const ledger: Ledger = newLedger();
      let host = await startHost(logs, sock);
      let hook: SettlementHook | undefined;
      try {
        hook = await hookOn(host, cache);
        await recordCalls(hook, 150, ledger);
        await hook.flush();
        await hook.settled(120_000);
        await hook.close();
        hook = undefined;
        await host.stop();
        const oldHead = path.join(dir, "old-head.log");
        copyFileSync(logFile, oldHead);
        const firstRun = readFrames(logFile).length;

        // A restart: the cache is discarded and rebuilt from the host; the hook carries on.
        host = await startHost(logs, sock);
        hook = await hookOn(host, cache);
        await recordCalls(hook, 150, ledger);
        await hook.flush();
        await hook.settled(120_000);
        await hook.close();
        hook = undefined;
        await host.stop();
        const v = await verifySettlement(anvil.client, pp.settlement, pp.enclave.address, cache, ledger);
        assert.equal(v.durable, 300, "every call recorded over the socket became durable");
        assert.ok(v.settled >= 300 && v.served === 300, JSON.stringify(v));
        const honest = path.join(dir, "honest.log");
        copyFileSync(logFile, honest);
        const frames = readFrames(logFile);

        const refusedStart = async (what: string) => {
          host = await startHost(logs, sock);
          try {
            await assert.rejects(hookOn(host, cache), (e: unknown) => {
              assert.ok(e instanceof StoreBehindChainError, `${what}: ${String(e)}`);
              return true;
            });
          } finally {
            await host.stop();
          }
        };
        // Truncated tail: the last frames of the second run are gone (a valid, shorter chain).
        writeFrames(logFile, frames.slice(0, firstRun + Math.floor((frames.length - firstRun) / 2)));
        await refusedStart("truncated tail");
        // Replayed old chain head: the log as it was after the first run.
        copyFileSync(oldHead, logFile);
        await refusedStart("replayed old head");

        // The honest log still recovers: nothing the attempts did stuck.
        copyFileSync(honest, logFile);
        host = await startHost(logs, sock);
        hook = await hookOn(host, cache);
        await recordCalls(hook, 10, ledger);
        await hook.flush();
        await hook.settled(120_000);
        await hook.close();
        hook = undefined;
        const w = await verifySettlement(anvil.client, pp.settlement, pp.enclave.address, cache, ledger);
        console.log(`      host store: ${JSON.stringify(w)}; ${readFrames(logFile).length} frames`);
      } finally {
        await hook?.close().catch(() => {});
        await host.stop();
      }
    });

    it("test_hostKilledMidCommit_commitNotAcknowledged_nothingSignedLost", async () => {
      // The same gateway, continuing on the log the previous test left (the chain has its batches).
      const logs = path.join(dir, "e2e");
      const sock = path.join(dir, "kill.sock");
      const cache = path.join(dir, "kill-cache", "gateway.db");
      // The host writes frame 12 and dies before its fsync and acknowledgement.
      let host = await startHost(logs, sock, { PROOFPATH_CRASH_AT: "host-mid-append:12" });
      const framesBefore = readFrames(path.join(logs, `${pp.enclave.address.toLowerCase()}.log`)).length;
      const hook = await hookOn(host, path.join(dir, "kill-cache-0", "gateway.db"));
      const ledger: Ledger = newLedger();
      const signed = new Map<number, string>();
      let n = 0;
      let failed: unknown;
      while (!failed && n < 20_000) {
        const batch: Promise<void>[] = [];
        for (let k = 0; k < 20; k++, n++) {
          let r: ReturnType<SettlementHook["record"]>;
          try {
            r = hook.record({
              modelId: models[n % 3]!,
              requestHash: keccak256(toHex(`kill-req:${n}`)),
              responseHash: keccak256(toHex(`kill-res:${n}`)),
              inputTokens: n % 500,
              outputTokens: n % 900,
            });
          } catch (e) {
            failed = e;
            break;
          }
          const seq = Number(r.callSeq);
          ledger.returned.set(seq, r.digest);
          batch.push(
            r.durable.then(
              async () => {
                ledger.durable.add(seq);
                // The enclave signs only what the host acknowledged.
                const rec = hook.receipt(seq)!.receipt;
                signed.set(seq, await hook.receiptSignature(rec));
              },
              (e: unknown) => void (failed ??= e),
            ),
          );
        }
        await Promise.all(batch);
      }
      const end = await host.exit;
      assert.equal(end.signal, "SIGKILL", "the host died at the injected point");
      assert.ok(failed, "the hook noticed the host is gone");
      await hook.close().catch(() => {});
      assert.ok(signed.size > 0, "receipts were signed before the kill");

      // The in-flight frame is on the host's disk but was never acknowledged: its calls were never
      // reported durable, and never signed.
      const frames = readFrames(path.join(logs, `${pp.enclave.address.toLowerCase()}.log`));
      assert.equal(frames.length, framesBefore + 12, "frame 12 of this run reached the host's file, unacknowledged");
      for (const seq of signed.keys()) assert.ok(ledger.durable.has(seq));

      host = await startHost(logs, sock);
      try {
        const h2 = await hookOn(host, cache);
        await h2.flush();
        await h2.settled(120_000);
        // Every signed receipt is settled with the leaf it was signed over.
        for (const [seq, sig] of signed) {
          const v = h2.receipt(seq)!;
          assert.equal(v.status, "confirmed", `signed callSeq ${seq} settled`);
          assert.equal(v.receipt.leaf, ledger.returned.get(seq));
          assert.ok(sig.length === 132);
        }
        await h2.close();
      } finally {
        await host.stop();
      }
      console.log(
        `      host killed mid-commit: ${n} calls recorded, ${signed.size} signed, ${ledger.durable.size} durable`,
      );
    });

    it("test_succession_deadKeysLogOnHost_successorVerifiesAndSettlesEverySignedReceipt", async () => {
      // The key of the tests above dies holding durable, signed, unsettled receipts on the host.
      const logs = path.join(dir, "e2e");
      let host = await startHost(logs, path.join(dir, "succ.sock"));
      const dead = pp.enclave.address;
      const signed = new Map<number, string>();
      try {
        const hook = await testHook({
          store: path.join(dir, "succ-dead", "gateway.db"),
          enclaveKey: pp.enclaveKey,
          relayerKey: pp.relayerKey,
          rpcUrl: anvil.url,
          settlement: pp.settlement,
          hostStore: { endpoint: host.endpoint },
          submit: false,
        });
        const ledger = newLedger();
        await recordCalls(hook, 200, ledger);
        for (const seq of ledger.durable) signed.set(seq, ledger.returned.get(seq)!);
        await hook.close();
      } finally {
        await host.stop();
      }
      const chainBefore = await nextSeqs(anvil.client, pp.settlement, dead);
      const unsettled = [...signed.keys()].filter((s) => s >= chainBefore.nextCallSeq);
      assert.ok(unsettled.length > 0, "the dead key left durable receipts unsettled");

      // A new enclave, registered and approved, succeeds the dead key.
      const owner = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(0) });
      const nextKey = generatePrivateKey();
      const next = privateKeyToAccount(nextKey);
      await registerEnclave(anvil.client, {
        deployment: pp.deployment,
        owner,
        enclave: next,
        validators: pp.validators,
      });
      await succeedEnclave(anvil.client, {
        deployment: pp.deployment,
        operator: owner,
        predecessor: dead,
        successor: next.address,
      });

      host = await startHost(logs, path.join(dir, "succ.sock"));
      try {
        const successor = await testHook({
          store: path.join(dir, "succ-next", "gateway.db"),
          enclaveKey: nextKey,
          relayerKey: pp.relayerKey,
          rpcUrl: anvil.url,
          settlement: pp.settlement,
          hostStore: { endpoint: host.endpoint },
          predecessors: [{ account: dead, store: path.join(dir, "succ-pred", "gateway.db") }],
        });
        const [s] = successor.succeeded;
        assert.ok(s && s.settledEnd > Math.max(...unsettled), JSON.stringify(successor.succeeded));
        succession = { dead, next: next.address, nextKey, logs, settledEnd: s.settledEnd };
        await successor.close();
      } finally {
        await host.stop();
      }
      // Every receipt the dead key signed settled with its leaf, under a root the chain holds.
      const store = new Store(path.join(dir, "succ-pred", "gateway.db"), "normal");
      try {
        const batches = await settledBatches(anvil.client, pp.settlement, dead);
        for (const seq of unsettled) {
          const b = batches.find((x) => seq >= x.firstCallSeq && seq < x.firstCallSeq + x.count);
          assert.ok(b, `signed callSeq ${seq} of the dead key is settled`);
          const recs = store.records(b.firstCallSeq, b.count);
          const leaves = new Uint8Array(b.count * 32);
          for (let i = 0; i < b.count; i++) leaves.set(recs.subarray(i * REC + 112, i * REC + 144), i * 32);
          assert.equal(buildTree(leaves).root, b.root, `batch ${b.batchSeq} root`);
          assert.equal(decodeRecord(recs, seq - b.firstCallSeq, b.firstCallSeq).leaf, signed.get(seq));
        }
      } finally {
        store.close();
      }
      console.log(`      succession over the host store: ${unsettled.length} signed receipts of the dead key settled`);
    });

    it("test_attack_predecessorLogSignedByUnrelatedKey_refusedDeadSuccessorsFrameAccepted", async () => {
      // The dead key's log now ends in frames its successor signed. That successor dies too; the
      // registry hands the account on to a third key, which must accept the middle key's frames
      // (the account's succession says it signed for it) and nothing signed by any other key.
      assert.ok(succession, "runs after the succession test above");
      const { dead, next, logs, settledEnd } = succession;
      const owner = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(0) });
      const register = async () => {
        const key = generatePrivateKey();
        await registerEnclave(anvil.client, {
          deployment: pp.deployment,
          owner,
          enclave: privateKeyToAccount(key),
          validators: pp.validators,
        });
        return { key, address: privateKeyToAccount(key).address };
      };
      const third = await register();
      const unrelated = await register(); // registered, approved, same operator: but never dead's successor
      for (const predecessor of [next, dead])
        await succeedEnclave(anvil.client, {
          deployment: pp.deployment,
          operator: owner,
          predecessor,
          successor: third.address,
        });
      const sock = path.join(dir, "succ.sock");
      const thirdHook = () =>
        testHook({
          store: path.join(dir, "succ-third", "gateway.db"),
          enclaveKey: third.key,
          relayerKey: pp.relayerKey,
          rpcUrl: anvil.url,
          settlement: pp.settlement,
          hostStore: { endpoint: `unix:${sock}` },
          predecessors: [{ account: dead, store: path.join(dir, "succ-pred3", "gateway.db") }],
        });
      const host = await startHost(logs, sock);
      try {
        // The log ends in a frame of the middle key (dead's first successor, now retired): accepted.
        const frames = readFrames(path.join(logs, `${dead.toLowerCase()}.log`));
        const last = parseFrame(frames.at(-1)!);
        const lastHead = chainHead(hexToBytes(dead), last.seq, last.prev, last.body);
        assert.ok(isAddressEqual(await recoverAddress({ hash: bytesToHex(lastHead), signature: last.sig }), next));
        const ok = await thirdHook();
        assert.equal(ok.succeeded[0]?.settledEnd, settledEnd);
        await ok.close();

        // The host appends a well-formed frame signed by the unrelated registered key.
        const { client } = await HostStoreClient.open(hostConnect(host.endpoint), host.endpoint, dead.toLowerCase());
        try {
          const { state } = await verifyLog(dead.toLowerCase(), await client.readAll(), dead, [
            dead,
            next,
            third.address,
          ]);
          await appendWrites(client, state, dead, unrelated.key, [{ kind: "reserve", until: settledEnd }]);
        } finally {
          client.close();
        }
        await assert.rejects(thirdHook(), (e: Error) => {
          assert.ok(e instanceof HostStoreTamperedError, String(e));
          assert.match(e.message, new RegExp(unrelated.address.slice(2), "i"));
          return true;
        });
      } finally {
        await host.stop();
      }
    });
  });
});
