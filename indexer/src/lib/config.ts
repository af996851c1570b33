/**
 * What the indexer reads: per chain, the deployment file (addresses, chain id, start block) and the
 * RPC URLs (the first is preferred, the rest are fallbacks); and the database, from `PROOFPATH_INDEXER_*` variables or the JSON file `PROOFPATH_INDEXER_CONFIG`
 * names (Ponder owns the command line, so there is no `--config`; `proofpath config indexer` lists
 * every field). Every problem is reported at once, by the name it was set with.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { defineConfigRole, readConfig } from "../../../sdk/config.js";
import { readDeployment, type Deployment } from "../../../sdk/deployment.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" });
const rpcUrlSchema = z.url({ protocol: /^(https?|wss?)$/, error: "expected an http(s) or ws(s) URL" });

/** One chain of a several-chain indexer (`chains`); its chain id comes from its deployment file. */
const chainSchema = z
  .object({
    deployment: z.string().min(1),
    rpcUrls: z.array(rpcUrlSchema).min(1, "at least one RPC URL"),
    name: z.string().min(1).optional(),
    publicRpcUrl: httpUrl.optional(),
    explorerUrl: httpUrl.optional(),
    pollingIntervalMs: z.number().int().min(1).optional(),
  })
  .strict();

export const indexerConfigSchema = z
  .object({
    deployment: z
      .string()
      .min(1)
      .default("deployments/local.json")
      .describe("Deployment file (npm run deploy), relative to the repository root: addresses, chain id, start block."),
    rpcUrl: z
      .url({ protocol: /^(https?|wss?)$/, error: "expected an http(s) or ws(s) URL" })
      .optional()
      .describe("JSON-RPC endpoint of the deployment's chain (one chain); required unless `chains` is set."),
    chains: z
      .array(chainSchema)
      .min(1)
      .optional()
      .meta({ type: "JSON list of chains" })
      .describe(
        'Several chains in one indexer, instead of deployment/rpcUrl/chainName/publicRpcUrl/explorerUrl: a JSON list of {"deployment", "rpcUrls": [preferred, fallbacks…], "name"?, "publicRpcUrl"?, "explorerUrl"?, "pollingIntervalMs"?}. The first chain is the default of every API route without chainId.',
      ),
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
    sqlOverHttp: z
      .boolean({ error: "expected true or false" })
      .optional()
      .describe(
        "Serve Ponder's read-only SQL over HTTP (`/sql/*`, @ponder/client) to anyone. Default on with Postgres (each query runs on the read-only pool, at most `sqlMaxInFlight` at once, 30 s statement timeout) and off with PGlite, where a query runs inside the indexer's own process with no timeout: one heavy query would hold indexing and every route.",
      ),
    sqlMaxInFlight: z
      .number()
      .int()
      .min(1)
      .default(2)
      .describe(
        "How many `/sql/db` queries may run at once; more are answered 503 at once, so the read-only pool stays free for the REST routes and GraphQL.",
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
  check(c, report, raw): { deployments: Deployment[] | undefined } {
    const read = (file: string, at: PropertyKey[]): Deployment | undefined => {
      try {
        return readDeployment(path.resolve(repoRoot, file));
      } catch (e) {
        report(at, (e as Error).message);
        return undefined;
      }
    };
    if (raw.chains === undefined) {
      if (raw.rpcUrl === undefined) report(["rpcUrl"], "required (or set chains)");
      const d = c.deployment === undefined ? undefined : read(c.deployment, ["deployment"]);
      return { deployments: d ? [d] : undefined };
    }
    // One place per fact: the single-chain fields would be silently ignored beside `chains`.
    for (const k of ["deployment", "rpcUrl", "chainName", "publicRpcUrl", "explorerUrl", "pollingIntervalMs"])
      if (raw[k] !== undefined) report([k], "set per chain in chains (or drop chains)");
    if (c.chains === undefined) return { deployments: undefined };
    const deployments = c.chains.map((ch, i) => read(ch.deployment, ["chains", i, "deployment"]));
    const seen = new Map<number, number>();
    deployments.forEach((d, i) => {
      if (!d) return;
      const first = seen.get(d.chainId);
      if (first !== undefined)
        report(["chains", i, "deployment"], `chain ${d.chainId} is already chains[${first}]: one entry per chain`);
      else seen.set(d.chainId, i);
    });
    return { deployments: deployments.every((d) => d !== undefined) ? deployments : undefined };
  },
});

export interface IndexerConfig {
  /** Every chain followed, the default (first) one first. */
  chains: ChainConfig[];
  databaseUrl: string | undefined;
  pgliteDir: string | undefined;
  /** Fetch each batch's receipts from its daURI for lookups by request hash. */
  indexReceipts: boolean;
  /** Let daURIs reach private, loopback and link-local addresses. */
  daAllowPrivate: boolean;
  /** Serve `/sql/*` (Ponder's SQL over HTTP). */
  sqlOverHttp: boolean;
  /** How many `/sql/db` queries may run at once. */
  sqlMaxInFlight: number;
  /** Model names: a name is shown for the modelId it hashes to. */
  modelNames: string[];
}

/** One chain the indexer follows. */
export interface ChainConfig {
  /** Ponder's name for it (`/status`, `context.chain.name`): `proofpath` alone, `proofpath_<chainId>` among several. */
  key: string;
  chainId: number;
  deployment: Deployment;
  /** The preferred RPC first, then the fallbacks (Ponder balances over them by latency and errors). */
  rpcUrls: string[];
  /** A local dev chain (anvil / hardhat, chain id 31337): fast polling, no RPC cache. */
  local: boolean;
  pollingIntervalMs: number | undefined;
  /** What the dashboard shows and links to (GET /config). */
  site: SiteConfig;
}

/** The dashboard's view of one chain: GET /config. */
export interface SiteConfig {
  chainName: string;
  /** The JSON-RPC URL browsers use for the verify page. */
  publicRpcUrl: string;
  /** Block explorer base: links are `${base}/tx/${hash}` and `${base}/address/${a}`. */
  explorerUrl: string | null;
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
  const deployments = checked!.deployments!;
  const entries = config.chains ?? [
    {
      deployment: config.deployment,
      rpcUrls: [config.rpcUrl!],
      name: config.chainName,
      publicRpcUrl: config.publicRpcUrl,
      explorerUrl: config.explorerUrl,
      pollingIntervalMs: config.pollingIntervalMs,
    },
  ];
  const several = entries.length > 1;
  const chains = entries.map((e, i): ChainConfig => {
    const deployment = deployments[i]!;
    const chainId = deployment.chainId;
    const publicRpcUrl = e.publicRpcUrl ?? e.rpcUrls.find((u) => /^https?:/.test(u)) ?? e.rpcUrls[0]!;
    return {
      key: several ? `proofpath_${chainId}` : "proofpath",
      chainId,
      deployment,
      rpcUrls: e.rpcUrls,
      local: chainId === 31337,
      pollingIntervalMs: e.pollingIntervalMs,
      site: {
        chainName: e.name ?? CHAIN_NAMES[chainId] ?? `chain ${chainId}`,
        publicRpcUrl,
        explorerUrl: e.explorerUrl?.replace(/\/+$/, "") ?? null,
      },
    };
  });
  return {
    chains,
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    indexReceipts: config.indexReceipts,
    daAllowPrivate: config.daAllowPrivate,
    sqlOverHttp: config.sqlOverHttp ?? config.databaseUrl !== undefined,
    sqlMaxInFlight: config.sqlMaxInFlight,
    modelNames: config.modelNames,
  };
}
