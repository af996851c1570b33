/**
 * Binary HTTP messages (RFC 9292), known-length and indeterminate-length forms.
 *
 * This is the plaintext that OHTTP (RFC 9458) encapsulates: the user's device encodes the
 * inference request as `message/bhttp`, seals it to the enclave's key, and the enclave answers
 * with a sealed `message/bhttp` response.
 *
 *   Known-Length Request  { Framing Indicator (i) = 0, Request Control Data,
 *                           Known-Length Field Section (headers), Known-Length Content,
 *                           Known-Length Field Section (trailers), Padding }
 *   Known-Length Response { Framing Indicator (i) = 1, Known-Length Informational Response ...,
 *                           Final Response Control Data, Field Section, Content, Field Section,
 *                           Padding }
 *
 * Decoding is strict: every way RFC 9292 §4 calls a message invalid is a `BhttpDecodeError`
 * that says what was wrong and at which byte. What the RFC allows is accepted: truncation
 * before any of the length prefixes that precede the header section, content or trailers
 * (§3.8: missing parts equal zero-length parts), zero-valued padding, and non-minimal varints.
 * Indeterminate-length messages (framing indicators 2 and 3) decode whole too; a streamed answer
 * is written with `encodeResponseHead` / `encodeContentChunk` / `encodeResponseEnd` and read as it
 * arrives with `BhttpResponseStreamDecoder` (./bhttpStream.ts).
 */

import { BaseError } from "../errors.js";

/** One field line, in message order. Names are lowercase; repeated names are kept as-is. */
export type BhttpField = readonly [name: string, value: string];
export type BhttpFields = readonly BhttpField[];

export interface BhttpRequest {
  method: string;
  /** `https`, `http`, … (may be empty only for CONNECT-style requests). */
  scheme: string;
  /** Host[:port]; empty when absent (RFC 9292 §3.4). */
  authority: string;
  /** Path and query, e.g. `/v1/chat?x=1`. */
  path: string;
  headers: BhttpFields;
  content: Uint8Array;
  trailers: BhttpFields;
}

export interface BhttpInformationalResponse {
  /** 100..199 */
  status: number;
  headers: BhttpFields;
}

export interface BhttpResponse {
  /** Interim (1xx) responses that precede the final one, in order. */
  informational: readonly BhttpInformationalResponse[];
  /** Final status, 200..599. */
  status: number;
  headers: BhttpFields;
  content: Uint8Array;
  trailers: BhttpFields;
}

/** Input shapes for the encoders: everything but the control data is optional. */
export type BhttpRequestInit = Pick<BhttpRequest, "method" | "scheme" | "authority" | "path"> &
  Partial<Pick<BhttpRequest, "headers" | "content" | "trailers">>;
export type BhttpResponseInit = Pick<BhttpResponse, "status"> & Partial<Omit<BhttpResponse, "status">>;

export interface BhttpEncodeOptions {
  /**
   * Omit trailing empty parts (trailers, then content, then the header section), as RFC 9292
   * §3.8 allows. Default true: the shortest encoding (the form RFC 9458 Appendix A uses).
   */
  truncate?: boolean;
  /** Zero-valued padding bytes appended after the message (§3.8). Default 0. */
  padding?: number;
}

export const FRAMING_KNOWN_LENGTH_REQUEST = 0;
export const FRAMING_KNOWN_LENGTH_RESPONSE = 1;
export const FRAMING_INDETERMINATE_REQUEST = 2;
export const FRAMING_INDETERMINATE_RESPONSE = 3;
export const MEDIA_TYPE_BHTTP = "message/bhttp";

/** Largest value a QUIC variable-length integer can carry that is also a safe JS integer. */
const MAX_VARINT = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------------------------------------
// Errors (viem style, on sdk/errors.ts: `name`, `shortMessage`, `reason` names the problem)
// ---------------------------------------------------------------------------------------------

/** A `message/bhttp` byte string that RFC 9292 calls invalid (or that this codec does not support). Not retryable. */
export class BhttpDecodeError extends BaseError {
  override name = "BhttpDecodeError" as const;
  /** What is wrong, without the byte offset. */
  readonly reason: string;
  /** Byte offset at which the problem was found. */
  readonly offset: number;
  constructor(reason: string, offset: number) {
    super(`Invalid binary HTTP message: ${reason} (at byte ${offset}).`);
    this.reason = reason;
    this.offset = offset;
  }
}

