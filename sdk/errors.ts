/**
 * The base of proofpath's typed errors, viem style: a `name` per subclass, a one-line
 * `shortMessage`, optional `details` (defaults to the cause's message) and `metaMessages`, the
 * `cause` chain, and `walk()` through it.
 */
export type BaseErrorParameters = {
  /** What exactly was wrong (shown after "Details:"). Defaults to the cause's message. */
  details?: string | undefined;
  /** Extra lines shown between the short message and the details. */
  metaMessages?: string[] | undefined;
  cause?: unknown;
};

export class BaseError extends Error {
  override name: string = "BaseError";
  readonly shortMessage: string;
  readonly details: string;
  readonly metaMessages: string[] | undefined;

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const details = parameters.details ?? (parameters.cause instanceof Error ? parameters.cause.message : "");
    const message = [
      shortMessage,
      ...(parameters.metaMessages?.length ? ["", ...parameters.metaMessages] : []),
      ...(details ? ["", `Details: ${details}`] : []),
    ].join("\n");
    super(message, parameters.cause === undefined ? undefined : { cause: parameters.cause });
    this.shortMessage = shortMessage;
    this.details = details;
    this.metaMessages = parameters.metaMessages;
  }

  /** Walks the `cause` chain; returns the deepest error, or the first one `fn` accepts. */
  walk(): Error;
  walk(fn: (err: unknown) => boolean): Error | null;
  walk(fn?: (err: unknown) => boolean): Error | null {
    let err: unknown = this;
    for (;;) {
      if (fn?.(err)) return err as Error;
      const cause = err instanceof Error ? err.cause : undefined;
      if (cause === undefined || cause === null) return fn ? null : (err as Error);
      err = cause;
    }
  }
}
