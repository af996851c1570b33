/**
 * The one error model of proofpath (sdk, gateway, validator, OHTTP, CLI), after viem's
 * `errors/base.ts`: every error class extends {@link BaseError} and sets its own `name`, a stable
 * identifier to branch and alert on (not the constructor's name, which minifiers rename). An
 * error has a one-line `shortMessage`, optional `details` (defaults to the cause's), `metaMessages`,
 * the `cause` chain with `walk()`, an optional `docsPath`, the library `version`, and `retryable`:
 * true when trying the same thing again later may succeed without the caller changing anything
 * (a node or endpoint that is down, a receipt not durable yet), false when it cannot (bad input,
 * a revert, a refused signature). Each class documents its value.
 */
import { version } from "./version.js";

export type BaseErrorParameters = {
  /** What exactly was wrong (shown after "Details:"). Defaults to the cause's details or message. */
  details?: string | undefined;
  /** Extra lines shown between the short message and the details. */
  metaMessages?: string[] | undefined;
  /** The section of docs/errors.md that explains this error, e.g. `#rpc-errors`. */
  docsPath?: string | undefined;
  /** Overrides the class's default (see each class). */
  retryable?: boolean | undefined;
  cause?: unknown;
};

const DOCS = "docs/errors.md";

export class BaseError extends Error {
  override name: string = "BaseError";
  readonly shortMessage: string;
  readonly details: string;
  readonly metaMessages: string[] | undefined;
  readonly docsPath: string | undefined;
  readonly retryable: boolean;
  readonly version = `proofpath@${version}`;

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const { cause } = parameters;
    const details =
      parameters.details ??
      (cause instanceof BaseError ? cause.details || cause.shortMessage : cause instanceof Error ? cause.message : "");
    const docsPath = parameters.docsPath ?? (cause instanceof BaseError ? cause.docsPath : undefined);
    const message = [
      shortMessage,
      ...(parameters.metaMessages?.length ? ["", ...parameters.metaMessages] : []),
      ...(details || docsPath ? [""] : []),
      ...(docsPath ? [`Docs: ${DOCS}${docsPath}`] : []),
      ...(details ? [`Details: ${details}`] : []),
      `Version: proofpath@${version}`,
    ].join("\n");
    super(message, cause === undefined ? undefined : { cause });
    this.shortMessage = shortMessage;
    this.details = details;
    this.metaMessages = parameters.metaMessages;
    this.docsPath = docsPath;
    this.retryable = parameters.retryable ?? false;
  }

  /** Walks the `cause` chain; returns the deepest error, or the first one `fn` accepts. */
  walk(): Error;
  walk(fn: (err: unknown) => boolean): Error | null;
  walk(fn?: (err: unknown) => boolean): Error | null {
    return walk(this, fn);
  }
}

/** The first error along the `cause` chain that `fn` accepts (the deepest one without `fn`). */
function walk(err: unknown, fn?: (err: unknown) => boolean): Error | null {
  for (let x = err, depth = 0; depth < 32; depth++) {
    if (fn?.(x)) return x as Error;
    const cause = x && typeof x === "object" && "cause" in x ? (x as { cause?: unknown }).cause : undefined;
    if (cause === undefined || cause === null) return fn ? null : (x as Error);
    x = cause;
  }
  return null;
}

/** True when `err` is one of proofpath's errors and says a later retry may succeed. */
export function isRetryableError(err: unknown): boolean {
  return err instanceof BaseError && err.retryable;
}
