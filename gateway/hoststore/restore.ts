/**
 * Startup with a host store: the enclave has no disk, so its SQLite store is a cache in enclave
 * memory, rebuilt at every start from the log on the host. The log is verified first (frames.ts);
 * then every write is replayed into a fresh cache, and recovery (reconcile.ts) runs on it as on a
 * local store. Whatever recovery writes (void leaves, the new reservation) goes back to the host
 * as one signed frame before a single callSeq is handed out.
 */
import { rmSync } from "node:fs";
import { hexToBytes, type Address, type Hex } from "viem";
import { Store, type Write } from "../store.js";
import { HostStoreClient } from "./client.js";
import { encodeBody, sealFrame, verifyLog, type ChainState } from "./frames.js";
import { hostConnect, type HostConnect } from "./transport.js";

/** Where a hook's durable log lives: the host store endpoint and the log's name (the gateway address). */
export interface HostLogTarget {
  endpoint: string;
  /** Custom transport (e.g. a vsock binding); default: `hostConnect(endpoint)`. */
  connect?: HostConnect | undefined;
  log: string;
}

export interface RestoredLog {
  store: Store;
  client: HostStoreClient;
  state: ChainState;
  frames: number;
}

/**
 * Reads and verifies the log of `gateway` (signed by one of `signers`), and replays it into a fresh
 * SQLite cache at `cacheFile` (any previous cache is discarded: only the host's log counts).
 */
export async function restoreFromHost(
  t: HostLogTarget,
  gateway: Address,
  signers: readonly Address[],
  cacheFile: string,
): Promise<RestoredLog> {
  const { client } = await HostStoreClient.open(t.connect ?? hostConnect(t.endpoint), t.endpoint, t.log);
  let store: Store | undefined;
  try {
    const frames = await client.readAll();
    const { writes, state } = await verifyLog(t.log, frames, gateway, signers);
    for (const f of ["", "-wal", "-shm"]) rmSync(cacheFile + f, { force: true });
    store = new Store(cacheFile, "normal");
    for (const w of writes) if (w.length) store.apply(w);
    return { store, client, state, frames: frames.length };
  } catch (e) {
    store?.close();
    client.close();
    throw e;
  }
}

/**
 * Startup recovery on a cache restored from the host: runs `recovery` (reconcile.ts `recover`, and
 * whatever checks go with it) with the store's journal on, then appends everything it wrote (void
 * leaves, the new reservation, batches reset to "signed") to the host as one frame signed with
 * `privateKey`, before a single callSeq is handed out. Closes the restore connection either way;
 * resolves with what `recovery` returned and the chain state the commit worker continues from.
 */
export async function recoverOnHost<T>(
  restored: { client: HostStoreClient; state: ChainState; store: Store },
  gateway: Address,
  privateKey: Hex,
  recovery: () => Promise<T>,
): Promise<{ out: T; state: ChainState }> {
  const { client, store } = restored;
  store.journal = [];
  try {
    const out = await recovery();
    const writes = store.journal;
    store.journal = undefined;
    return { out, state: await appendWrites(client, restored.state, gateway, privateKey, writes) };
  } finally {
    store.journal = undefined;
    client.close();
  }
}

/** Appends `writes` as the next frame (signed with `privateKey`); resolves with the new chain state once fsynced. */
export async function appendWrites(
  client: HostStoreClient,
  state: ChainState,
  gateway: Address,
  privateKey: Hex,
  writes: readonly Write[],
): Promise<ChainState> {
  if (writes.length === 0) return state;
  const { frame, next } = await sealFrame(state, hexToBytes(gateway), privateKey, encodeBody(writes));
  await client.append(frame);
  return next;
}
