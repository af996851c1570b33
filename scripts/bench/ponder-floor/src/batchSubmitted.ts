/**
 * The floor app's only handler. Ponder fetches, stores, reads back and decodes every BatchSubmitted
 * log exactly as for the real indexer, then this handler does nothing with it: its backfill rate is
 * what Ponder itself costs per event on this machine, the ceiling for any handler.
 *
 * With PROOFPATH_FLOOR_ROW=1 (`rowfloor` in bench:ponder-variants) it inserts one two-column row per
 * event instead: what Ponder's store costs for the smallest write (insert, row cache, COPY at the
 * flush), the ceiling for any handler that writes a row per event.
 */
import { ponder } from "ponder:registry";
// The schema file itself: the repository type-checks "ponder:schema" as the indexer's.
import { floorRow } from "../ponder.schema.js";

if (process.env.PROOFPATH_FLOOR_ROW === "1") {
  ponder.on("ProofSettlement:BatchSubmitted", async ({ event, context }) => {
    await context.db.insert(floorRow).values({ chainId: context.chain.id, id: event.id });
  });
} else {
  ponder.on("ProofSettlement:BatchSubmitted", async () => {});
}
