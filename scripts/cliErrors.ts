/** The CLI's usage error: the command line or its input was wrong (exit 2). */
export class UsageError extends Error {
  override name = "UsageError";
}
