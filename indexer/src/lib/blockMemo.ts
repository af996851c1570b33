/**
 * Values read from tables that stay the same for the rest of a block, remembered per chain so the
 * handlers of one block read them once (the fee schedule: every batch of a block prices with it).
 *
 * It never answers other than the tables would: a handler that writes what is remembered drops it
 * (`drop`), and it starts empty on another block and whenever an event comes at or before the last
 * one it saw — Ponder re-running events in the same process (a retried flush, a range refetched
 * after an event access) or a reorg's replacement blocks, where the tables were rolled back.
 */
type Hex = `0x${string}`;

export class BlockMemo<V> {
  private readonly chains = new Map<number, { blockHash: Hex; lastEventId: string; values: Map<string, V> }>();

  /** The remembered values for this event's block (empty when anything above says so). */
  at(event: { id: string; block: { hash: Hex } }, chainId: number): Map<string, V> {
    const memo = this.chains.get(chainId);
    if (memo && memo.blockHash === event.block.hash && event.id > memo.lastEventId) {
      memo.lastEventId = event.id;
      return memo.values;
    }
    const fresh = { blockHash: event.block.hash, lastEventId: event.id, values: new Map<string, V>() };
    this.chains.set(chainId, fresh);
    return fresh.values;
  }

  /** Forgets what was remembered on `chainId` (a handler changed those rows). */
  drop(chainId: number): void {
    this.chains.delete(chainId);
  }
}
