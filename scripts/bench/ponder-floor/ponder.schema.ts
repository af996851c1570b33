// The indexer's own tables, created as the real indexer creates them, and never written; and the
// row floor's table (src/batchSubmitted.ts), written only with PROOFPATH_FLOOR_ROW=1.
import { onchainTable, primaryKey } from "ponder";

export * from "../../../indexer/ponder.schema.js";

export const floorRow = onchainTable(
  "floor_row",
  (t) => ({ chainId: t.integer().notNull(), id: t.text().notNull() }),
  (t) => ({ pk: primaryKey({ columns: [t.chainId, t.id] }) }),
);
