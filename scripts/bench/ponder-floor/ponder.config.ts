// The indexer's own config (same chain, contracts, start block and RPC settings from the same
// deployment file): the floor differs from the real indexer in its handlers only.
export { default } from "../../../indexer/ponder.config.js";
