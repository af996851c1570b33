/**
 * The hook's durable store on an untrusted host (issue 18 item 1). Real processes: the host store
 * runs as `proofpath host-store` on a Unix socket, the chain is anvil. The host is the attacker: it
 * edits, drops, reorders, truncates and rolls back the enclave's log between runs, and each one must
 * be refused at recovery by name. The honest host carries the hook through restarts and settles
 * every call; a host SIGKILLed mid-commit never acknowledges the commit it did not fsync, and
 * nothing the enclave signed is lost.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { bytesToHex, hexToBytes, isAddressEqual, keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createServer } from "node:http";
import { devAccount, freePort, startDevChain, type DevChain } from "../../tools/devchain.js";
import { writeDeployment } from "../../sdk/deployment.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { nextSeqs, settledBatches } from "./helpers/chain.js";
import { testHook, recordCalls, models } from "./helpers/hookRun.js";
import { readFrames, startHost, writeFrames, type Host } from "./helpers/hostStore.js";
import { newLedger, verifySettlement, type Ledger } from "./helpers/verify.js";
import { HostStoreClient } from "../../gateway/hoststore/client.js";
import { appendWrites, restoreFromHost } from "../../gateway/hoststore/restore.js";
import { GENESIS, chainHead, parseFrame, verifyLog } from "../../gateway/hoststore/frames.js";
import { hostConnect } from "../../gateway/hoststore/transport.js";
import {
  EnclaveRetiredError,
  HostStoreTamperedError,
  HostStoreUnavailableError,
  StoreBehindChainError,
} from "../../gateway/errors.js";
import { parseHeader } from "../../gateway/seal/sealer.js";
import { headerDigest, settlementDomain, toCompactSignature } from "../../sdk/eip712.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import type { BatchHeader } from "../../sdk/types.js";
import { REC } from "../../gateway/record/receiptLayout.js";
import type { SettlementHook } from "../../gateway/index.js";
import { Store, type Write } from "../../gateway/store.js";
import { decodeRecord } from "../../gateway/record/receiptLayout.js";
import { buildTree } from "../../sdk/merkle.js";
import { registerEnclave, succeedEnclave } from "../../gateway/registration.js";
import { createWalletClient, decodeFunctionData, http } from "viem";
import { foundry } from "viem/chains";

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

  it("test_attack_hostUsesCompactionToCutOrAlterUnsettledRecords_refusedCheckpointRestoresTheSame", async () => {
    const logs = path.join(dir, "compact");
    const host = await startHost(logs, path.join(dir, "compact.sock"));
    const key = generatePrivateKey();
    const gateway = privateKeyToAccount(key).address;
    const mirror = new Store(path.join(dir, "compact-mirror.db"), "normal");
    const { client } = await HostStoreClient.open(hostConnect(host.endpoint), host.endpoint, "compact");
    try {
      // A log as the hook writes it: receipt groups, sealed batches, a re-signed header, a stored
      // transaction; `mirror` is the cache that goes with it.
      let state = { seq: 0, head: GENESIS };
      const append = async (writes: Write[]) => {
        state = await appendWrites(client, state, gateway, key, writes);
        mirror.apply(writes);
      };
      const sig = (n: number) => `0x${n.toString(16).padStart(130, "0")}`;
      for (let g = 0; g < 12; g++) {
        await append([
          {
            kind: "receipts",
            firstSeq: g * 4,
            count: 4,
            data: new Uint8Array(4 * REC).fill(g + 1),
            reserve: g * 4 + 16,
          },
        ]);
        if (g % 2 === 1) {
          const b = (g - 1) / 2;
          const header = JSON.stringify({ batchSeq: b, fee: "1" });
          await append([
            {
              kind: "batch",
              row: {
                batchSeq: b,
                firstSeq: b * 8,
                count: 8,
                header,
                signature: sig(b),
                tree: new Uint8Array(64).fill(b),
                sealedAt: b,
              },
            },
          ]);
        }
      }
      await append([
        { kind: "header", batchSeq: 4, header: JSON.stringify({ batchSeq: 4, fee: "2" }), signature: sig(44) },
      ]);
      const tx = { hash: "0x01", nonce: 7, raw: "0x02", maxFee: "3", prioFee: "4", sentAt: 5 };
      await append([{ kind: "tx", batchSeq: 3, tx }]);
      // Batches 0..2 are settled, `confirmations` deep (the hook learns it from the chain).
      for (const b of [0, 1, 2]) mirror.setIncluded(b, "confirmed", "0xaa", 1, "0xbb");
      // Confirmed batches sealed recently (here: at or after t = 2) stay: their receipts are still served.
      assert.deepEqual(mirror.checkpointBase(2), { baseBatchSeq: 2, baseCallSeq: 16 });
      const cp = mirror.checkpoint();
      assert.deepEqual(cp[0], { kind: "checkpoint", baseCallSeq: 24, baseBatchSeq: 3, reservedUntil: 60 });
      await append(cp);
      const checkpointSeq = state.seq - 1;
      await append([{ kind: "receipts", firstSeq: 48, count: 4, data: new Uint8Array(4 * REC).fill(99) }]);
      const file = path.join(logs, "compact.log");
      const full = readFrames(file);

      const restore = (log: string) =>
        restoreFromHost(
          { endpoint: host.endpoint, log },
          gateway,
          [gateway],
          path.join(dir, `${log}-${Date.now()}.db`),
        );
      const unsettled = (st: Store) => ({
        batches: [3, 4, 5].map((n) => {
          const { tree, ...b } = st.batch(n)!;
          return { ...b, tree: Buffer.from(tree).toString("hex") };
        }),
        receipts: st.segmentsFrom(24).map((g) => ({ ...g, data: Buffer.from(g.data).toString("hex") })),
        durableEnd: st.durableEnd(),
        reservedUntil: st.getMeta("reservedUntil"),
      });
      const want = unsettled(mirror);
      assert.equal(want.batches.find((b) => b.batchSeq === 4)?.signature, sig(44), "the re-signed header");
      assert.equal(want.batches.find((b) => b.batchSeq === 3)?.txHash, "0x01", "the stored transaction");

      const whole = await restore("compact");
      assert.deepEqual(unsettled(whole.store), want, "the whole log restores the cache");
      whole.store.close();
      whole.client.close();

      // The honest host compacts on request: the log starts at the checkpoint, and restores the same.
      assert.equal(await client.compact(checkpointSeq), full.length);
      const compacted = readFrames(file);
      assert.equal(compacted.length, full.length - checkpointSeq);
      assert.equal(parseFrame(compacted[0]!).seq, checkpointSeq);
      const cut = await restore("compact");
      assert.equal(cut.frames, compacted.length);
      assert.deepEqual(unsettled(cut.store), want, "the compacted log restores the same unsettled state");
      assert.equal(cut.state.seq, state.seq);
      cut.store.close();
      cut.client.close();
      // It still takes appends after the checkpoint, in sequence.
      await append([{ kind: "reserve", until: 70 }]);

      // An honest host refuses to compact to a frame that is not a checkpoint.
      await assert.rejects(client.compact(checkpointSeq + 1), (e: Error) => {
        assert.ok(e instanceof HostStoreUnavailableError, String(e));
        assert.match(e.message, /not a checkpoint/);
        return true;
      });

      const refused = async (frames: Buffer[], problem: string) => {
        writeFrames(path.join(logs, "cut.log"), frames);
        await assert.rejects(restore("cut"), (e: unknown) => {
          assert.ok(e instanceof HostStoreTamperedError, String(e));
          assert.equal(e.problem, problem, e.message);
          return true;
        });
      };
      // A host cuts the log where there is no checkpoint: unsettled receipts would go.
      await refused(full.slice(checkpointSeq + 1), "dropped");
      await refused(full.slice(5), "dropped");
      // It alters what the checkpoint says (one receipt byte), or forges the checkpoint's link.
      const altered = full.slice(checkpointSeq).map((f) => Buffer.from(f));
      altered[0]![altered[0]!.length - 3]! ^= 1;
      await refused(altered, "altered");
      const relinked = full.slice(checkpointSeq).map((f) => Buffer.from(f));
      relinked[0]![20]! ^= 1; // inside `prev`
      await refused(relinked, "altered");
    } finally {
      client.close();
      mirror.close();
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

    it("test_hostStore_rpcRefusesLogsBeforeTheDeployment_hookReadsSuccessionFromItsStartBlock", async () => {
      // Hosted RPCs refuse eth_getLogs over too many blocks: the hook reads the registry's
      // succession events from the deployment's start block (the deployment file's), not from 0.
      const startBlock = pp.deployment.startBlock;
      assert.ok(startBlock > 0, "the deployment starts after block 0");
      const file = path.join(dir, "deployment.json");
      writeDeployment(file, pp.deployment);
      const seen: bigint[] = [];
      const port = await freePort();
      const proxy = createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", async () => {
          const call = JSON.parse(body) as { id: number; method: string; params: [{ fromBlock?: Hex }] };
          if (call.method === "eth_getLogs") {
            const from = BigInt(call.params[0].fromBlock ?? "0x0");
            seen.push(from);
            if (from < BigInt(startBlock)) {
              res.setHeader("content-type", "application/json");
              res.end(
                JSON.stringify({
                  jsonrpc: "2.0",
                  id: call.id,
                  error: { code: -32005, message: "block range too large" },
                }),
              );
              return;
            }
          }
          const r = await fetch(anvil.url, { method: "POST", headers: { "content-type": "application/json" }, body });
          res.setHeader("content-type", "application/json");
          res.end(await r.text());
        });
      });
      await new Promise<void>((r) => proxy.listen(port, "127.0.0.1", r));
      const host = await startHost(path.join(dir, "startblock"), path.join(dir, "startblock.sock"));
      try {
        const started = testHook({
          store: path.join(dir, "startblock-cache", "gateway.db"),
          enclaveKey: generatePrivateKey(),
          relayerKey: pp.relayerKey,
          rpcUrl: `http://127.0.0.1:${port}`,
          settlement: undefined,
          deployment: file,
          hostStore: { endpoint: host.endpoint },
        });
        started.catch(() => {}); // raced below
        const hook = await Promise.race([
          started,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`no start in 30 s; getLogs from blocks ${seen.join(", ")}`)), 30_000),
          ),
        ]);
        await hook.close();
        assert.ok(seen.length > 0 && seen.every((b) => b === BigInt(startBlock)), `getLogs from ${seen.join(", ")}`);
      } finally {
        await host.stop();
        await new Promise((r) => proxy.close(r));
      }
    });

    it("test_hostStore_compactsBelowTheSettledBatches_restartReplaysOnlyTheTailAndSettlesEverything", async () => {
      const key = generatePrivateKey();
      const gateway = privateKeyToAccount(key).address;
      await registerEnclave(anvil.client, {
        deployment: pp.deployment,
        owner: createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(0) }),
        enclave: privateKeyToAccount(key),
        validators: pp.validators,
      });
      const logs = path.join(dir, "compact-e2e");
      const sock = path.join(dir, "compact-e2e.sock");
      const logFile = path.join(logs, `${gateway.toLowerCase()}.log`);
      const hookAt = (host: Host, cache: string) =>
        testHook({
          store: cache,
          enclaveKey: key,
          relayerKey: pp.relayerKey,
          rpcUrl: anvil.url,
          settlement: pp.settlement,
          hostStore: { endpoint: host.endpoint, compactEvery: 6, compactKeepMs: 0 },
        });
      const ledger = newLedger();
      const host = await startHost(logs, sock);
      let hook: SettlementHook | undefined;
      try {
        // Run 1: calls settle while the log grows; the hook checkpoints and the host drops the rest.
        hook = await hookAt(host, path.join(dir, "compact-e2e-1", "gateway.db"));
        for (let i = 0; i < 8; i++) {
          await recordCalls(hook, 40, ledger);
          await hook.flush();
          await hook.settled(120_000);
        }
        const v = await verifySettlement(
          anvil.client,
          pp.settlement,
          gateway,
          path.join(dir, "compact-e2e-1", "gateway.db"),
          ledger,
        );
        assert.equal(v.durable, 320);
        await recordCalls(hook, 40, ledger); // the tail: durable, maybe not settled
        await hook.close();
        hook = undefined;
        const frames = readFrames(logFile);
        const first = parseFrame(frames[0]!).seq;
        const last = parseFrame(frames.at(-1)!).seq;
        assert.ok(first > 0, "the host dropped the frames before a checkpoint");
        console.log(`      compaction: ${last + 1} frames written, ${frames.length} kept (from frame ${first})`);

        // Run 2: a fresh cache from the compacted log; every durable call of run 1 settles, and more.
        const run1 = [...ledger.durable];
        hook = await hookAt(host, path.join(dir, "compact-e2e-2", "gateway.db"));
        await recordCalls(hook, 40, ledger);
        await hook.flush();
        await hook.settled(120_000);
        const chain = await nextSeqs(anvil.client, pp.settlement, gateway);
        assert.equal(ledger.reused, 0, "no callSeq handed out twice");
        for (const seq of ledger.durable) assert.ok(seq < chain.nextCallSeq, `durable callSeq ${seq} settled`);
        for (const seq of ledger.durable) {
          const r = hook.receipt(seq);
          if (!r) continue; // below the checkpoint: settled, no longer in the cache
          assert.equal(r.status, "confirmed", `callSeq ${seq}`);
          assert.equal(r.receipt.leaf, ledger.returned.get(seq));
        }
        for (const seq of ledger.durable)
          if (!run1.includes(seq)) assert.ok(hook.receipt(seq), `run 2's callSeq ${seq} is served`);
        await hook.close();
        hook = undefined;
      } finally {
        await hook?.close().catch(() => {});
        await host.stop();
      }
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

    it("test_hostStore_restoreAfterSuccessorResigned_servesTheSettledHeaderAndSignature", async () => {
      // The successor re-signed the dead key's batches (its key, its daURI) and settled them. A later
      // restore of the dead key's log (the next successor's, after this one dies) must hold exactly
      // those headers, not the dead key's originals.
      assert.ok(succession, "runs after the succession test above");
      const { dead, next, logs } = succession;
      const host = await startHost(logs, path.join(dir, "resign.sock"));
      const r = await restoreFromHost(
        { endpoint: host.endpoint, log: dead.toLowerCase() },
        dead,
        [dead, next],
        path.join(dir, "resign", "gateway.db"),
      );
      r.client.close();
      await host.stop();
      const domain = settlementDomain(31337, pp.settlement);
      let resigned = 0;
      try {
        for (const b of await settledBatches(anvil.client, pp.settlement, dead)) {
          const tx = await anvil.client.getTransaction({ hash: b.txHash });
          const { args } = decodeFunctionData({ abi: proofSettlementAbi, data: tx.input });
          const [header, signature] = args as unknown as [BatchHeader, { r: Hex; vs: Hex }];
          const row = r.store.batch(b.batchSeq);
          assert.ok(row?.signature, `batch ${b.batchSeq} restored with a signature`);
          assert.equal(
            headerDigest(domain, parseHeader(row.header)),
            headerDigest(domain, header),
            `batch ${b.batchSeq}: the restored header is the settled one`,
          );
          assert.deepEqual(toCompactSignature(row.signature as Hex), signature, `batch ${b.batchSeq}: signature`);
          if (header.daURI.includes("/predecessors/")) resigned++;
        }
      } finally {
        r.store.close();
      }
      assert.ok(resigned > 0, "the successor re-signed some of the dead key's batches");
      console.log(`      restore after re-signing: ${resigned} re-signed headers restored as settled`);
    });

    it("test_retiredKeyRestartsOnItsOwnLog_refusedByNameNamingItsSuccessor", async () => {
      assert.ok(succession, "runs after the succession test above");
      const { dead, next, logs } = succession;
      const host = await startHost(logs, path.join(dir, "retired.sock"));
      try {
        await assert.rejects(hookOn(host, path.join(dir, "retired", "gateway.db")), (e: unknown) => {
          assert.ok(e instanceof EnclaveRetiredError, String(e));
          assert.equal(e.name, "EnclaveRetiredError");
          assert.ok(isAddressEqual(e.gateway as Address, dead));
          assert.ok(isAddressEqual(e.successor as Address, next));
          assert.match(e.message, new RegExp(next.slice(2), "i"));
          return true;
        });
      } finally {
        await host.stop();
      }
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
