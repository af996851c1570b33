/**
 * Worker thread: the hook's durable writes — receipt group commits and sealed batches. SQLite's
 * COMMIT waits for fsync (hundreds of µs to milliseconds), so it runs here instead of blocking the
 * gateway's event loop. Every write that queued up during a commit goes into the next transaction
 * together, so throughput grows with load instead of being one fsync per write.
 */
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { Store, type Write } from "./store.js";

/** worker → main: the next `writes` writes (in order) are durable, or the store failed. */
export type CommitReply = { writes: number } | { error: string };

const port = parentPort!;
const { file, synchronous } = workerData as { file: string; synchronous: "full" | "normal" };
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
  try {
    store.apply(writes);
    port.postMessage({ writes: writes.length } satisfies CommitReply);
  } catch (e) {
    // The store is unusable: report it and take nothing more (no later write may become durable
    // before this one).
    port.postMessage({ error: (e as Error).message } satisfies CommitReply);
    store.close();
    store = undefined;
  }
});
