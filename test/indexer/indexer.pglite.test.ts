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
    ponder = await startPonder({ deploymentFile: protocol.deploymentFile, rpcUrl: anvil.url, logName: "pglite" });
    await ponder.waitForBlock(expected.lastBlock, 240_000);
  });

  after(async () => {
    await ponder?.stop();
    await anvil?.stop();
  });

  it("reports statuses and rollups through REST", async () => {
    await checkRest(ponder, expected);
  });

  it("reports the same through GraphQL", async () => {
    await checkGraphql(ponder, expected);
  });

  it("serves its OpenAPI document, which the typed client follows", async () => {
    const routes = await checkOpenApiAndClient(ponder, expected);
    console.log(`      OpenAPI document: ${routes} routes`);
  });

  it("answers the README's GraphQL examples", async () => {
    await checkGraphqlExamples(ponder, expected);
  });

  it("reports the same through SQL over HTTP", async () => {
    await checkSql(ponder, expected);
  });
});
