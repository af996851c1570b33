/**
 * What the indexer reads: the deployment file (addresses, chain id, start block), the RPC URL and
 * the database, from `PROOFPATH_INDEXER_*` variables or the JSON file `PROOFPATH_INDEXER_CONFIG`
 * names (Ponder owns the command line, so there is no `--config`; `proofpath config indexer` lists
 * every field). Every problem is reported at once, by the name it was set with.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { defineConfigRole, readConfig } from "../../../sdk/config.js";
import { readDeployment, type Deployment } from "../../../sdk/deployment.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export const indexerConfigSchema = z
  .object({
    deployment: z
      .string()
      .min(1)
      .default("deployments/local.json")
      .describe("Deployment file (npm run deploy), relative to the repository root: addresses, chain id, start block."),
    rpcUrl: z
      .url({ protocol: /^(https?|wss?)$/, error: "expected an http(s) or ws(s) URL" })
      .describe("JSON-RPC endpoint of the deployment's chain."),
    databaseUrl: z
      .string()
      .min(1)
      .optional()
      .describe("Postgres connection string (production, ponder serve replicas); default embedded PGlite."),
    pgliteDir: z.string().min(1).optional().describe("PGlite data directory; default indexer/.ponder/pglite."),
    pollingIntervalMs: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("How often to poll for new blocks; default Ponder's, or 250 ms on a local chain (31337)."),
    indexReceipts: z
      .boolean()
      .default(false)
      .describe(
        "Fetch each batch's receipts from its daURI (5 s, 64 MiB cap, kept only if they rebuild the settled root) for lookups by request hash. Off by default: the fetch runs inside the BatchSubmitted handler, so the gateways' DA bounds the backfill rate.",
      ),
    daAllowPrivate: z
      .boolean({ error: "expected true or false" })
      .default(false)
      .describe(
        "Let daURIs reach private, loopback and link-local addresses (tests, a DA on the indexer's LAN). Off in production: a daURI is chosen by the gateway, and would otherwise reach the indexer host's metadata service and LAN.",
      ),
    chainName: z.string().min(1).optional().describe("The chain's name on the dashboard; default from the chain id."),
    publicRpcUrl: z
      .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
      .optional()
      .describe("The JSON-RPC URL browsers check receipts against on the verify page; default rpcUrl."),
    explorerUrl: z
      .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
      .optional()
      .describe("Block explorer base: links are <base>/tx/<hash> and <base>/address/<a>; none when unset."),
    modelNames: z
      .array(z.string().min(1))
      .default([])
      .describe("Model names; a name labels the modelId it hashes to (keccak256 of its UTF-8 bytes)."),
  })
  .strict();

export const indexerConfigRole = defineConfigRole({
  role: "indexer",
  title: "indexer",
  usage: "npm run indexer:start -- [ponder options]   (fields: proofpath config indexer)",
  about:
    "The Ponder app that indexes settlement events and serves GraphQL, SQL, the REST API and the dashboard. The config file is named by PROOFPATH_INDEXER_CONFIG (Ponder owns the command line).",
  schema: indexerConfigSchema,
  check(c, report): { deployment: Deployment | undefined } {
    if (c.deployment === undefined) return { deployment: undefined };
    try {
      return { deployment: readDeployment(path.resolve(repoRoot, c.deployment)) };
    } catch (e) {
      report(["deployment"], (e as Error).message);
      return { deployment: undefined };
    }
  },
});

export interface IndexerConfig {
  deployment: Deployment;
  rpcUrl: string;
  databaseUrl: string | undefined;
  pgliteDir: string | undefined;
  /** A local dev chain (anvil / hardhat, chain id 31337): fast polling, no RPC cache. */
  local: boolean;
  pollingIntervalMs: number | undefined;
  /** Fetch each batch's receipts from its daURI for lookups by request hash. */
  indexReceipts: boolean;
  /** Let daURIs reach private, loopback and link-local addresses. */
  daAllowPrivate: boolean;
  /** What the dashboard shows and links to (GET /config). */
  site: SiteConfig;
}

/** The dashboard's view of the deployment: GET /config. */
export interface SiteConfig {
  chainName: string;
  /** The JSON-RPC URL browsers use for the verify page. */
  publicRpcUrl: string;
  /** Block explorer base: links are `${base}/tx/${hash}` and `${base}/address/${a}`. */
  explorerUrl: string | null;
  /** Model names: a name is shown for the modelId it hashes to. */
  modelNames: string[];
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

/** Reads the indexer's configuration; throws one ConfigError listing every problem. */
export function loadIndexerConfig(env: NodeJS.ProcessEnv = process.env): IndexerConfig {
  const { config, checked } = readConfig(indexerConfigRole, { env });
  const deployment = checked!.deployment!;
  return {
    deployment,
    rpcUrl: config.rpcUrl,
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    local: deployment.chainId === 31337,
    pollingIntervalMs: config.pollingIntervalMs,
    indexReceipts: config.indexReceipts,
    daAllowPrivate: config.daAllowPrivate,
    site: {
      chainName: config.chainName ?? CHAIN_NAMES[deployment.chainId] ?? `chain ${deployment.chainId}`,
      publicRpcUrl: config.publicRpcUrl ?? config.rpcUrl,
      explorerUrl: config.explorerUrl?.replace(/\/+$/, "") ?? null,
      modelNames: config.modelNames,
    },
  };
}
