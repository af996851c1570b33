/**
 * Reads a Hardhat Ignition journal (ignition/deployments/<id>/journal.jsonl): for each deployed future,
 * its constructor arguments, transaction hash, block and address, and the highest nonce the deployment
 * used. The journal is Ignition's own resume record; this reads it, never writes it.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

export interface JournalFuture {
  /** Constructor arguments as Ignition resolved them (bigints as decimal strings). */
  constructorArgs?: unknown[];
  /** Nonces of the transactions sent for it (more than one only when a send was replaced). */
  nonces: number[];
  txHash?: string;
  blockNumber?: number;
  address?: string;
  complete: boolean;
}

export interface Journal {
  exists: boolean;
  futures: Map<string, JournalFuture>;
  maxNonce?: number;
}

/** Ignition writes bigints as {"_kind":"bigint","value":"…"}: turn them into decimal strings. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o._kind === "bigint" && typeof o.value === "string") return o.value;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

export function readJournal(deploymentDir: string): Journal {
  const file = path.join(deploymentDir, "journal.jsonl");
  const futures = new Map<string, JournalFuture>();
  if (!existsSync(file)) return { exists: false, futures };
  let maxNonce: number | undefined;
  const get = (id: string) => {
    let f = futures.get(id);
    if (!f) futures.set(id, (f = { nonces: [], complete: false }));
    return f;
  };
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      continue; // a line cut short by a kill: Ignition ignores it too
    }
    const id = msg.futureId as string | undefined;
    if (!id) continue;
    switch (msg.type) {
      case "DEPLOYMENT_EXECUTION_STATE_INITIALIZE":
        get(id).constructorArgs = plain(msg.constructorArgs) as unknown[];
        break;
      case "TRANSACTION_PREPARE_SEND":
      case "TRANSACTION_SEND": {
        const n = msg.nonce as number;
        const f = get(id);
        if (!f.nonces.includes(n)) f.nonces.push(n);
        maxNonce = Math.max(maxNonce ?? n, n);
        break;
      }
      case "TRANSACTION_CONFIRM": {
        const f = get(id);
        f.txHash = msg.hash as string;
        const bn = (msg.receipt as { blockNumber?: number } | undefined)?.blockNumber;
        if (bn !== undefined) f.blockNumber = Number(bn);
        break;
      }
      case "DEPLOYMENT_EXECUTION_STATE_COMPLETE": {
        const f = get(id);
        const result = msg.result as { type?: string; address?: string } | undefined;
        f.complete = result?.type === "SUCCESS";
        if (result?.address) f.address = result.address;
        break;
      }
    }
  }
  return { exists: true, futures, maxNonce };
}
