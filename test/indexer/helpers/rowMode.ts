/**
 * Run in a fresh Node process (`node --allow-natives-syntax --import tsx`) by the Ponder patch tests:
 * inserts batch rows among other tables' rows through node_modules/ponder's `normalizeInsert`, as a
 * backfill does, and prints whether the last batch row is in V8's fast mode. A fresh process because
 * V8's choice depends on the hidden-class transitions the process has made before (in a test runner
 * that has run other tests, a row built key by key can stay fast).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../../../indexer/harness/ponder.js";
import { batch, validator } from "../../../indexer/ponder.schema.js";

const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;
const utils = await import(
  pathToFileURL(path.join(repoRoot, "node_modules/ponder/dist/esm/indexing-store/utils.js")).href
);
const HEX = `0x${"ab".repeat(20)}`;
const usage = [{ modelId: `0x${"cd".repeat(32)}`, calls: 3, inputTokens: "500", outputTokens: "900", fee: "12" }];
let row: object = {};
for (let i = 0; i < 1_000; i++) {
  row = utils.normalizeInsert(batch, {
    chainId: 1,
    id: `${HEX}:${i}`,
    gateway: HEX,
    batchSeq: BigInt(i),
    firstCallSeq: 0n,
    count: 8,
    root: `0x${"11".repeat(32)}`,
    fee: 5n,
    headerHash: `0x${"22".repeat(32)}`,
    usage,
    calls: 3,
    inputTokens: 500n,
    outputTokens: 900n,
    firstServedAt: 1n,
    lastServedAt: 2n,
    daURI: "x",
    status: "submitted",
    submitTx: `0x${"33".repeat(32)}`,
    submitBlock: 1n,
    submittedAt: 1n,
    receiptsIndexed: false,
  });
  utils.normalizeInsert(validator, {
    chainId: 1,
    address: HEX,
    status: "active",
    stake: 0n,
    attestations: i,
    rewardsEarned: 0n,
    rewardsClaimed: 0n,
    slashes: 0,
    slashedAmount: 0n,
    banned: false,
  });
}
console.log(JSON.stringify({ keys: Object.keys(row).length, fast: hasFastProperties(row) }));
