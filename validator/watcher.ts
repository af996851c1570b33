/**
 * Follows `BatchSubmitted` with getLogs polling from a persisted cursor. Each poll that finds the
 * head moved (a higher number, or the same number with another hash) rescans a few blocks below the
 * cursor (inserts are idempotent by header hash), so a short reorg that replaces a batch is picked
 * up again, also when the replacement lands at the height already scanned and no block follows
 * (an idle chain); a batch a reorg removed is dropped later, when its on-chain status
 * (`batch(gateway, batchSeq)`) no longer matches its header hash. Nothing is acted on from a log
 * alone.
 */
import type { Hex } from "viem";
import type { Logger } from "pino";
import { proofSettlementAbi } from "../sdk/abis.js";
import { hashHeader } from "../sdk/hashing.js";
import type { BatchHeader } from "../sdk/types.js";
import { rpc, type ValidatorChain } from "./chain.js";
import { hashHeaderRawDaUri, rawDaUriOf, utf8OrUndefined } from "./rawDaUri.js";
import type { StateStore } from "./state.js";

/** Blocks below the cursor scanned again on every poll. */
const RESCAN_BLOCKS = 8n;

export interface WatcherParams {
  chain: ValidatorChain;
  state: StateStore;
  log: Logger;
  startBlock: bigint;
  confirmations: number;
  maxBlockRange: number;
  onBatch?: (b: { headerHash: Hex; header: BatchHeader; daURIRaw?: Hex | undefined }) => void;
}

/** One poll: reads logs up to head - confirmations and tracks new batches; returns how many were new. */
export async function pollBatches(p: WatcherParams): Promise<number> {
  const tip = await p.chain.head();
  const head = tip.number;
  const safe = head - BigInt(p.confirmations);
  const lastHash = p.state.headHash();
  const tipReplaced = lastHash !== undefined && lastHash !== tip.hash;
  let cursor = p.state.cursor() ?? p.startBlock - 1n;
  if (head < cursor) {
    // The chain got shorter than what was scanned: a reorg (or a node reset). Scan again from below it.
    cursor = head - RESCAN_BLOCKS > p.startBlock - 1n ? head - RESCAN_BLOCKS : p.startBlock - 1n;
    p.log.warn({ head: String(head), cursor: String(cursor) }, "chain head below the log cursor (reorg): rewinding");
    p.state.setCursor(cursor);
  }
  if (safe <= cursor && !tipReplaced) return 0;
  let from = cursor + 1n - RESCAN_BLOCKS;
  if (from < p.startBlock) from = p.startBlock;
  let added = 0;
  while (from <= safe) {
    const to = from + BigInt(p.maxBlockRange) - 1n < safe ? from + BigInt(p.maxBlockRange) - 1n : safe;
    const logs = await rpc("getLogs", () =>
      p.chain.publicClient.getContractEvents({
        address: p.chain.settlement,
        abi: proofSettlementAbi,
        eventName: "BatchSubmitted",
        fromBlock: from,
        toBlock: to,
        strict: true,
      }),
    );
    for (const l of logs) {
      const a = l.args;
      const header: BatchHeader = {
        gateway: a.gateway,
        batchSeq: a.batchSeq,
        firstCallSeq: a.firstCallSeq,
        count: a.count,
        root: a.root.toLowerCase() as Hex,
        usage: a.usage.map((u) => ({
          modelId: u.modelId.toLowerCase() as Hex,
          calls: u.calls,
          inputTokens: u.inputTokens,
          outputTokens: u.outputTokens,
        })),
        fee: a.fee,
        firstServedAt: a.firstServedAt,
        lastServedAt: a.lastServedAt,
        daURI: a.daURI,
      };
      // viem decoded the daURI lossily: a header whose daURI is not UTF-8 keeps its raw bytes, so it
      // hashes as on-chain and can be rejected (rawDaUri.ts) instead of being skipped forever.
      const raw = rawDaUriOf(l);
      const daURIRaw = utf8OrUndefined(raw) === undefined ? raw : undefined;
      const headerHash = a.headerHash.toLowerCase() as Hex;
      // The event is emitted by the contract from the header it hashed; a mismatch means an ABI/SDK drift.
      if ((daURIRaw ? hashHeaderRawDaUri(header, daURIRaw) : hashHeader(header)) !== headerHash) {
        p.log.error(
          { gateway: header.gateway, batchSeq: String(header.batchSeq), headerHash },
          "BatchSubmitted header does not hash to its headerHash: skipped",
        );
        continue;
      }
      if (p.state.track({ headerHash, header, blockNumber: l.blockNumber, daURIRaw })) {
        added++;
        p.log.info(
          {
            gateway: header.gateway,
            batchSeq: String(header.batchSeq),
            count: header.count,
            headerHash,
            block: String(l.blockNumber),
            ...(daURIRaw ? { daURIRaw } : {}),
          },
          "batch submitted",
        );
        p.onBatch?.({ headerHash, header, daURIRaw });
      }
    }
    p.state.setCursor(to);
    from = to + 1n;
  }
  p.state.setHeadHash(tip.hash);
  return added;
}
