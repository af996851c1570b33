/**
 * Ponder config for proofpath: every address and the start block come from the deployment file
 * `npm run deploy` wrote (PROOFPATH_INDEXER_DEPLOYMENT, default deployments/local.json; see
 * src/lib/config.ts for every field); ABIs are the
 * `as const` ABIs generated from the build (sdk/abis.ts, `npm run build`), never hand-copied.
 */
import { createConfig } from "ponder";
import { gatewayRegistryAbi, proofSettlementAbi, validatorSetAbi } from "../sdk/abis.js";
import { loadIndexerConfig } from "./src/lib/config.js";

const env = loadIndexerConfig();

export default createConfig({
  // PGlite unless databaseUrl (PROOFPATH_INDEXER_DATABASE_URL) is set (Postgres for production and `ponder serve` replicas).
  // Pooled connections stay open (pg closes idle ones after 10 s by default): reopening one costs a
  // Postgres backend, Ponder's session SETs and a re-prepared statement, and under load that showed
  // as latency spikes every ~10 s.
  database: env.databaseUrl
    ? { kind: "postgres", connectionString: env.databaseUrl, poolConfig: { idleTimeoutMillis: 0 } }
    : { kind: "pglite", ...(env.pgliteDir ? { directory: env.pgliteDir } : {}) },
  chains: {
    proofpath: {
      id: env.deployment.chainId,
      rpc: env.rpcUrl,
      // A local dev node mines fast and reorgs on demand: poll often, never cache its RPC answers,
      // and do not throttle requests to it (Ponder's adaptive limit starts at 20 req/s; our patch
      // makes maxRequestsPerSecond its starting point, patches/ponder+0.16.10.patch).
      ...(env.local ? { pollingInterval: 250, disableCache: true, maxRequestsPerSecond: 500 } : {}),
      ...(env.pollingIntervalMs ? { pollingInterval: env.pollingIntervalMs } : {}),
    },
  },
  contracts: {
    ProofSettlement: {
      chain: "proofpath",
      abi: proofSettlementAbi,
      address: env.deployment.contracts.ProofSettlement,
      startBlock: env.deployment.startBlock,
    },
    GatewayRegistry: {
      chain: "proofpath",
      abi: gatewayRegistryAbi,
      address: env.deployment.contracts.GatewayRegistry,
      startBlock: env.deployment.startBlock,
    },
    ValidatorSet: {
      chain: "proofpath",
      abi: validatorSetAbi,
      address: env.deployment.contracts.ValidatorSet,
      startBlock: env.deployment.startBlock,
    },
  },
});
