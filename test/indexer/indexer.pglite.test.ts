/**
 * The indexer on its embedded default, PGlite: the same story and the same answers as on Postgres,
 * through REST, GraphQL and SQL over HTTP, against a real anvil chain and a real `ponder start`.
 */
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { startPonder, type Ponder } from "../../indexer/harness/ponder.js";
import { setupProtocol } from "./helpers/protocol.js";
import { checkGraphqlExamples, checkOpenApiAndClient } from "./helpers/api.js";
import { checkGraphql, checkRest, checkSql, runScenario, type Expected } from "./helpers/scenario.js";

describe("indexer on PGlite", function () {
  this.timeout(600_000);
  let anvil: DevChain;
  let expected: Expected;
  let ponder: Ponder;

  before(async () => {
    anvil = await startDevChain();
    const protocol = await setupProtocol(anvil.url, anvil.rpc);
    expected = await runScenario(protocol);
    // SQL over HTTP is off on PGlite unless asked for (one query runs inside the indexer): on for checkSql.
    ponder = await startPonder({
      deploymentFile: protocol.deploymentFile,
      rpcUrl: anvil.url,
      logName: "pglite",
      env: { PROOFPATH_INDEXER_SQL_OVER_HTTP: "true" },
    });
    await ponder.waitForBlock(expected.lastBlock, 240_000);
  });

  after(async () => {
    await ponder?.stop();
    await anvil?.stop();
  });

  it("test_rest_scenarioIndexed_reportsStatusesAndRollups", async () => {
    await checkRest(ponder, expected);
  });

  it("test_graphql_scenarioIndexed_reportsSameStatusesAndRollups", async () => {
    await checkGraphql(ponder, expected);
  });

  it("test_openApi_servedDocument_typedClientFollowsIt", async () => {
    const routes = await checkOpenApiAndClient(ponder, expected);
    console.log(`      OpenAPI document: ${routes} routes`);
  });

  it("test_graphql_readmeExamples_answeredAsDocumented", async () => {
    await checkGraphqlExamples(ponder, expected);
  });

  it("test_sql_overHttp_reportsSameStatusesAndTotals", async () => {
    await checkSql(ponder, expected);
  });
});
