/**
 * The CLI's errors and how they are printed: `shortMessage`, `metaMessages` and `details` of the
 * one error model (sdk/errors.ts), never the stack or the version line of `message`.
 */
import { BaseError } from "../sdk/errors.js";

/** The CLI's usage error: the command line or its input was wrong (exit 2). Not retryable. */
export class UsageError extends BaseError {
  override name = "UsageError";
}

/**
 * The chain refused a transaction or a call, or could not be reached (exit 1); `errorName` is the
 * decoded custom error. Not retryable: the CLI reports it and exits.
 */
export class ChainRefusal extends BaseError {
  override name = "ChainRefusal";
  constructor(
    shortMessage: string,
    readonly errorName?: string,
    readonly errorArgs?: readonly unknown[],
  ) {
    super(shortMessage);
  }
}

/**
 * What the CLI prints for `err`: the short message, meta lines and details of a typed error —
 * proofpath's or viem's, which share the shape (viem is not imported: `--help` stays light).
 */
export function describeError(err: unknown): string {
  const e = err as Partial<Pick<BaseError, "shortMessage" | "metaMessages" | "details">> | undefined;
  if (err instanceof Error && typeof e?.shortMessage === "string") {
    const lines = [e.shortMessage, ...(e.metaMessages ?? [])];
    if (e.details && e.details !== e.shortMessage) lines.push(`Details: ${e.details}`);
    return lines.join("\n");
  }
  return err instanceof Error ? err.message : String(err);
}
