/**
 * OHTTP errors as RFC 9457 problem details. Everything a client (or relay) can get wrong before
 * the gateway can open the request is a 4xx here: the gateway never answers bad input with a 5xx.
 * Once the request is open, errors go back *inside* the encapsulated response instead (outer 200),
 * so the relay learns nothing about what went wrong with the content.
 */
import {
  OhttpChunkTooLargeError,
  OhttpDecryptError,
  OhttpReplayError,
  OhttpTruncatedError,
  OhttpUnknownKeyError,
  OhttpUnsupportedSuiteError,
  PROBLEM_DATE,
} from "../../sdk/ohttp/index.js";

export const MEDIA_TYPE_PROBLEM = "application/problem+json";
/** RFC 9458 §5.3: the client used a key config the gateway does not (or no longer) hold. */
export const PROBLEM_OHTTP_KEY = "https://iana.org/assignments/http-problem-types#ohttp-key";
const BASE = "https://proofpath.dev/problems/ohttp";

export interface Problem {
  type: string;
  title: string;
  status: 400 | 413 | 415 | 503;
  detail: string;
}

export function problem(status: Problem["status"], slug: string, title: string, detail: string): Problem {
  return { type: slug.startsWith("https://") ? slug : `${BASE}/${slug}`, title, status, detail };
}

/**
 * Maps a decapsulation / replay error to its problem; undefined for anything else (a bug, which
 * the caller turns into a 500 — the one case that is not the client's fault).
 */
export function problemOf(e: unknown): Problem | undefined {
  if (e instanceof OhttpUnknownKeyError || e instanceof OhttpUnsupportedSuiteError) {
    return problem(
      400,
      PROBLEM_OHTTP_KEY,
      "unknown OHTTP key",
      `${e.shortMessage} Fetch the current key config from /ohttp-keys.`,
    );
  }
  if (e instanceof OhttpChunkTooLargeError) return problem(400, "malformed", "malformed OHTTP request", e.shortMessage);
  if (e instanceof OhttpTruncatedError) return problem(400, "malformed", "malformed OHTTP request", e.shortMessage);
  if (e instanceof OhttpDecryptError) {
    return problem(
      400,
      "decrypt",
      "OHTTP request could not be decrypted",
      "The ciphertext was altered, truncated or sealed to another key.",
    );
  }
  if (e instanceof OhttpReplayError) {
    if (e.reason === "replayed") return problem(400, "replay", "replayed OHTTP request", e.shortMessage);
    // The cache had to forget unexpired requests: refuse until it can tell again (not the client's fault).
    if (e.reason === "full")
      return problem(
        503,
        "replay-cache-full",
        "OHTTP replay cache full",
        `${e.shortMessage} Retry with a fresh request.`,
      );
    return dateProblem(e.shortMessage);
  }
  return undefined;
}

/**
 * RFC 9458 §6.5.2: the request's date is missing or outside the window. The gateway sends it
 * inside the encrypted response with its own `date`, so the client can retry once with that.
 */
export function dateProblem(detail: string): Problem {
  return problem(400, PROBLEM_DATE, "date field in request outside of acceptable range", detail);
}
