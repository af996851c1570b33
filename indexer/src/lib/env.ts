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
  };
}

function pollingInterval(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const ms = Number(v);
  if (!Number.isSafeInteger(ms) || ms < 1)
    throw new Error(`PROOFPATH_POLLING_INTERVAL_MS: expected a positive integer (ms), got ${JSON.stringify(v)}`);
  return ms;
}
