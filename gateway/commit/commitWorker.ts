/**
 * Worker thread: the hook's durable writes — receipt group commits (whose Merkle leaves it computes
 * first, so the gateway's event loop never hashes) and sealed batches. SQLite's
 * COMMIT waits for fsync (hundreds of µs to milliseconds), so it runs here instead of blocking the
 * gateway's event loop. Every write that queued up during a commit goes into the next transaction
 * together, so throughput grows with load instead of being one fsync per write.
 */
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { Store, type Write } from "../store.js";
import { fillLeaves, leavesOf } from "../record/receiptLayout.js";

/**
 * worker → main: the next `writes` writes (in order) are durable, or the store failed. `leaves`
 * holds the leaves of their receipt groups, in order (see `leavesOf`). Only the leaves go back: the
 * main thread keeps records in buffers it allocated, which glibc returns to the system once freed
 * (adopting the worker's copies left a burst's worth of freed memory in RSS).
 */
export type CommitReply = { writes: number; leaves: Uint8Array[] } | { error: string };

const port = parentPort!;
const { file, synchronous, gateway } = workerData as {
  file: string;
  synchronous: "full" | "normal";
  gateway: Uint8Array;
};
let store: Store | undefined;
try {
  store = new Store(file, synchronous);
} catch (e) {
  port.postMessage({ error: `opening ${file}: ${(e as Error).message}` } satisfies CommitReply);
}

port.on("message", (first: Write) => {
  if (!store) return;
  const writes = [first];
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) writes.push(m.message as Write);
  const leaves: Uint8Array[] = [];
  try {
    for (const w of writes) {
      if (w.kind !== "receipts") continue;
      fillLeaves(w.data, w.firstSeq, w.count, gateway);
      leaves.push(leavesOf(w.data, w.count));
    }
    store.apply(writes);
    port.postMessage({ writes: writes.length, leaves } satisfies CommitReply);
  } catch (e) {
    // The store is unusable: report it and take nothing more (no later write may become durable
    // before this one).
    port.postMessage({ error: (e as Error).message } satisfies CommitReply);
    store.close();
    store = undefined;
  }
});
