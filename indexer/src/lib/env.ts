/**
 * Where the indexer finds its chain: the deployment file (addresses, chain id, start block) and the
 * RPC URL, both from the environment, with errors that say what to set.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readDeployment, type Deployment } from "../../../sdk/deployment.js";

export interface IndexerEnv {
  deployment: Deployment;
  rpcUrl: string;
  databaseUrl: string | undefined;
  /** PGlite data directory (PONDER_PGLITE_DIR); Ponder's default is indexer/.ponder/pglite. */
  pgliteDir: string | undefined;
  /** A local dev chain (anvil / hardhat, chain id 31337): fast polling, no RPC cache. */
  local: boolean;
  /** PROOFPATH_POLLING_INTERVAL_MS: how often to poll for new blocks (Ponder's default, or 250 ms on a local chain). */
  pollingIntervalMs: number | undefined;
  /** PROOFPATH_INDEX_RECEIPTS (default on, "0" = off): fetch each batch's receipts from its daURI for lookups by request hash. */
  indexReceipts: boolean;
  /** What the dashboard shows and links to (see publicConfig). */
  site: SiteConfig;
}

/** The dashboard's view of the deployment: GET /config. */
export interface SiteConfig {
  chainName: string;
  /** The JSON-RPC URL browsers use for the verify page (PROOFPATH_PUBLIC_RPC_URL, default the indexer's own). */
  publicRpcUrl: string;
  /** Block explorer base (PROOFPATH_EXPLORER_URL): links are `${base}/tx/${hash}` and `${base}/address/${a}`. */
  explorerUrl: string | null;
  /** Model names (PROOFPATH_MODEL_NAMES, comma-separated): a name is shown for the modelId it hashes to. */
  modelNames: string[];
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function loadIndexerEnv(env: NodeJS.ProcessEnv = process.env): IndexerEnv {
  const file = path.resolve(repoRoot, env.PROOFPATH_DEPLOYMENT ?? "deployments/local.json");
  const deployment = readDeployment(file);
  const rpcUrl = env[`PONDER_RPC_URL_${deployment.chainId}`] ?? env.PROOFPATH_RPC_URL;
  if (!rpcUrl) {
    throw new Error(
      `No RPC URL for chain ${deployment.chainId}: set PONDER_RPC_URL_${deployment.chainId} or PROOFPATH_RPC_URL (deployment ${file}).`,
    );
  }
  return {
    deployment,
    rpcUrl,
    databaseUrl: env.DATABASE_URL || env.DATABASE_PRIVATE_URL || undefined,
    pgliteDir: env.PONDER_PGLITE_DIR || undefined,
    local: deployment.chainId === 31337,
    pollingIntervalMs: pollingInterval(env.PROOFPATH_POLLING_INTERVAL_MS),
    indexReceipts: env.PROOFPATH_INDEX_RECEIPTS !== "0",
    site: {
      chainName: env.PROOFPATH_CHAIN_NAME || defaultChainName(deployment.chainId),
      publicRpcUrl: env.PROOFPATH_PUBLIC_RPC_URL || rpcUrl,
      explorerUrl: httpUrl("PROOFPATH_EXPLORER_URL", env.PROOFPATH_EXPLORER_URL)?.replace(/\/+$/, "") ?? null,
      modelNames: (env.PROOFPATH_MODEL_NAMES ?? "")
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean),
    },
  };
}

function pollingInterval(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const ms = Number(v);
  if (!Number.isSafeInteger(ms) || ms < 1)
    throw new Error(`PROOFPATH_POLLING_INTERVAL_MS: expected a positive integer (ms), got ${JSON.stringify(v)}`);
  return ms;
}

const CHAIN_NAMES: Record<number, string> = {
  1: "Ethereum",
  10: "OP Mainnet",
  8453: "Base",
  42161: "Arbitrum One",
  11155111: "Sepolia",
  84532: "Base Sepolia",
  31337: "local devnet (anvil)",
};

function defaultChainName(chainId: number): string {
  return CHAIN_NAMES[chainId] ?? `chain ${chainId}`;
}

function httpUrl(name: string, v: string | undefined): string | undefined {
  if (!v) return undefined;
  if (!/^https?:\/\/[^\s]+$/.test(v)) throw new Error(`${name}: expected an http(s) URL, got ${JSON.stringify(v)}`);
  return v;
}
