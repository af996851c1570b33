// The indexer's own tables, created as the real indexer creates them, and never written.
export * from "../../../indexer/ponder.schema.js";
