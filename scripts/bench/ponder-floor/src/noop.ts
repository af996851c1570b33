/**
 * The floor app's only handler: Ponder fetches, stores, reads back and decodes every BatchSubmitted
 * log exactly as for the real indexer, then this handler does nothing with it. Its backfill rate is
 * what Ponder itself costs per event on this machine, the ceiling for any handler.
 */
import { ponder } from "ponder:registry";

ponder.on("ProofSettlement:BatchSubmitted", async () => {});
