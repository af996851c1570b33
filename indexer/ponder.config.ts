/**
 * Ponder config for proofpath: one Ponder chain per configured chain, each with the addresses and
 * start block of its deployment file (`npm run deploy`; PROOFPATH_INDEXER_DEPLOYMENT for one chain,
 * PROOFPATH_INDEXER_CHAINS for several; see src/lib/config.ts for every field). ABIs are the
 * `as const` ABIs generated from the build (sdk/abis.ts, `npm run build`), never hand-copied.
 */
import { createConfig } from "ponder";
import { gatewayRegistryAbi, proofSettlementAbi, validatorSetAbi } from "../sdk/abis.js";
import { type ChainConfig, loadIndexerConfig } from "./src/lib/config.js";

const env = loadIndexerConfig();

/** A contract on every chain, at that chain's deployed address, from its deployment's start block. */
const onEveryChain = (name: "ProofSettlement" | "GatewayRegistry" | "ValidatorSet") =>
  Object.fromEntries(
    env.chains.map((c) => [c.key, { address: c.deployment.contracts[name], startBlock: c.deployment.startBlock }]),
  );

function chain(c: ChainConfig) {
  return {
    id: c.chainId,
    // Several URLs: Ponder spreads requests over them by observed latency and takes a failing or
    // timing-out one out of rotation (its RPC "buckets"), so the rest are the fallbacks.
    rpc: c.rpcUrls.length === 1 ? c.rpcUrls[0]! : c.rpcUrls,
    // A local dev node mines fast and reorgs on demand: poll often, never cache its RPC answers,
    // and do not throttle requests to it (Ponder's adaptive limit starts at 20 req/s; our patch
    // makes maxRequestsPerSecond its starting point, patches/ponder+0.16.10.patch).
    ...(c.local ? { pollingInterval: 250, disableCache: true, maxRequestsPerSecond: 500 } : {}),
    ...(c.pollingIntervalMs ? { pollingInterval: c.pollingIntervalMs } : {}),
  };
}

export default createConfig({
  // PGlite unless databaseUrl (PROOFPATH_INDEXER_DATABASE_URL) is set (Postgres for production and `ponder serve` replicas).
  // Pooled connections stay open (pg closes idle ones after 10 s by default): reopening one costs a
  // Postgres backend, Ponder's session SETs and a re-prepared statement, and under load that showed
  // as latency spikes every ~10 s.
  database: env.databaseUrl
    ? { kind: "postgres", connectionString: env.databaseUrl, poolConfig: { idleTimeoutMillis: 0 } }
    : { kind: "pglite", ...(env.pgliteDir ? { directory: env.pgliteDir } : {}) },
  // Each chain is indexed in its own order, as soon as its blocks arrive (Ponder's default, said
  // here because it matters): a stalled chain does not hold the others back.
  ordering: "multichain",
  chains: Object.fromEntries(env.chains.map((c) => [c.key, chain(c)])),
  contracts: {
    ProofSettlement: { chain: onEveryChain("ProofSettlement"), abi: proofSettlementAbi },
    GatewayRegistry: { chain: onEveryChain("GatewayRegistry"), abi: gatewayRegistryAbi },
    ValidatorSet: { chain: onEveryChain("ValidatorSet"), abi: validatorSetAbi },
  },
});
