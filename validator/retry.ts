/**
 * Per-item retry schedule driven by the error split of errors.ts: a {@link RetryableError} (or an
 * unclassified one) backs off exponentially with jitter; a {@link NonRetryableError} parks the item
 * until something changes (a new tick with new chain state clears it via `clear`).
 */
import { isRetryable } from "./errors.js";

export class Backoff {
  private readonly items = new Map<string, { attempts: number; nextAt: number; parked: boolean }>();
  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** True when `key` may be worked on now. */
  due(key: string, now = Date.now()): boolean {
    const it = this.items.get(key);
    return !it || (!it.parked && now >= it.nextAt);
  }

  /** Records a failure; returns the delay until the next attempt (Infinity when parked). */
  failed(key: string, err: unknown, opts: { notAfter?: number; now?: number } = {}): number {
    const now = opts.now ?? Date.now();
    const it = this.items.get(key) ?? { attempts: 0, nextAt: 0, parked: false };
    it.attempts++;
    if (!isRetryable(err)) {
      it.parked = true;
      this.items.set(key, it);
      return Infinity;
    }
    const exp = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(it.attempts - 1, 20));
    let at = now + Math.round(exp * (0.75 + Math.random() * 0.5));
    if (opts.notAfter !== undefined && at > opts.notAfter) at = Math.max(now, opts.notAfter);
    it.nextAt = at;
    this.items.set(key, it);
    return at - now;
  }

  /** True when `key` failed permanently (only its on-chain status is still followed). */
  parked(key: string): boolean {
    return this.items.get(key)?.parked ?? false;
  }

  attempts(key: string): number {
    return this.items.get(key)?.attempts ?? 0;
  }

  /** Forgets `key` (success, or a state change that makes a parked item worth another try). */
  clear(key: string): void {
    this.items.delete(key);
  }
}
