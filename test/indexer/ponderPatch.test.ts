/**
 * The Ponder patch is kept one change per file (patches/ponder-changes, scripts/ponder-patch.ts):
 * the shipped patch must be their composition, and each change must compose without the others
 * (that is what lets `bench:ponder-ab` measure the patch without one of them, or with a dropped one).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { compose, readChanges, selection, shippedPatch, toPatch } from "../../scripts/ponder-patch.js";

describe("Ponder patch composition", function () {
  this.timeout(60_000);

  it("test_ponderPatch_changeFiles_composeToTheShippedPatch", () => {
    const changes = readChanges();
    assert.equal(readFileSync(shippedPatch, "utf8"), toPatch(compose(changes, selection(changes, "all"))));
  });

  it("test_ponderPatch_anyOneChangeLeftOut_stillComposes", () => {
    const changes = readChanges();
    for (const c of changes) {
      // shipped: the patch without it; dropped (patches/ponder-changes/dropped): the patch with it
      const without = compose(changes, selection(changes, c.shipped ? `without:${c.id}` : `with:${c.id}`));
      const only = compose(changes, selection(changes, `only:${c.id}`));
      assert.ok(without.size > 0 && only.size > 0, c.name);
    }
  });
});
