/**
 * Worker thread: the hook's durable writes — receipt group commits (whose Merkle leaves it computes
 * first, so the gateway's event loop never hashes) and sealed batches. SQLite's
 * COMMIT waits for fsync (hundreds of µs to milliseconds), so it runs here instead of blocking the
 * gateway's event loop. Every write that queued up during a commit goes into the next transaction
 * together, so throughput grows with load instead of being one fsync per write.
 *
 * With a host store (`host` in workerData) a group commit is a signed frame appended to the host's
 * log, and durable once the host acknowledges its fsync; only then is it written to the SQLite cache
 * in enclave memory (what the cache holds is what the host holds) and reported durable.
 * Every `compactEvery` frames it appends a checkpoint of the cache (everything from the first batch
 * not confirmed on-chain) and asks the host to drop the frames before it, so a restart replays only
 * what is not settled.
 */
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import type { Hex } from "viem";
import { Store, type Write } from "../store.js";
import { fillLeaves, leavesOf } from "../record/receiptLayout.js";
import { HostStoreClient } from "../hoststore/client.js";
import { encodeBody, sealFrame, type ChainState } from "../hoststore/frames.js";
import { MAX_MESSAGE } from "../hoststore/wire.js";
import { hostConnect } from "../hoststore/transport.js";

/**
 * worker → main: the next `writes` writes (in order) are durable, or the store failed. `leaves`
 * holds the leaves of their receipt groups, in order (see `leavesOf`). Only the leaves go back: the
 * main thread keeps records in buffers it allocated, which glibc returns to the system once freed
 * (adopting the worker's copies left a burst's worth of freed memory in RSS).
 */
export type CommitReply = { writes: number; leaves: Uint8Array[] } | { error: string };

/** What a commit worker appends to, with a host store. */
export interface HostWorkerData {
  endpoint: string;
  log: string;
  privateKey: Hex;
  state: ChainState;
  /** A checkpoint (and a compaction request to the host) after this many frames; 0: never. */
  compactEvery: number;
  /** Confirmed batches sealed less than this long ago (ms) stay in the log (still served). */
  compactKeepMs: number;
}

const port = parentPort!;
const { file, synchronous, gateway, host } = workerData as {
  file: string;
  synchronous: "full" | "normal";
  gateway: Uint8Array;
  host?: HostWorkerData;
};
let store: Store | undefined;
try {
  store = new Store(file, host ? "normal" : synchronous);
} catch (e) {
  port.postMessage({ error: `opening ${file}: ${(e as Error).message}` } satisfies CommitReply);
}

/** Sets the flag record() waits on for a reservation made while a burst outran the range. */
function signal(writes: readonly Write[], value: 1 | 2): void {
  for (const w of writes) {
    if (w.kind !== "reserve" || !w.signal) continue;
    const flag = new Int32Array(w.signal);
    Atomics.store(flag, 0, value);
    Atomics.notify(flag, 0);
  }
}

function leavesFor(writes: readonly Write[]): Uint8Array[] {
  const leaves: Uint8Array[] = [];
  for (const w of writes) {
    if (w.kind !== "receipts") continue;
    fillLeaves(w.data, w.firstSeq, w.count, gateway);
    leaves.push(leavesOf(w.data, w.count));
  }
  return leaves;
}

function failed(e: unknown, writes: readonly Write[]): void {
  // The store is unusable: report it and take nothing more (no later write may become durable
  // before this one).
  signal(writes, 2);
  port.postMessage({ error: (e as Error).message } satisfies CommitReply);
  store?.close();
  store = undefined;
}

if (!host) {
  port.on("message", (first: Write) => {
    if (!store) return;
    const writes = [first];
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) writes.push(m.message as Write);
    try {
      const leaves = leavesFor(writes);
      store.apply(writes);
      signal(writes, 1);
      port.postMessage({ writes: writes.length, leaves } satisfies CommitReply);
    } catch (e) {
      failed(e, writes);
    }
  });
} else {
  // Up to MAX_IN_FLIGHT frames on the wire (the host acknowledges in order); what arrives meanwhile
  // becomes the next frame. Each frame chains to the one sent before it, acknowledged or not.
  const MAX_IN_FLIGHT = 4;
  let queue: Write[] = [];
  let busy = false;
  let inFlight = 0;
  let state = host.state;
  let client: HostStoreClient | undefined;
  let since = 0; // frames since the last checkpoint (or start)
  let checkpointBase = Number(store?.getMeta("baseBatchSeq") ?? 0);
  const open = async () =>
    (client ??= (await HostStoreClient.open(hostConnect(host.endpoint), host.endpoint, host.log)).client);
  /**
   * Appends a checkpoint of the cache when it would let the host drop something (the confirmed
   * base moved). Called with no frame in flight: the cache then holds exactly what the log does.
   */
  const checkpoint = async (s: Store) => {
    since = 0;
    const at = s.checkpointBase(Date.now() - host.compactKeepMs);
    if (at.baseBatchSeq <= checkpointBase) return;
    const base = at.baseBatchSeq;
    const body = encodeBody(s.checkpoint(at));
    if (body.length > MAX_MESSAGE / 2) return; // a backlog this large: settle it first
    const c = await open();
    const { frame, next } = await sealFrame(state, gateway, host.privateKey, body);
    state = next;
    inFlight++;
    c.append(frame).then(
      () => {
        inFlight--;
        checkpointBase = base;
        // The cache already holds what the checkpoint says. Compaction is an optimisation: a host
        // that refuses it still serves a log that recovers.
        c.compact(next.seq - 1).catch(() => {});
        void pump();
      },
      (e: unknown) => {
        inFlight--;
        if (store) failed(e, queue);
      },
    );
  };
  const pump = async () => {
    if (busy) return;
    busy = true;
    for (;;) {
      if (!store) break;
      if (host.compactEvery > 0 && since >= host.compactEvery) {
        if (inFlight > 0) break; // the last acknowledgement pumps again
        try {
          await checkpoint(store);
        } catch (e) {
          client?.close();
          failed(e, queue);
        }
        continue;
      }
      if (!queue.length || inFlight >= MAX_IN_FLIGHT) break;
      const writes = queue;
      queue = [];
      try {
        const c = await open();
        const leaves = leavesFor(writes);
        const { frame, next } = await sealFrame(state, gateway, host.privateKey, encodeBody(writes));
        state = next;
        inFlight++;
        since++;
        c.append(frame).then(
          () => {
            inFlight--;
            if (!store) return signal(writes, 2);
            // Acknowledged: fsynced on the host. Only now in the cache, and reported durable.
            store.apply(writes);
            signal(writes, 1);
            port.postMessage({ writes: writes.length, leaves } satisfies CommitReply);
            void pump();
          },
          (e: unknown) => {
            inFlight--;
            if (store) failed(e, [...writes, ...queue]);
            else signal(writes, 2);
          },
        );
      } catch (e) {
        client?.close();
        failed(e, [...writes, ...queue]);
      }
    }
    busy = false;
  };
  port.on("message", (w: Write) => {
    if (!store) {
      signal([w], 2);
      return;
    }
    queue.push(w);
    void pump();
  });
}
