/**
 * The receipts behind a settled batch, for per-call rows (lookup by request hash). The chain holds
 * only the root, so the indexer asks the gateway's DA (the header's daURI) and keeps the answer only
 * when its leaves rebuild the settled root, each at its own callSeq: what it indexes is exactly what
 * the enclave settled.
 * A DA that is down, slow or wrong costs the lookup for that batch, never the indexing: the batch
 * row says `receiptsIndexed: false`. (Re-indexing later asks the DA again: the rows depend on it.)
 * A daURI is chosen by whoever holds an enclave key, so it is fetched the validator's way
 * (validator/boundedGet.ts): bounded size and time, no redirects, and no private, loopback or
 * link-local address unless `daAllowPrivate`.
 */
import { buildTree } from "../../../sdk/merkle.js";
import { leafOfBatchLeaf, leafPositionError, parseBatchLeaves } from "../../../sdk/readClient.js";
import type { Receipt } from "../../../sdk/types.js";
import { createBoundedGet, type BoundedGet } from "../../../validator/boundedGet.js";

const TIMEOUT_MS = 5_000;
const MAX_BYTES = 64 * 1024 * 1024;
/**
 * After a failure, the gateway's DA is not asked again for this long (a dead DA must not stall a
 * backfill). Keyed by the gateway, not the daURI's origin: a gateway names a fresh origin per batch
 * at will (ports, wildcard subdomains), and must not back off another gateway's origin by naming it.
 */
const BACKOFF_MS = 30_000;
const backoffUntil = new Map<string, number>();

export interface SettledHeader {
  /** The batch's account: failures back off its DA fetches (default: the daURI's origin). */
  gateway?: string | undefined;
  root: `0x${string}`;
  count: number;
  firstCallSeq: bigint;
}

const getters = new Map<boolean, BoundedGet>();
function getter(allowPrivate: boolean): BoundedGet {
  let g = getters.get(allowPrivate);
  if (!g) {
    g = createBoundedGet({ allowPrivate, firstByteTimeoutMs: TIMEOUT_MS, timeoutMs: TIMEOUT_MS });
    getters.set(allowPrivate, g);
  }
  return g;
}

/** The served receipts of the batch at `daURI`, checked against `h.root`; an error string when not usable. */
export async function fetchSettledReceipts(
  daURI: string,
  h: SettledHeader,
  opts: { allowPrivate: boolean },
): Promise<Receipt[] | string> {
  let url: URL;
  try {
    url = new URL(daURI);
  } catch {
    return "daURI is not a URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `daURI scheme ${url.protocol} is not fetched`;
  const key = h.gateway?.toLowerCase() ?? url.origin;
  const until = backoffUntil.get(key);
  if (until !== undefined && until > Date.now()) return `the DA of ${key} failed recently; not asked again yet`;
  try {
    const body = await getter(opts.allowPrivate).get(daURI, MAX_BYTES);
    const leaves = parseBatchLeaves(daURI, JSON.parse(Buffer.from(body).toString("utf8")));
    // A wrong answer backs off too: it may have taken the whole timeout to arrive.
    if (leaves.length !== h.count) throw new Error(`${leaves.length} leaves for a header of count ${h.count}`);
    // Each leaf where it says it is, too: the root does not bind order, and a repeated callSeq would
    // be a second `call` row under one key, which stops the indexer.
    const misplaced = leafPositionError(leaves, h);
    if (misplaced) throw new Error(misplaced);
    if (buildTree(leaves.map(leafOfBatchLeaf)).root !== h.root.toLowerCase())
      throw new Error("the published leaves do not rebuild the settled root");
    backoffUntil.delete(key);
    return leaves.flatMap((l) => (l.kind === "served" ? [l.receipt] : []));
  } catch (e) {
    backoffUntil.set(key, Date.now() + BACKOFF_MS);
    return (e as Error).message;
  }
}
