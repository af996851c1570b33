/**
 * Key succession under SIGKILL (issue 18 item 2): an enclave's key lives only in its process, so a
 * killed enclave is gone for good. Each round, the gateway child (its own key and store) serves under
 * load while a stranger collects every receipt signature it hands out, and is SIGKILLed at a labelled
 * point (PROOFPATH_CRASH_AT) or by the test. Then the operator registers a new key, validators approve
 * it, `GatewayRegistry.succeed` retires the dead key (and hands on every account it was still
 * finishing), and the successor starts with the dead keys' stores as `predecessors`: it settles their
 * receipts in their callSeq sequence, voids the rest of their reserved ranges, then serves under its
 * own key — until it is killed in turn, maybe halfway through someone else's account.
 *
 * Finally a successor drains everything, and for every key ever used: batches gap-free, every callSeq
 * returned settled exactly once (served with its digest, or void), every durable one settled as
 * served, every signature the stranger holds settled as signed and verified by `verifyReceipt`.
 * It runs twice: on local SQLite stores, and over the host store (`proofpath host-store` in its own
 * process, outliving every enclave: an enclave's store is then only a cache, the durable log is on the
 * host and a successor recovers the dead key's records from there; the final checks read each
 * account's log back from the host, verified against the keys its succession says signed for it).
 * CI runs 6 kills locally and 4 over the host store; FULL=1 runs 54 each. SUCCESSION_STORE=local|host
 * runs only one; SUCCESSION_KILLS sets the kills.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createWalletClient, hexToBytes, http, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { devAccount, startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { nextSeqs, settledBatches } from "./helpers/chain.js";
import { buildChild, runChild, type ChildRun } from "./helpers/child.js";
import { addRun, newLedger, verifySettlement, type Ledger } from "./helpers/verify.js";
import { Stranger, judgeStranger } from "./helpers/stranger.js";
import { settlementDomain } from "../../sdk/eip712.js";
import { proofSettlementAbi } from "../../sdk/abis.js";
import { buildTree, treeFromNodes } from "../../sdk/merkle.js";
import { hashHeader, receiptLeaf, voidLeaf } from "../../sdk/hashing.js";
import type { BatchHeader } from "../../sdk/types.js";
import { daBatchFromJson } from "../../validator/da.js";
import { registerEnclave, succeedEnclave } from "../../gateway/registration.js";
import { Store } from "../../gateway/store.js";
import { parseHeader } from "../../gateway/seal/sealer.js";
import { accountSigners } from "../../gateway/succession.js";
import { restoreFromHost } from "../../gateway/hoststore/restore.js";
import { startHost, type Host } from "./helpers/hostStore.js";

const FULL = process.env.FULL === "1";
type Mode = "local" | "host";
const MODES: Mode[] = process.env.SUCCESSION_STORE ? [process.env.SUCCESSION_STORE as Mode] : ["local", "host"];
const killsOf = (mode: Mode) => Number(process.env.SUCCESSION_KILLS ?? (FULL ? 54 : mode === "local" ? 6 : 4));
const LABELS = [
  "mid-commit",
  "after-seal",
  "after-sign",
  "after-broadcast",
  "before-confirm",
  "mid-reconcile",
] as const;

interface Key {
  account: Address;
  key: Hex;
  store: string;
  ledger: Ledger;
  stranger: Stranger;
}

/** End of everything the key's store ever reserved or made durable (0 when it never got a store). */
function storeEnd(file: string): number {
  if (!existsSync(file)) return 0;
  const s = new Store(file, "normal");
  try {
    const last = s.lastBatch();
    return Math.max(s.durableEnd(), Number(s.getMeta("reservedUntil") ?? "0"), last ? last.firstSeq + last.count : 0);
  } finally {
    s.close();
  }
}

