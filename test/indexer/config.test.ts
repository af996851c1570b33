/**
 * The indexer's chain configuration, without a running indexer: one chain from the single-chain
 * variables as before, several from PROOFPATH_INDEXER_CHAINS (JSON), and the mistakes that would
 * otherwise index the wrong thing silently (both at once, one chain twice) refused by name.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadIndexerConfig } from "../../indexer/src/lib/config.js";
import { ConfigError } from "../../sdk/config.js";
import { type Deployment, writeDeployment } from "../../sdk/deployment.js";

const dir = mkdtempSync(path.join(tmpdir(), "proofpath-indexer-config-"));
const A = "0x000000000000000000000000000000000000000a";
function deploymentFile(chainId: number): string {
  const file = path.join(dir, `d${chainId}.json`);
  const d: Deployment = {
    chainId,
    startBlock: 7,
    deployer: A,
    contracts: { OPGToken: A, ValidatorSet: A, GatewayRegistry: A, ProofSettlement: A },
    deployedAt: "2026-01-01T00:00:00Z",
  };
  writeDeployment(file, d);
  return file;
}

function issuesOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadIndexerConfig(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.name}: ${i.reason}`);
  }
  assert.fail("expected a ConfigError");
}

describe("indexer config: chains", () => {
  it("test_loadIndexerConfig_singleChainVariables_oneChainNamedProofpathAsBefore", () => {
    const c = loadIndexerConfig({
      PROOFPATH_INDEXER_DEPLOYMENT: deploymentFile(31337),
      PROOFPATH_INDEXER_RPC_URL: "http://127.0.0.1:8545",
    });
    assert.equal(c.chains.length, 1);
    const [one] = c.chains;
    assert.deepEqual(
      [one!.key, one!.chainId, one!.rpcUrls, one!.local, one!.site.publicRpcUrl],
      ["proofpath", 31337, ["http://127.0.0.1:8545"], true, "http://127.0.0.1:8545"],
    );
  });

  it("test_loadIndexerConfig_chainsJson_oneEntryPerChainWithItsFallbackRpcs", () => {
    const c = loadIndexerConfig({
      PROOFPATH_INDEXER_CHAINS: JSON.stringify([
        { deployment: deploymentFile(8453), rpcUrls: ["https://a.example", "https://b.example"], name: "Base" },
        { deployment: deploymentFile(10), rpcUrls: ["wss://op.example"], publicRpcUrl: "https://op-public.example" },
      ]),
    });
    assert.deepEqual(
      c.chains.map((ch) => [ch.key, ch.chainId, ch.rpcUrls.length, ch.site.chainName, ch.site.publicRpcUrl]),
      [
        ["proofpath_8453", 8453, 2, "Base", "https://a.example"],
        ["proofpath_10", 10, 1, "OP Mainnet", "https://op-public.example"],
      ],
    );
  });

  it("test_loadIndexerConfig_chainsBesideSingleChainFieldsOrOneChainTwice_refusedNamingEach", () => {
    const d = deploymentFile(84532);
    const issues = issuesOf({
      PROOFPATH_INDEXER_RPC_URL: "http://127.0.0.1:8545",
      PROOFPATH_INDEXER_CHAINS: JSON.stringify([
        { deployment: d, rpcUrls: ["https://a.example"] },
        { deployment: d, rpcUrls: [] },
      ]),
    });
    assert.ok(
      issues.some((i) => i.startsWith("PROOFPATH_INDEXER_RPC_URL: set per chain")),
      issues.join("\n"),
    );
    assert.ok(
      issues.some((i) => i.startsWith("PROOFPATH_INDEXER_CHAINS[1][rpcUrls]: at least one RPC URL")),
      issues.join("\n"),
    );
    const twice = { deployment: d, rpcUrls: ["https://a.example"] };
    assert.deepEqual(issuesOf({ PROOFPATH_INDEXER_CHAINS: JSON.stringify([twice, twice]) }), [
      "PROOFPATH_INDEXER_CHAINS[1][deployment]: chain 84532 is already chains[0]: one entry per chain",
    ]);
    assert.deepEqual(issuesOf({ PROOFPATH_INDEXER_DEPLOYMENT: deploymentFile(1) }), [
      "rpcUrl: required (or set chains)",
    ]);
  });
});

describe("indexer config: SQL over HTTP", () => {
  const base = () => ({
    PROOFPATH_INDEXER_DEPLOYMENT: deploymentFile(31337),
    PROOFPATH_INDEXER_RPC_URL: "http://127.0.0.1:8545",
  });

  it("test_attack_sqlOverHttpOnPglite_offUnlessAsked", () => {
    // On PGlite a /sql query runs inside the indexer's own process with no statement timeout: one
    // anonymous cross join held indexing and every route. Off there unless the operator asks.
    assert.equal(loadIndexerConfig(base()).sqlOverHttp, false);
    assert.equal(loadIndexerConfig({ ...base(), PROOFPATH_INDEXER_SQL_OVER_HTTP: "true" }).sqlOverHttp, true);
    const pg = { ...base(), PROOFPATH_INDEXER_DATABASE_URL: "postgres://u@127.0.0.1:5432/db" };
    assert.equal(loadIndexerConfig(pg).sqlOverHttp, true, "on with Postgres (read-only pool, statement timeout)");
    assert.equal(loadIndexerConfig({ ...pg, PROOFPATH_INDEXER_SQL_OVER_HTTP: "false" }).sqlOverHttp, false);
    assert.equal(loadIndexerConfig(pg).sqlMaxInFlight, 2);
  });
});