/** A request/response value that cannot be represented as a valid `message/bhttp`. Not retryable. */
export class BhttpEncodeError extends BaseError {
  override name = "BhttpEncodeError" as const;
  /** What cannot be encoded. */
  readonly reason: string;
  constructor(reason: string) {
    super(`Cannot encode binary HTTP message: ${reason}.`);
    this.reason = reason;
  }
}

// ---------------------------------------------------------------------------------------------
// QUIC variable-length integers (RFC 9000 §16)
// ---------------------------------------------------------------------------------------------

/** Bytes needed to encode `v` minimally. */
export function varintLength(v: number): 1 | 2 | 4 | 8 {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

function checkVarint(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_VARINT) {
    throw new BhttpEncodeError(`${what} ${v} is not a non-negative safe integer`);
  }
}

/** Writes `v` at `off` in its minimal form; returns the new offset. */
export function writeVarint(out: Uint8Array, off: number, v: number): number {
  if (v < 0x40) {
    out[off] = v;
    return off + 1;
  }
  if (v < 0x4000) {
    out[off] = 0x40 | (v >>> 8);
    out[off + 1] = v & 0xff;
    return off + 2;
  }
  if (v < 0x40000000) {
    out[off] = 0x80 | (v >>> 24);
    out[off + 1] = (v >>> 16) & 0xff;
    out[off + 2] = (v >>> 8) & 0xff;
    out[off + 3] = v & 0xff;
    return off + 4;
  }
  const hi = Math.floor(v / 0x100000000);
  const lo = v >>> 0;
  out[off] = 0xc0 | (hi >>> 24);
  out[off + 1] = (hi >>> 16) & 0xff;
  out[off + 2] = (hi >>> 8) & 0xff;
  out[off + 3] = hi & 0xff;
  out[off + 4] = lo >>> 24;
  out[off + 5] = (lo >>> 16) & 0xff;
  out[off + 6] = (lo >>> 8) & 0xff;
  out[off + 7] = lo & 0xff;
  return off + 8;
}

export function encodeVarint(v: number): Uint8Array {
  checkVarint(v, "varint");
  const out = new Uint8Array(varintLength(v));
  writeVarint(out, 0, v);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Character classes (RFC 9110 §5.1 / §5.5, RFC 9113 §8.2.1, RFC 3986 §3.1)
// ---------------------------------------------------------------------------------------------

/** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}
const isTchar = (b: number): boolean => b < 128 && TCHAR[b] === 1;
const isUpper = (b: number): boolean => b >= 0x41 && b <= 0x5a;
const isAlpha = (b: number): boolean => (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a;
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isVisibleAscii = (b: number): boolean => b >= 0x21 && b <= 0x7e;

/** Pseudo-fields whose content lives in the control data; RFC 9292 §3.6 makes them invalid. */
const FORBIDDEN_PSEUDO = new Set([":method", ":scheme", ":authority", ":path", ":status"]);

type Problem = string | null;

/** Returns what is wrong with a (lowercased) field name, or null. `pseudo` = starts with ':'. */
function fieldNameProblem(name: Uint8Array): Problem {
  if (name.length === 0) return "empty field name";
  const start = name[0] === 0x3a ? 1 : 0;
  if (start === 1 && name.length === 1) return "field name ':' has no name after the colon";
  for (let i = start; i < name.length; i++) {
    const b = name[i]!;
    if (isUpper(b)) return `uppercase byte 0x${b.toString(16)} in field name`;
    if (!isTchar(b)) return `byte 0x${b.toString(16)} is not allowed in a field name`;
  }
  return null;
}

/** RFC 9113 §8.2.1: no NUL, CR or LF; no leading or trailing SP / HTAB. */
function fieldValueProblem(value: Uint8Array): Problem {
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const b = value[i]!;
    if (b === 0x00 || b === 0x0a || b === 0x0d)
      return `byte 0x${b.toString(16).padStart(2, "0")} (NUL/CR/LF) in field value`;
  }
  if (n > 0) {
    const first = value[0]!;
    const last = value[n - 1]!;
    if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) {
      return "field value starts or ends with whitespace";
    }
  }
  return null;
}

function methodProblem(m: Uint8Array): Problem {
  if (m.length === 0) return "empty method";
  for (const b of m) if (!isTchar(b)) return `byte 0x${b.toString(16)} is not allowed in a method`;
  return null;
}

/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), or empty. */
function schemeProblem(s: Uint8Array): Problem {
  for (let i = 0; i < s.length; i++) {
    const b = s[i]!;
    const ok = isAlpha(b) || (i > 0 && (isDigit(b) || b === 0x2b || b === 0x2d || b === 0x2e));
    if (!ok) return `byte 0x${b.toString(16)} is not allowed in a scheme`;
  }
  return null;
}