for (const mode of MODES) {
  const KILLS = killsOf(mode);
  const where = mode === "local" ? "local stores" : "the host store";
  describe(`key succession under SIGKILL on ${where} (a dead enclave's account finished by its successor)`, function () {
    this.timeout(FULL ? 3_600_000 : 480_000);
    let anvil: DevChain;
    let pp: DevNet;
    let dir: string;
    /** The host store process (host mode): started once, it outlives every enclave. */
    let host: Host | undefined;

    before(async () => {
      anvil = await startDevChain({ blockTime: 1 });
      pp = await deployDevNet(anvil);
      await buildChild();
      dir = mkdtempSync(path.join(tmpdir(), "pp-succession-"));
      if (mode === "host") host = await startHost(path.join(dir, "host-logs"), path.join(dir, "host.sock"));
    });
    after(async () => {
      await host?.stop();
      await anvil?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /**
     * The store file that holds `key`'s durable records: its own file on local stores; over the host
     * store, its account's log read back from the host (verified against the keys the account's
     * succession says signed for it) into a fresh file, since the enclave's cache dies with it.
     */
    async function durableOf(key: { account: Address; store: string }): Promise<string> {
      if (!host) return key.store;
      const file = path.join(dir, "from-host", `${key.account.toLowerCase()}.db`);
      mkdirSync(path.dirname(file), { recursive: true });
      const signers = await accountSigners(anvil.client, pp.settlement, key.account, pp.deployment.startBlock);
      const r = await restoreFromHost(
        { endpoint: host.endpoint, log: key.account.toLowerCase() },
        key.account,
        signers,
        file,
      );
      r.client.close();
      r.store.close();
      return file;
    }

    it(`test_succession_${KILLS}KillsOn${mode === "local" ? "LocalStores" : "HostStore"}_everySignedReceiptSettledOnceAndVerifiedOnChain_noReusedCallSeq_succeeds`, async () => {
      const owner = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(0) });
      const env = {
        RPC_URL: anvil.url,
        SETTLEMENT: pp.settlement,
        RELAYER_KEY: pp.relayerKey,
        SERVE: "1",
        ...(host ? { HOST_STORE: host.endpoint } : {}),
      };
      const newKey = (i: number, key: Hex): Key => ({
        account: privateKeyToAccount(key).address,
        key,
        store: path.join(dir, `key${i}.db`),
        ledger: newLedger(),
        stranger: new Stranger(),
      });
      const keys: Key[] = [newKey(0, pp.enclaveKey)];
      /** Retired keys whose accounts may still hold unsettled callSeqs, oldest first. */
      let unfinished: Key[] = [];
      const byLabel: Record<string, { self: number; external: number; inRecovery: number; ownLoad: number }> = {};
      let seed = 4242;
      let daChecked = 0;
      /** How each key's run went, for the failure message. */
      const runInfo = new Map<Address, Record<string, unknown>>();
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };

      for (let k = 0; k < KILLS; k++) {
        const cur = keys[k]!;
        const label = LABELS[k % LABELS.length]!;
        const nth = label === "mid-reconcile" ? 1 + rand(2) : 1 + rand(label === "mid-commit" ? 60 : 4);
        // Every other round the crash point counts only once the successor serves under its own key
        // (its predecessors settled); otherwise from the start, mostly inside a predecessor's account.
        const ownLoad = label !== "mid-reconcile" && (k + Math.floor(k / LABELS.length)) % 2 === 0;
        const armFile = path.join(dir, `armed${k}`);
        const run = runChild({
          ...env,
          STORE: cur.store,
          ENCLAVE_KEY: cur.key,
          PREDECESSORS: JSON.stringify(unfinished.map((u) => ({ account: u.account, store: u.store }))),
          PROOFPATH_CRASH_AT: `${label}:${nth}`,
          // Under its own load the point is armed once 2,000 receipts are durable (~1.3 s): the stranger's window.
          ...(ownLoad ? { PROOFPATH_CRASH_ARMED_BY: armFile, ARM_CRASH_FILE: armFile, ARM_AFTER_DURABLE: "2000" } : {}),
        });
        const stopPolling = cur.stranger.watch(run, 3, 2);
        const daChecks = run.waitReturned(1, 90_000).then(() => checkPredecessorDa(run));
        const exited = await Promise.race([
          run.exit,
          // The point's window: 15 s from the first answered call (6 s was too short on a loaded
          // 2-core machine: a point armed after 2,000 durable receipts then 60 commits did not fire).
          run.waitReturned(1, 90_000).then(() => new Promise<null>((r) => setTimeout(() => r(null), 15_000))),
        ]);
        const rec = (byLabel[label] ??= { self: 0, external: 0, inRecovery: 0, ownLoad: 0 });
        if (exited === null) {
          run.proc.kill("SIGKILL"); // the point was not reached in time: an unlabelled kill
          await run.exit;
          rec.external++;
        } else {
          assert.equal(exited.signal, "SIGKILL", `child exited without the injected crash: ${run.stderr}`);
          rec.self++;
        }
        if (unfinished.length > 0 && run.succeeded.length < unfinished.length) rec.inRecovery++;
        else rec.ownLoad++;
        await stopPolling();
        await daChecks;
        addRun(cur.ledger, run);
        runInfo.set(cur.account, {
          k,
          crashAt: `${label}:${nth}`,
          ownLoad,
          self: exited !== null,
          returned: run.returned.size,
          maxReturned: run.maxReturned,
          maxDurable: run.maxDurable,
          predecessors: unfinished.length,
          finished: run.succeeded.length,
        });

        // The enclave is dead with its key. A new enclave: registered, approved, funded, and the successor
        // of the dead key and of every account the dead key was still finishing.
        const next = newKey(k + 1, generatePrivateKey());
        keys.push(next);
        await registerEnclave(anvil.client, {
          deployment: pp.deployment,
          owner,
          enclave: privateKeyToAccount(next.key),
          validators: pp.validators,
        });
        const still: Key[] = [];
        for (const u of [...unfinished, cur]) {
          const chain = await nextSeqs(anvil.client, pp.settlement, u.account);
          if (u !== cur && chain.nextCallSeq >= storeEnd(await durableOf(u))) continue; // settled to its end
          still.push(u);
        }
        // The dead key first: it retires it, and only then may the accounts it signed for be handed on.
        await succeedEnclave(anvil.client, {
          deployment: pp.deployment,
          operator: owner,
          predecessor: cur.account,
          successor: next.account,
        });
        for (const u of still)
          await succeedEnclave(anvil.client, {
            deployment: pp.deployment,
            operator: owner,
            predecessor: u.account,
            successor: next.account,
          });
        unfinished = still;
      }

      // The last successor finishes every account left, then drains its own (empty) one.
      const last = keys.at(-1)!;
      const drain = runChild({
        ...env,
        STORE: last.store,
        ENCLAVE_KEY: last.key,
        PREDECESSORS: JSON.stringify(unfinished.map((u) => ({ account: u.account, store: u.store }))),
        MODE: "drain",
      });
      const end = await drain.exit;
      assert.ok(
        drain.done && end.code === 0,
        `drain run failed (${JSON.stringify(end)}): ${drain.stderr}\n${drain.log}`,
      );

      assert.ok(daChecked > 0, "no predecessor batch was fetched from a successor's DA route");
      const totals = { keys: keys.length, batches: 0, settled: 0, served: 0, voided: 0, returned: 0, durable: 0 };
      /** Batches whose stored header differs from the settled one (re-signed or re-priced after the store wrote it). */
      const staleHeaders = new Set<string>();
      const signed = { receiptSignatures: 0, distinct: 0, slashable: 0, reused: 0, verifiedOnChain: 0 };
      if (host) assert.equal(host.proc.exitCode ?? host.proc.signalCode, null, "the host store outlived every enclave");
      for (const key of keys) {
        const file = await durableOf(key);
        const v = await verifySettlement(anvil.client, pp.settlement, key.account, file, key.ledger).catch(
          (e: Error) => {
            throw new Error(`${key.account} ${JSON.stringify(runInfo.get(key.account) ?? "drain")}: ${e.message}`, {
              cause: e,
            });
          },
        );
        // A retired key's account is settled to the end of everything it reserved (the live last key
        // keeps its unused reservation for the calls it will serve).
        if (key !== last) assert.equal(v.settled, storeEnd(file), `${key.account}: settled to its end`);
        totals.batches += v.batches;
        totals.settled += v.settled;
        totals.served += v.served;
        totals.voided += v.voided;
        totals.returned += v.returned;
        totals.durable += v.durable;
        const s = await judgeStranger(key.stranger, {
          domain: settlementDomain(31337, pp.settlement),
          gateway: key.account,
          storeFile: file,
          settledEnd: v.settled,
        });
        assert.equal(s.notByEnclave, 0, "every receipt signature the gateway serves is its key's");
        assert.equal(s.slashable, 0, `${key.account}: ${s.slashable} signed receipts settled otherwise: ${s.examples}`);
        assert.equal(s.reusedCallSeqs, 0, `${key.account}: two different signed receipts for one callSeq`);
        signed.receiptSignatures += s.receiptSignatures;
        signed.distinct += s.distinctSignedReceipts;
        signed.slashable += s.slashable;
        signed.reused += s.reusedCallSeqs + key.ledger.reused;
        signed.verifiedOnChain += await verifyOnChain(key, file);
      }
      console.log(`      succession on ${where}: ${KILLS} kills ${JSON.stringify(byLabel)}`);
      console.log(`      settled: ${JSON.stringify(totals)}`);
      console.log(
        `      signed receipts: ${JSON.stringify(signed)}; predecessor batches checked at their DA route: ${daChecked}; stored headers not as settled: ${staleHeaders.size}`,
      );
      assert.equal(signed.verifiedOnChain, signed.distinct, "every signed receipt verifies on-chain");
      assert.ok(signed.receiptSignatures > 0, "the stranger saw no receipt signature at all: it did not test anything");
      assert.ok(totals.voided > 0, "no successor voided a reserved range: succession was not tested");
      assert.equal(signed.reused, 0);
      for (const l of LABELS.slice(0, KILLS)) assert.ok((byLabel[l]?.self ?? 0) > 0, `crash point ${l} never fired`);

      /**
       * As a validator would: fetches the last settled batch of each predecessor account `run` finished
       * from its DA route on the successor and checks its leaves hash to the root settled on-chain.
       */
      async function checkPredecessorDa(run: ChildRun): Promise<void> {
        for (const s of run.succeeded) {
          const b = (await settledBatches(anvil.client, pp.settlement, s.account as Address)).at(-1);
          if (!b || run.port === undefined) continue;
          const url = `http://127.0.0.1:${run.port}/da/predecessors/${s.account}/batches/${b.batchSeq}`;
          // The child may be killed mid-request: only an answer counts, and then it must be right.
          const body = await fetch(url, { signal: AbortSignal.timeout(5_000) })
            .then((res) => (res.status === 200 ? res.json() : undefined))
            .catch(() => undefined);
          if (body === undefined) continue;
          const da = daBatchFromJson(body, url, b.count);
          const leaves = new Uint8Array(b.count * 32);
          da.leaves.forEach((l, i) =>
            leaves.set(hexToBytes(l.kind === "void" ? voidLeaf(l.gateway, l.callSeq) : receiptLeaf(l.receipt)), i * 32),
          );
          assert.equal(da.leaves.length, b.count);
          assert.equal(buildTree(leaves).root, b.root, `${url}: leaves do not hash to the settled root`);
          daChecked++;
        }
      }

      /** `verifyReceipt` on-chain for every receipt signature the stranger holds of `key` (its records in `file`); returns how many pass. */
      async function verifyOnChain(key: Key, file: string): Promise<number> {
        // The header as settled (BatchSubmitted), as a user's verifier reads it: a successor re-signs
        // a dead key's batches with its own daURI, and only the receipts and trees are in the host's log.
        const settled = new Map<number, BatchHeader>();
        for (const l of await anvil.client.getContractEvents({
          address: pp.settlement,
          abi: proofSettlementAbi,
          eventName: "BatchSubmitted",
          args: { gateway: key.account },
          fromBlock: 0n,
          toBlock: "latest",
          strict: true,
        })) {
          const a = l.args;
          settled.set(Number(a.batchSeq), {
            gateway: a.gateway,
            batchSeq: a.batchSeq,
            firstCallSeq: a.firstCallSeq,
            count: a.count,
            root: a.root,
            usage: [...a.usage],
            fee: a.fee,
            firstServedAt: a.firstServedAt,
            lastServedAt: a.lastServedAt,
            daURI: a.daURI,
          });
        }
        const store = new Store(file, "normal");
        let ok = 0;
        try {
          const checks: Promise<void>[] = [];
          for (const [seq, bySeq] of key.stranger.signed) {
            const b = store.batchOf(seq)!;
            const header = settled.get(b.batchSeq) ?? parseHeader(b.header);
            if (hashHeader(header) !== hashHeader(parseHeader(b.header)))
              staleHeaders.add(`${key.account}:${b.batchSeq}`);
            const proof = treeFromNodes(store.batchTree(b.batchSeq)!).proof(seq - b.firstSeq);
            for (const x of bySeq.values())
              checks.push(
                (
                  anvil.client.readContract({
                    address: pp.settlement,
                    abi: proofSettlementAbi,
                    functionName: "verifyReceipt",
                    args: [header, x.receipt, proof],
                  }) as Promise<number>
                ).then((status) => {
                  if (status > 0 && status !== 4) ok++;
                }),
              );
            if (checks.length >= 32) await Promise.all(checks.splice(0));
          }
          await Promise.all(checks);
        } finally {
          store.close();
        }
        return ok;
      }
    });
  });
}
