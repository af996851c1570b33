/**
 * JSON.parse with a nesting bound. A batch is a few levels deep; `[[[[…` a million levels deep is a
 * few hundred KB that costs JSON.parse (and zod after it) stack and heap out of all proportion.
 * The bytes are scanned once, outside strings, before anything is parsed.
 */

const QUOTE = 0x22,
  BACKSLASH = 0x5c,
  OPEN_OBJ = 0x7b,
  CLOSE_OBJ = 0x7d,
  OPEN_ARR = 0x5b,
  CLOSE_ARR = 0x5d;

/** Deepest nesting of `{`/`[` in `bytes` (UTF-8 JSON), or -1 as soon as it exceeds `max`. */
export function jsonDepth(bytes: Uint8Array, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJ || b === OPEN_ARR) {
      if (++depth > max) return -1;
      if (depth > deepest) deepest = depth;
    } else if (b === CLOSE_OBJ || b === CLOSE_ARR) depth--;
  }
  return deepest;
}

export type BoundedJsonResult = { ok: true; value: unknown } | { ok: false; tooDeep: boolean; reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses `bytes` as UTF-8 JSON nested at most `maxDepth` levels. */
export function parseBoundedJson(bytes: Uint8Array, maxDepth: number): BoundedJsonResult {
  if (jsonDepth(bytes, maxDepth) < 0)
    return { ok: false, tooDeep: true, reason: `JSON nested deeper than ${maxDepth} levels` };
  try {
    return { ok: true, value: JSON.parse(utf8.decode(bytes)) };
  } catch (e) {
    return { ok: false, tooDeep: false, reason: `body is not JSON (${(e as Error).message.slice(0, 200)})` };
  }
}