function visibleAsciiProblem(s: Uint8Array, what: string): Problem {
  for (const b of s) if (!isVisibleAscii(b)) return `byte 0x${b.toString(16)} is not allowed in the ${what}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const utf8 = new TextEncoder();
const utf8Fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Bytes already validated as ASCII → string (no argument-count limit, unlike fromCharCode.apply). */
const ascii = (b: Uint8Array): string => utf8Fatal.decode(b);

/** ASCII-only string → bytes, rejecting anything outside 0x00..0x7f. */
function asciiBytes(s: string, what: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7e) throw new BhttpEncodeError(`non-ASCII character in the ${what}`);
    out[i] = c;
  }
  return out;
}

interface EncodedFields {
  lines: Uint8Array[]; // name, value, name, value, ...
  size: number; // bytes of the section body (without its length prefix)
}

function encodeFields(fields: BhttpFields | undefined, section: "header" | "trailer"): EncodedFields {
  const lines: Uint8Array[] = [];
  let size = 0;
  let seenRegular = false;
  for (const field of fields ?? []) {
    const [rawName, value] = field;
    // RFC 9292 §3.6: uppercase MUST be translated to lowercase when encoding. ASCII-only
    // lowering (String#toLowerCase would turn e.g. U+212A KELVIN SIGN into "k").
    const name = asciiBytes(rawName, "field name");
    for (let i = 0; i < name.length; i++) if (isUpper(name[i]!)) name[i]! |= 0x20;
    const problem = fieldNameProblem(name);
    if (problem) throw new BhttpEncodeError(`${problem} (${JSON.stringify(rawName)})`);
    if (name[0] === 0x3a) {
      const lower = ascii(name);
      if (FORBIDDEN_PSEUDO.has(lower)) throw new BhttpEncodeError(`pseudo-field ${lower} belongs in the control data`);
      if (section === "trailer") throw new BhttpEncodeError(`pseudo-field ${lower} in trailers`);
      if (seenRegular) throw new BhttpEncodeError(`pseudo-field ${lower} after a regular field`);
    } else {
      seenRegular = true;
    }
    const v = utf8.encode(value);
    const vp = fieldValueProblem(v);
    if (vp) throw new BhttpEncodeError(`${vp} (field ${JSON.stringify(rawName)})`);
    lines.push(name, v);
    size += varintLength(name.length) + name.length + varintLength(v.length) + v.length;
  }
  return { lines, size };
}

function writeFields(out: Uint8Array, off: number, f: EncodedFields): number {
  off = writeVarint(out, off, f.size);
  for (const part of f.lines) {
    off = writeVarint(out, off, part.length);
    out.set(part, off);
    off += part.length;
  }
  return off;
}

const sectionSize = (f: EncodedFields): number => varintLength(f.size) + f.size;

function paddingOf(options: BhttpEncodeOptions | undefined): number {
  const padding = options?.padding ?? 0;
  if (!Number.isSafeInteger(padding) || padding < 0)
    throw new BhttpEncodeError(`padding ${padding} is not a non-negative integer`);
  return padding;
}

/**
 * How many of the three trailing parts (header section, content, trailers) to write:
 * 3 = all; truncation drops empty parts from the end (RFC 9292 §3.8).
 */
function partsToWrite(
  truncate: boolean,
  headers: EncodedFields,
  content: Uint8Array,
  trailers: EncodedFields,
): 0 | 1 | 2 | 3 {
  if (!truncate || trailers.lines.length > 0) return 3;
  if (content.length > 0) return 2;
  if (headers.lines.length > 0) return 1;
  return 0;
}

/** Encodes a known-length `message/bhttp` request. Throws `BhttpEncodeError` for invalid values. */
export function encodeRequest(request: BhttpRequestInit, options?: BhttpEncodeOptions): Uint8Array {
  const method = asciiBytes(request.method, "method");
  const scheme = asciiBytes(request.scheme, "scheme");
  const authority = asciiBytes(request.authority, "authority");
  const path = asciiBytes(request.path, "path");
  const cp =
    methodProblem(method) ??
    schemeProblem(scheme) ??
    visibleAsciiProblem(authority, "authority") ??
    visibleAsciiProblem(path, "path");
  if (cp) throw new BhttpEncodeError(cp);

  const headers = encodeFields(request.headers, "header");
  const trailers = encodeFields(request.trailers, "trailer");
  const content = request.content ?? new Uint8Array(0);
  const padding = paddingOf(options);
  const parts = partsToWrite(options?.truncate ?? true, headers, content, trailers);

  let size = 1;
  for (const p of [method, scheme, authority, path]) size += varintLength(p.length) + p.length;
  if (parts >= 1) size += sectionSize(headers);
  if (parts >= 2) size += varintLength(content.length) + content.length;
  if (parts >= 3) size += sectionSize(trailers);
  size += padding;

  const out = new Uint8Array(size); // zero-filled: padding needs no writes
  let off = writeVarint(out, 0, FRAMING_KNOWN_LENGTH_REQUEST);
  for (const p of [method, scheme, authority, path]) {
    off = writeVarint(out, off, p.length);
    out.set(p, off);
    off += p.length;
  }
  if (parts >= 1) off = writeFields(out, off, headers);
  if (parts >= 2) {
    off = writeVarint(out, off, content.length);
    out.set(content, off);
    off += content.length;
  }
  if (parts >= 3) writeFields(out, off, trailers);
  return out;
}

/** Encodes a known-length `message/bhttp` response. Throws `BhttpEncodeError` for invalid values. */
export function encodeResponse(response: BhttpResponseInit, options?: BhttpEncodeOptions): Uint8Array {
  const { status } = response;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new BhttpEncodeError(`final status ${status} is outside 200..599`);
  }
  const interim = (response.informational ?? []).map((r) => {
    if (!Number.isInteger(r.status) || r.status < 100 || r.status > 199) {
      throw new BhttpEncodeError(`informational status ${r.status} is outside 100..199`);
    }
    return { status: r.status, headers: encodeFields(r.headers, "header") };
  });
  const headers = encodeFields(response.headers, "header");
  const trailers = encodeFields(response.trailers, "trailer");
  const content = response.content ?? new Uint8Array(0);
  const padding = paddingOf(options);
  const parts = partsToWrite(options?.truncate ?? true, headers, content, trailers);

  let size = 1;
  for (const r of interim) size += varintLength(r.status) + sectionSize(r.headers);
  size += varintLength(status);
  if (parts >= 1) size += sectionSize(headers);
  if (parts >= 2) size += varintLength(content.length) + content.length;
  if (parts >= 3) size += sectionSize(trailers);
  size += padding;

  const out = new Uint8Array(size);
  let off = writeVarint(out, 0, FRAMING_KNOWN_LENGTH_RESPONSE);
  for (const r of interim) {
    off = writeVarint(out, off, r.status);
    off = writeFields(out, off, r.headers);
  }
  off = writeVarint(out, off, status);
  if (parts >= 1) off = writeFields(out, off, headers);
  if (parts >= 2) {
    off = writeVarint(out, off, content.length);
    out.set(content, off);
    off += content.length;
  }
  if (parts >= 3) writeFields(out, off, trailers);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Indeterminate-length responses, written as they are produced (RFC 9292 §3.2)
// ---------------------------------------------------------------------------------------------

function indeterminateFields(f: EncodedFields): { size: number; write: (out: Uint8Array, off: number) => number } {
  let size = 1; // terminator
  for (const part of f.lines) size += varintLength(part.length) + part.length;
  return {
    size,
    write(out, off) {
      for (const part of f.lines) {
        off = writeVarint(out, off, part.length);
        out.set(part, off);
        off += part.length;
      }
      return writeVarint(out, off, 0);
    },
  };
}

/** The start of an indeterminate-length response: framing indicator 3, status, header section. */
export function encodeResponseHead(head: Pick<BhttpResponseInit, "status" | "headers">): Uint8Array {
  const { status } = head;
  if (!Number.isInteger(status) || status < 200 || status > 599)
    throw new BhttpEncodeError(`final status ${status} is outside 200..599`);
  const fields = indeterminateFields(encodeFields(head.headers, "header"));
  const out = new Uint8Array(1 + varintLength(status) + fields.size);
  let off = writeVarint(out, 0, FRAMING_INDETERMINATE_RESPONSE);
  off = writeVarint(out, off, status);
  fields.write(out, off);
  return out;
}

/** One chunk of indeterminate-length content (must not be empty: a zero length ends the content). */
export function encodeContentChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) throw new BhttpEncodeError("an indeterminate-length content chunk must not be empty");
  const out = new Uint8Array(varintLength(data.length) + data.length);
  out.set(data, writeVarint(out, 0, data.length));
  return out;
}

/** The end of an indeterminate-length response: the content terminator and the trailer section. */
export function encodeResponseEnd(trailers?: BhttpFields): Uint8Array {
  const fields = indeterminateFields(encodeFields(trailers, "trailer"));
  const out = new Uint8Array(1 + fields.size);
  fields.write(out, writeVarint(out, 0, 0));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** @internal */
export class Reader {
  off = 0;
  constructor(readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.off >= this.buf.length;
  }

  fail(what: string, at = this.off): never {
    throw new BhttpDecodeError(what, at);
  }

  varint(what: string): number {
    const { buf } = this;
    const start = this.off;
    if (start >= buf.length) this.fail(`truncated: missing ${what}`);
    const first = buf[start]!;
    const len = 1 << (first >>> 6);
    if (start + len > buf.length)
      this.fail(`truncated: ${what} is a ${len}-byte varint but only ${buf.length - start} byte(s) remain`);
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[start + i]!;
    // An 8-byte varint above 2^53 loses precision here, but any such length or status is
    // rejected by the caller's range checks (nothing that large fits in a buffer).
    this.off = start + len;
    return v;
  }

  bytes(n: number, what: string): Uint8Array {
    const start = this.off;
    if (n > this.buf.length - start)
      this.fail(`truncated: ${what} declares ${n} byte(s) but only ${this.buf.length - start} remain`);
    this.off = start + n;
    return this.buf.subarray(start, start + n);
  }

  lengthPrefixed(what: string): Uint8Array {
    const n = this.varint(`${what} length`);
    return this.bytes(n, what);
  }
}

function decodeControlString(r: Reader, what: string, check: (b: Uint8Array) => Problem): string {
  const start = r.off;
  const b = r.lengthPrefixed(what);
  const p = check(b);
  if (p) r.fail(p, start);
  return ascii(b);
}

function decodeFieldSection(r: Reader, section: "header" | "trailer"): [string, string][] {
  const sectionStart = r.off;
  const size = r.varint(`${section} section length`);
  if (size > r.buf.length - r.off) {
    r.fail(
      `truncated: ${section} section declares ${size} byte(s) but only ${r.buf.length - r.off} remain`,
      sectionStart,
    );
  }
  const end = r.off + size;
  const sub = new Reader(r.buf.subarray(0, end));
  sub.off = r.off;
  const fields: [string, string][] = [];
  let seenRegular = false;
  while (sub.off < end) {
    const lineStart = sub.off;
    let name: Uint8Array;
    let value: Uint8Array;
    try {
      name = sub.lengthPrefixed("field name");
      value = sub.lengthPrefixed("field value");
    } catch (e) {
      if (e instanceof BhttpDecodeError) {
        throw new BhttpDecodeError(`field line overruns the ${section} section (${e.reason})`, e.offset);
      }
      throw e;
    }
    const np = fieldNameProblem(name);
    if (np) r.fail(np, lineStart);
    const nameStr = ascii(name);
    if (name[0] === 0x3a) {
      if (FORBIDDEN_PSEUDO.has(nameStr))
        r.fail(`pseudo-field ${nameStr} is not allowed (it belongs in the control data)`, lineStart);
      if (section === "trailer") r.fail(`pseudo-field ${nameStr} in trailers`, lineStart);
      if (seenRegular) r.fail(`pseudo-field ${nameStr} after a regular field`, lineStart);
    } else {
      seenRegular = true;
    }
    const vp = fieldValueProblem(value);
    if (vp) r.fail(`${vp} (field ${nameStr})`, lineStart);
    let valueStr: string;
    try {
      valueStr = utf8Fatal.decode(value);
    } catch {
      r.fail(`field ${nameStr} has a value that is not valid UTF-8`, lineStart);
    }
    fields.push([nameStr, valueStr]);
  }
  r.off = end;
  return fields;
}

/** @internal An indeterminate-length field section: field lines up to a zero-length name (RFC 9292 §3.6). */
export function decodeIndeterminateFieldSection(r: Reader, section: "header" | "trailer"): [string, string][] {
  const fields: [string, string][] = [];
  let seenRegular = false;
  for (;;) {
    const lineStart = r.off;
    const nameLength = r.varint(`${section} field name length or section terminator`);
    if (nameLength === 0) return fields;
    const name = r.bytes(nameLength, "field name");
    const value = r.lengthPrefixed("field value");
    const np = fieldNameProblem(name);
    if (np) r.fail(np, lineStart);
    const nameStr = ascii(name);
    if (name[0] === 0x3a) {
      if (FORBIDDEN_PSEUDO.has(nameStr))
        r.fail(`pseudo-field ${nameStr} is not allowed (it belongs in the control data)`, lineStart);
      if (section === "trailer") r.fail(`pseudo-field ${nameStr} in trailers`, lineStart);
      if (seenRegular) r.fail(`pseudo-field ${nameStr} after a regular field`, lineStart);
    } else {
      seenRegular = true;
    }
    const vp = fieldValueProblem(value);
    if (vp) r.fail(`${vp} (field ${nameStr})`, lineStart);
    try {
      fields.push([nameStr, utf8Fatal.decode(value)]);
    } catch {
      r.fail(`field ${nameStr} has a value that is not valid UTF-8`, lineStart);
    }
  }
}

/** Indeterminate-length content: chunks up to a zero length (RFC 9292 §3.7). */
function decodeIndeterminateContent(r: Reader): Uint8Array {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const len = r.varint("content chunk length or terminator");
    if (len === 0) break;
    const b = r.bytes(len, "content chunk");
    parts.push(b);
    n += b.length;
  }
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/** Returns true for the indeterminate-length form, false for known-length. */
function checkFraming(r: Reader, expected: 0 | 1): boolean {
  const fi = r.varint("framing indicator");
  if (fi === expected) return false;
  if (fi === expected + 2) return true;
  const kind = expected === 0 ? "request" : "response";
  if (fi <= 3)
    r.fail(
      `expected a ${kind} (framing indicator ${expected} or ${expected + 2}) but got a ${fi % 2 === 0 ? "request" : "response"} (${fi})`,
      0,
    );
  r.fail(`unknown framing indicator ${fi}`, 0);
}

/**
 * Header section, content, trailers — each may be truncated away (RFC 9292 §3.8, both forms); then
 * padding.
 */
function decodeTail(
  r: Reader,
  indeterminate: boolean,
): { headers: [string, string][]; content: Uint8Array; trailers: [string, string][] } {
  const section = indeterminate ? decodeIndeterminateFieldSection : decodeFieldSection;
  const headers = r.done ? [] : section(r, "header");
  const content = r.done
    ? new Uint8Array(0)
    : indeterminate
      ? decodeIndeterminateContent(r)
      : r.lengthPrefixed("content").slice();
  const trailers = r.done ? [] : section(r, "trailer");
  for (let i = r.off; i < r.buf.length; i++) {
    if (r.buf[i] !== 0) r.fail(`non-zero padding byte 0x${r.buf[i]!.toString(16)} after the message`, i);
  }
  return { headers, content, trailers };
}

/** Decodes a `message/bhttp` request (either form). Throws `BhttpDecodeError` if invalid. */
export function decodeRequest(bytes: Uint8Array): BhttpRequest {
  const r = new Reader(bytes);
  const indeterminate = checkFraming(r, FRAMING_KNOWN_LENGTH_REQUEST);
  const method = decodeControlString(r, "method", methodProblem);
  const scheme = decodeControlString(r, "scheme", schemeProblem);
  const authority = decodeControlString(r, "authority", (b) => visibleAsciiProblem(b, "authority"));
  const path = decodeControlString(r, "path", (b) => visibleAsciiProblem(b, "path"));
  return { method, scheme, authority, path, ...decodeTail(r, indeterminate) };
}

/** Decodes a `message/bhttp` response (either form). Throws `BhttpDecodeError` if invalid. */
export function decodeResponse(bytes: Uint8Array): BhttpResponse {
  const r = new Reader(bytes);
  const indeterminate = checkFraming(r, FRAMING_KNOWN_LENGTH_RESPONSE);
  const informational: BhttpInformationalResponse[] = [];
  for (;;) {
    const at = r.off;
    const status = r.varint("status code");
    if (status >= 100 && status <= 199) {
      // An informational response always carries its header section; no truncation here.
      if (r.done) r.fail(`truncated: informational response ${status} has no header section`);
      informational.push({
        status,
        headers: indeterminate ? decodeIndeterminateFieldSection(r, "header") : decodeFieldSection(r, "header"),
      });
      continue;
    }
    if (status < 200 || status > 599) r.fail(`status code ${status} is outside 100..599`, at);
    return { informational, status, ...decodeTail(r, indeterminate) };
  }
}

/** First value of a field (case-insensitive name), or undefined. */
export function getField(fields: BhttpFields, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of fields) if (k === n) return v;
  return undefined;
}
