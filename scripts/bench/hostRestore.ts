/**
 * Restore-time benchmark of the host store's compaction (`npm run bench:hostrestore`): two copies
 * of one long log as the hook writes it (a group commit of receipts per frame, a sealed batch per
 * `BATCH` receipts), one compacted at a checkpoint below its last `UNSETTLED` batches (the rest
 * confirmed on-chain), the other whole. Each is restored (read, verified, replayed into a fresh
 * cache: what every start does) in turn, alternating, and the medians compared: the machine is
 * shared, so only the ratio means something. No chain: the chain's part of a start does not change.
 * Smoke size: BENCH_RESTORE_FRAMES=2000 BENCH_RESTORE_ROUNDS=1.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { HostStoreServer } from "../../gateway/hoststore/server.js";
import { HostStoreClient } from "../../gateway/hoststore/client.js";
import { GENESIS, encodeBody, sealFrame } from "../../gateway/hoststore/frames.js";
import { restoreFromHost } from "../../gateway/hoststore/restore.js";
import { hostConnect } from "../../gateway/hoststore/transport.js";
import { REC } from "../../gateway/record/receiptLayout.js";
import { Store, type Write } from "../../gateway/store.js";

const FRAMES = Number(process.env.BENCH_RESTORE_FRAMES ?? 20_000);
const ROUNDS = Number(process.env.BENCH_RESTORE_ROUNDS ?? 3);
const GROUP = 16; // receipts per group commit (a lightly loaded gateway: many small frames)
const BATCH = 1024;
const UNSETTLED = 2;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "pp-bench-restore-"));
  const host = await HostStoreServer.listen({ dir: path.join(dir, "logs"), socket: path.join(dir, "host.sock") });
  const key = generatePrivateKey();
  const gateway = privateKeyToAccount(key).address;
  try {
    // The same log twice: "whole" and "compacted" (compacted below once written).
    const logs = ["whole", "compacted"] as const;
    const clients = await Promise.all(
      logs.map(async (log) => (await HostStoreClient.open(hostConnect(host.endpoint), host.endpoint, log)).client),
    );
    const mirror = new Store(path.join(dir, "mirror.db"), "normal");
    const states = logs.map(() => ({ seq: 0, head: GENESIS }));
    // Appends are pipelined (the host fsyncs once per read, as under load); at most 256 in flight.
    let inFlight: Promise<number>[] = [];
    const append = async (writes: Write[]) => {
      const body = encodeBody(writes);
      for (let i = 0; i < logs.length; i++) {
        const { frame, next } = await sealFrame(states[i]!, hexToBytes(gateway), key, body);
        states[i] = next;
        inFlight.push(clients[i]!.append(frame));
      }
      mirror.apply(writes);
      if (inFlight.length >= 256) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    };
    const t0 = performance.now();
    let seq = 0;
    let batchSeq = 0;
    let sealed = 0;
    for (let f = 0; f < FRAMES; f++) {
      const writes: Write[] = [
        { kind: "receipts", firstSeq: seq, count: GROUP, data: randomBytes(GROUP * REC), reserve: seq + 4 * GROUP },
      ];
      seq += GROUP;
      if (seq - sealed >= BATCH) {
        const header = JSON.stringify({ batchSeq, firstCallSeq: sealed, count: seq - sealed });
        const tree = randomBytes((2 * (seq - sealed) - 1) * 32);
        writes.push({
          kind: "batch",
          row: {
            batchSeq,
            firstSeq: sealed,
            count: seq - sealed,
            header,
            signature: `0x${"11".repeat(65)}`,
            tree,
            sealedAt: f,
          },
        });
        batchSeq++;
        sealed = seq;
      }
      await append(writes);
    }
    // Settled on-chain, `confirmations` deep: every batch but the last UNSETTLED.
    for (let b = 0; b < batchSeq - UNSETTLED; b++) mirror.setIncluded(b, "confirmed", "0x01", 1, "0x02");
    const checkpoint = mirror.checkpoint();
    await append(checkpoint);
    await Promise.all(inFlight);
    const at = states[1]!.seq - 1;
    await clients[1]!.compact(at);
    for (const c of clients) c.close();
    mirror.close();
    const size = (log: string) => statSync(path.join(dir, "logs", `${log}.log`)).size;
    console.log(
      `log: ${FRAMES + 1} frames, ${seq} receipts, ${batchSeq} batches (${((performance.now() - t0) / 1000).toFixed(1)} s to write); ` +
        `whole ${(size("whole") / 1e6).toFixed(1)} MB, compacted ${(size("compacted") / 1e6).toFixed(1)} MB (from frame ${at})`,
    );

    const times: Record<(typeof logs)[number], number[]> = { whole: [], compacted: [] };
    let n = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const log of r % 2 ? [...logs].reverse() : logs) {
        const start = performance.now();
        const restored = await restoreFromHost(
          { endpoint: host.endpoint, log },
          gateway,
          [gateway],
          path.join(dir, `cache-${n++}.db`),
        );
        times[log].push(performance.now() - start);
        restored.client.close();
        restored.store.close();
      }
    }
    const whole = median(times.whole);
    const compacted = median(times.compacted);
    const result = {
      frames: FRAMES + 1,
      receipts: seq,
      batches: batchSeq,
      rounds: ROUNDS,
      wholeMs: Math.round(whole),
      compactedMs: Math.round(compacted),
      ratio: Math.round((whole / compacted) * 10) / 10,
    };
    console.log(JSON.stringify(result));
    if (process.env.BENCH_OUT) {
      mkdirSync(path.dirname(process.env.BENCH_OUT), { recursive: true });
      writeFileSync(process.env.BENCH_OUT, `${JSON.stringify(result, null, 2)}\n`);
    }
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
