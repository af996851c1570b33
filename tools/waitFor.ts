/** Waiting on a condition, for tests, benches and the dev harnesses: poll it, never sleep a fixed time. */

/** Thrown by a `waitFor` predicate when what it waits for can no longer happen: stops the wait at once. */
export class GiveUp extends Error {
  override name = "GiveUp";
}

/**
 * Polls `fn` every `everyMs` until it returns a truthy value (returned) or `timeoutMs` passes (then
 * throws, naming `what` and the last error `fn` threw). A `GiveUp` from `fn` ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message ?? String(last)}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves after `ms`: for pacing load and for proving that something does NOT happen in a time. */
export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
