/**
 * The signing record: the one thing that makes a validator safe to restart. Before a verdict
 * signature leaves this process it is committed here (node:sqlite, WAL, synchronous=FULL), keyed by
 * header hash with a PRIMARY KEY, so one header hash gets one verdict, ever, across crashes and
 * restarts. Asking for the same verdict again returns the stored signature (idempotent); asking
 * for the other verdict throws {@link DoubleSignRefusedError}.
 *
 * Keep `signing.db` forever; it is a separate file from `state.db` so that wiping or resyncing the
 * chain state can never wipe what was signed.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Address, Hex, LocalAccount } from "viem";
import { signCompact, verdictDigest, type CompactSig } from "../sdk/approvals.js";
import { DoubleSignRefusedError } from "./errors.js";

export type Verdict = 1 | 2;

export interface SignedVerdict {
  headerHash: Hex;
  verdict: Verdict;
  digest: Hex;
  signer: Address;
  sig: CompactSig;
  signedAt: number;
  reason: string;
}

interface Row {
  header_hash: string;
  verdict: number;
  digest: string;
  signer: string;
  r: string;
  vs: string;
  signed_at: number;
  reason: string;
}

export interface SigningRecord {
  /** The verdict already signed for `headerHash`, if any. */
  get(headerHash: Hex): SignedVerdict | undefined;
  /**
   * Signs `verdict` over the one-element list `[headerHash]`, recording it first. Returns the
   * recorded signature when the same verdict was signed before; throws DoubleSignRefusedError
   * when the other one was.
   */
  sign(headerHash: Hex, verdict: Verdict, reason: string): Promise<SignedVerdict>;
  all(): SignedVerdict[];
  close(): void;
}

function fromRow(r: Row): SignedVerdict {
  return {
    headerHash: r.header_hash as Hex,
    verdict: r.verdict as Verdict,
    digest: r.digest as Hex,
    signer: r.signer as Address,
    sig: { r: r.r as Hex, vs: r.vs as Hex },
    signedAt: r.signed_at,
    reason: r.reason,
  };
}

/** Opens (creating) `<dataDir>/signing.db` for `account` on the given chain + settlement. */
export function openSigningRecord(p: {
  file: string;
  account: LocalAccount;
  chainId: number;
  settlement: Address;
}): SigningRecord {
  mkdirSync(path.dirname(p.file), { recursive: true });
  const db = new DatabaseSync(p.file);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
  db.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS verdicts (
      header_hash TEXT PRIMARY KEY, verdict INTEGER NOT NULL CHECK (verdict IN (1, 2)), digest TEXT NOT NULL,
      signer TEXT NOT NULL, r TEXT NOT NULL, vs TEXT NOT NULL, signed_at INTEGER NOT NULL, reason TEXT NOT NULL
    ) STRICT;`);
  // A record belongs to one key on one chain and settlement: reusing a data dir elsewhere is a config error.
  const binding = JSON.stringify({
    signer: p.account.address,
    chainId: p.chainId,
    settlement: p.settlement.toLowerCase(),
  });
  const prev = db.prepare("SELECT value FROM meta WHERE key = 'binding'").get() as { value: string } | undefined;
  if (!prev) db.prepare("INSERT INTO meta(key, value) VALUES ('binding', ?)").run(binding);
  else if (prev.value !== binding) {
    db.close();
    throw new Error(`signing record ${p.file} belongs to ${prev.value}, not ${binding}: use another data dir`);
  }

  const getStmt = db.prepare("SELECT * FROM verdicts WHERE header_hash = ?");
  const insertStmt = db.prepare(
    "INSERT INTO verdicts(header_hash, verdict, digest, signer, r, vs, signed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const get = (h: Hex): SignedVerdict | undefined => {
    const row = getStmt.get(h.toLowerCase()) as Row | undefined;
    return row ? fromRow(row) : undefined;
  };
  // Signing is async (viem), the record check is not: one sign at a time keeps check-then-insert atomic.
  let chain: Promise<unknown> = Promise.resolve();

  async function signNow(headerHash: Hex, verdict: Verdict, reason: string): Promise<SignedVerdict> {
    const h = headerHash.toLowerCase() as Hex;
    const existing = get(h);
    if (existing) {
      if (existing.verdict === verdict) return existing;
      throw new DoubleSignRefusedError({ headerHash: h, recorded: existing.verdict, requested: verdict });
    }
    const digest = verdictDigest(p.chainId, p.settlement, verdict, [h]);
    const sig = await signCompact(p.account, digest); // deterministic (RFC 6979): a retry yields the same bytes
    const signedAt = Date.now();
    db.exec("BEGIN IMMEDIATE");
    try {
      const again = get(h); // another process on the same file (misconfiguration) must not slip in
      if (again && again.verdict !== verdict)
        throw new DoubleSignRefusedError({ headerHash: h, recorded: again.verdict, requested: verdict });
      if (!again) insertStmt.run(h, verdict, digest, p.account.address, sig.r, sig.vs, signedAt, reason);
      db.exec("COMMIT"); // durable (synchronous=FULL) before the signature is returned to anyone
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
    return get(h)!;
  }

  return {
    get,
    sign(headerHash, verdict, reason) {
      const next = chain.then(() => signNow(headerHash, verdict, reason));
      chain = next.catch(() => undefined);
      return next;
    },
    all: () => (db.prepare("SELECT * FROM verdicts ORDER BY signed_at").all() as unknown as Row[]).map(fromRow),
    close: () => db.close(),
  };
}
