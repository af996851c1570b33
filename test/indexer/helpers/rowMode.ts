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
import { batchRow, HEX } from "./patchRows.js";

const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;
const utils = await import(
  pathToFileURL(path.join(repoRoot, "node_modules/ponder/dist/esm/indexing-store/utils.js")).href
);
let row: object = {};
for (let i = 0; i < 1_000; i++) {
  row = utils.normalizeInsert(batch, { chainId: 1, ...batchRow(i) });
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
