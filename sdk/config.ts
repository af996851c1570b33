/**
 * One configuration scheme for every proofpath role (gateway, validator, relay, indexer, deploy).
 *
 * A role is a zod object schema; each field (a key path such as `batch.maxCalls`) is set by:
 * - its key in a JSON config file (`--config <file>`, or the `PROOFPATH_<ROLE>_CONFIG` variable),
 * - or its environment variable `PROOFPATH_<ROLE>_<KEY_PATH>` in SCREAMING_SNAKE_CASE
 *   (`daTimeoutMs` ⇄ `PROOFPATH_VALIDATOR_DA_TIMEOUT_MS`, `batch.maxCalls` ⇄
 *   `PROOFPATH_GATEWAY_BATCH_MAX_CALLS`), which wins over the file,
 * - or, where a command offers it, a flag `--<key-path-in-kebab-case>`, which wins over both.
 * The role is in every variable's name so that one host (or one `.env`) can carry several roles
 * without one's `PORT` leaking into another. Help text and docs/config.md are derived from the
 * schemas (`.describe()` on every field), and every problem is reported at once in one
 * {@link ConfigError}, named as the operator set it: the variable, the flag or the file key path.
 */
import { readFileSync } from "node:fs";
import type { z } from "zod";
import { BaseError } from "./errors.js";

/** One problem of a configuration. */
export interface ConfigIssue {
  /** Path in the config object (`port`, `peers.1`, `batch.maxCalls`, or an unknown key). */
  field: string;
  /** What the operator called it: the variable (`PROOFPATH_VALIDATOR_PORT`, `…_PEERS[1]`), the flag or the file key path. */
  name: string;
  reason: string;
}

/**
 * A configuration is wrong or incomplete. `issues` holds every problem found at once, each named as
 * the operator set it; `field` is the first one's config path.
 */
export class ConfigError extends BaseError {
  override name: string = "ConfigError";
  readonly role: string;
  readonly issues: readonly ConfigIssue[];
  constructor(
    role: string,
    p: { field: string; reason: string; name?: string | undefined } | { issues: readonly ConfigIssue[] },
  ) {
    const issues: ConfigIssue[] =
      "issues" in p ? [...p.issues] : [{ field: p.field, name: p.name ?? p.field, reason: p.reason }];
    if (issues.length === 0) throw new TypeError("ConfigError without issues");
    const one = issues.length === 1 ? issues[0]! : undefined;
    super(
      one
        ? `Invalid ${role} config: ${one.name}: ${one.reason}`
        : `Invalid ${role} config: ${issues.length} problems (${issues.map((i) => i.name).join(", ")})`,
      one ? {} : { metaMessages: issues.map((i) => `  ${i.name}: ${i.reason}`) },
    );
    this.role = role;
    this.issues = issues;
  }
  /** The first problem's config path. */
  get field(): string {
    return this.issues[0]!.field;
  }
}

/** Reports a problem at a config path (checked rules, unreadable files). */
export type ReportIssue = (path: readonly PropertyKey[], reason: string) => void;

/** A role's configuration: its schema, how to run it, and rules across fields. */
export interface ConfigRole<S extends z.ZodObject = z.ZodObject, X = unknown> {
  /** `validator`: in messages, and `PROOFPATH_VALIDATOR_` is its variables' prefix. */
  role: string;
  /** Heading in docs/config.md, e.g. "validator (validator/main.ts)". */
  title: string;
  /** Usage line(s) for --help. */
  usage: string;
  /** What the role is, for --help and docs. */
  about: string;
  schema: S;
  /**
   * Rules across fields and checks of files, run with every field that is valid on its own (so they
   * are reported together with the schema's issues); `raw` is the input as given, for rules on
   * whether a field is set at all. What it returns is handed back by {@link parseConfig}.
   */
  check?: (valid: Partial<z.output<S>>, report: ReportIssue, raw: Record<string, unknown>) => X;
}

export function defineConfigRole<S extends z.ZodObject, X = undefined>(r: ConfigRole<S, X>): ConfigRole<S, X> {
  for (const f of configFields(r)) if (f.env === configFileVariable(r)) throw new Error(`${f.key}: reserved name`);
  return r;
}

const snake = (key: string) =>
  key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toUpperCase();
const kebab = (key: string) => snake(key).toLowerCase().replace(/_/g, "-");

/** `PROOFPATH_VALIDATOR_`. */
export const envPrefix = (role: ConfigRole) => `PROOFPATH_${snake(role.role).replace(/-/g, "_")}_`;
/** The variable naming a role's config file: `PROOFPATH_VALIDATOR_CONFIG`. */
export const configFileVariable = (role: ConfigRole) => `${envPrefix(role)}CONFIG`;
/** The variable of a key path: `["batch", "maxCalls"]` → `PROOFPATH_GATEWAY_BATCH_MAX_CALLS`. */
export const envName = (role: ConfigRole, path: readonly string[]) => envPrefix(role) + path.map(snake).join("_");
/** The flag of a key path: `daTimeoutMs` → `--da-timeout-ms`. */
export const flagName = (path: readonly string[]) => `--${path.map(kebab).join("-")}`;

type Kind = "string" | "number" | "boolean" | "bigint" | "list" | "object";

/** One settable field of a role, as --help and docs/config.md show it. */
export interface ConfigField {
  path: string[];
  /** `batch.maxCalls` */
  key: string;
  env: string;
  /** `integer ≥ 1`, `URL`, `list of URL`, `"full" | "normal"` … */
  type: string;
  /** How an environment string is read. */
  kind: Kind;
  required: boolean;
  /** The default, as text (undefined when none). */
  default: string | undefined;
  description: string;
}

type AnySchema = z.ZodType & { def: Record<string, unknown> & { type: string }; description?: string };

/** Strips optional/default/pipe wrappers: the schema that decides the type, and what the wrappers said. */
function unwrap(s: AnySchema): {
  inner: AnySchema;
  optional: boolean;
  default: unknown;
  description: string | undefined;
  meta: Record<string, unknown>;
} {
  let optional = false;
  let def: unknown;
  let description = s.description;
  let meta: Record<string, unknown> = { ...(s.meta() ?? {}) };
  for (;;) {
    const t = s.def.type;
    if (t === "optional" || t === "nullable") optional = true;
    if (t === "default" || t === "prefault") {
      const v = s.def.defaultValue;
      def ??= typeof v === "function" ? (v as () => unknown)() : v;
    }
    const next =
      t === "optional" || t === "nullable" || t === "default" || t === "prefault" || t === "readonly"
        ? s.def.innerType
        : t === "pipe"
          ? s.def.in
          : undefined;
    if (!next) break;
    s = next as AnySchema;
    description ??= s.description;
    meta = { ...(s.meta() ?? {}), ...meta };
  }
  return { inner: s, optional: optional || def !== undefined, default: def, description, meta };
}

const MAX = Number.MAX_SAFE_INTEGER;

function typeOf(s: AnySchema): { type: string; kind: Kind } {
  const { inner, meta } = unwrap(s);
  const named = typeof meta.type === "string" ? meta.type : undefined;
  const d = inner.def;
  switch (d.type) {
    case "string": {
      const format = (inner as unknown as { format?: string | null }).format;
      return { type: named ?? (format === "url" ? "URL" : "string"), kind: "string" };
    }
    case "number": {
      const n = inner as unknown as { minValue: number | null; maxValue: number | null; isInt: boolean };
      const base = n.isInt ? "integer" : "number";
      const lo = n.minValue !== null && n.minValue > -MAX ? n.minValue : undefined;
      const hi = n.maxValue !== null && n.maxValue < MAX ? n.maxValue : undefined;
      const range = lo !== undefined && hi !== undefined ? ` ${lo}..${hi}` : lo !== undefined ? ` ≥ ${lo}` : "";
      return {
        type: named ?? `${base}${range}${hi !== undefined && lo === undefined ? ` ≤ ${hi}` : ""}`,
        kind: "number",
      };
    }
    case "boolean":
      return { type: named ?? "boolean", kind: "boolean" };
    case "bigint":
      return { type: named ?? "integer", kind: "bigint" };
    case "enum":
      return {
        type:
          named ??
          Object.values(d.entries as Record<string, string>)
            .map((v) => JSON.stringify(v))
            .join(" | "),
        kind: "string",
      };
    case "array":
      return { type: named ?? `list of ${typeOf(d.element as AnySchema).type}`, kind: "list" };
    case "tuple": {
      const items = (d.items as AnySchema[]).map((i) => typeOf(i).type);
      return { type: named ?? `list of ${items.length} ${items[0]}`, kind: "list" };
    }
    case "union": {
      const members = (d.options as AnySchema[]).filter((o) => unwrap(o).inner.def.type !== "custom").map(typeOf);
      const kind = members.some((m) => m.kind === "string") ? "string" : (members[0]?.kind ?? "object");
      return { type: named ?? [...new Set(members.map((m) => m.type))].join(" | "), kind };
    }
    default:
      return { type: named ?? "object", kind: "object" };
  }
}

const show = (v: unknown): string =>
  typeof v === "bigint"
    ? v.toString()
    : Array.isArray(v)
      ? v.length
        ? v.map(show).join(",")
        : "[]"
      : typeof v === "string"
        ? v
        : JSON.stringify(v);

function objectShape(s: AnySchema): Record<string, AnySchema> | undefined {
  const { inner } = unwrap(s);
  return inner.def.type === "object" ? (inner.def.shape as Record<string, AnySchema>) : undefined;
}

/** Every settable field of a role (nested objects flattened to key paths), in schema order. */
export function configFields(role: ConfigRole): ConfigField[] {
  const out: ConfigField[] = [];
  const walk = (shape: Record<string, AnySchema>, at: string[]) => {
    for (const [k, s] of Object.entries(shape)) {
      const path = [...at, k];
      const nested = objectShape(s);
      if (nested) {
        walk(nested, path);
        continue;
      }
      const u = unwrap(s);
      const { type, kind } = typeOf(s);
      out.push({
        path,
        key: path.join("."),
        env: envName(role, path),
        type,
        kind,
        required: !u.optional,
        default: u.default === undefined ? undefined : show(u.default),
        description: u.description ?? "",
      });
    }
  };
  walk(role.schema.shape as Record<string, AnySchema>, []);
  return out;
}

/** An environment (or flag) string as the field's kind reads it; unreadable text stays a string for zod to name. */
function fromText(kind: Kind, v: string): unknown {
  switch (kind) {
    case "number":
      return /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
    case "boolean":
      return v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : v;
    case "bigint":
      return /^\d+$/.test(v.trim()) ? BigInt(v) : v;
    case "list":
      // A list of objects (e.g. the indexer's `chains`) is given as JSON; a bad one stays text for zod to name.
      if (v.trimStart().startsWith("[")) {
        try {
          return JSON.parse(v);
        } catch {
          return v;
        }
      }
      return v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
    default:
      return v;
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let o = target;
  for (const k of path.slice(0, -1)) {
    const next = o[k];
    o = o[k] = next !== null && typeof next === "object" && !Array.isArray(next) ? { ...next } : {};
  }
  o[path.at(-1)!] = value;
}

function valueAt(input: unknown, at: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of at) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** Edit distance, for "did you mean" on an unknown key or variable. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

function suggestion(key: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dk = distance(key, k);
    if (dk < bestD) [best, bestD] = [k, dk];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 4)) ? `; did you mean ${best}?` : "";
}

/** What the operator called each set key path when not by its file key: `{ port: "PROOFPATH_VALIDATOR_PORT" }`. */
export type ConfigNames = Readonly<Record<string, string>>;

/** The operator's name of config path `at`: `PROOFPATH_VALIDATOR_PEERS[1]` for a listed variable, else `peers.1`. */
export function configFieldName(at: readonly PropertyKey[], names?: ConfigNames): string {
  if (at.length === 0) return "(config)";
  const parts = at.map(String);
  for (let n = parts.length; n > 0; n--) {
    const name = names?.[parts.slice(0, n).join(".")];
    if (name)
      return (
        name +
        parts
          .slice(n)
          .map((r) => `[${r}]`)
          .join("")
      );
  }
  return parts.join(".");
}

/** A role's raw input, merged from its config file, environment and flags, with the names each came by. */
export interface LoadedConfig {
  input: Record<string, unknown>;
  names: Record<string, string>;
  /** Problems found while loading (unreadable file, unknown variable). */
  issues: ConfigIssue[];
}

/**
 * Reads a role's input: the JSON file (`opts.file`, else the `PROOFPATH_<ROLE>_CONFIG` variable),
 * overridden by `PROOFPATH_<ROLE>_*` variables, overridden by `opts.flags` (raw flag strings by
 * key path). A `PROOFPATH_<ROLE>_*` variable that names no field is an issue: a typo would
 * otherwise leave the default in force unseen.
 */
export function loadConfig(
  role: ConfigRole,
  opts: { file?: string | undefined; env?: NodeJS.ProcessEnv; flags?: Record<string, string | undefined> } = {},
): LoadedConfig {
  const env = opts.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const names: Record<string, string> = {};
  let input: Record<string, unknown> = {};
  const fileVar = configFileVariable(role);
  const file = opts.file ?? (env[fileVar] || undefined);
  if (file !== undefined) {
    const by = opts.file !== undefined ? "--config" : fileVar;
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        issues.push({ field: "(file)", name: by, reason: `${file}: expected a JSON object of fields (see --help)` });
      else input = parsed as Record<string, unknown>;
    } catch (e) {
      issues.push({ field: "(file)", name: by, reason: `cannot read ${file}: ${(e as Error).message}` });
    }
  }
  const fields = configFields(role);
  const byEnv = new Map(fields.map((f) => [f.env, f]));
  const prefix = envPrefix(role);
  for (const [name, v] of Object.entries(env)) {
    if (!name.startsWith(prefix) || name === fileVar || v === undefined || v === "") continue;
    const f = byEnv.get(name);
    if (!f) {
      issues.push({ field: name, name, reason: `unknown variable${suggestion(name, byEnv.keys())}` });
      continue;
    }
    setPath(input, f.path, fromText(f.kind, v));
    names[f.key] = name;
  }
  const byKey = new Map(fields.map((f) => [f.key, f]));
  for (const [key, v] of Object.entries(opts.flags ?? {})) {
    const f = byKey.get(key);
    if (v === undefined || !f) continue;
    setPath(input, f.path, fromText(f.kind, v));
    names[f.key] = flagName(f.path);
  }
  return { input, names, issues };
}

/**
 * Parses `input` against the role's schema and rules, or throws one {@link ConfigError} listing
 * every problem (bad values, unknown keys, missing fields, rules across fields, unreadable files,
 * and `opts.issues` from loading), each by the name the operator set it with.
 */
export function parseConfig<S extends z.ZodObject, X>(
  role: ConfigRole<S, X>,
  input: unknown,
  opts: { names?: ConfigNames | undefined; issues?: readonly ConfigIssue[] | undefined } = {},
): { config: z.output<S>; checked: X | undefined } {
  const issues: ConfigIssue[] = [...(opts.issues ?? [])];
  const report: ReportIssue = (at, reason) =>
    issues.push({
      field: at.length ? at.map(String).join(".") : "(config)",
      name: configFieldName(at, opts.names),
      reason,
    });
  const parsed = role.schema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        const shape = issue.path.reduce<Record<string, AnySchema> | undefined>(
          (s, k) => (s?.[String(k)] ? objectShape(s[String(k)]!) : undefined),
          role.schema.shape as Record<string, AnySchema>,
        );
        for (const key of issue.keys)
          report([...issue.path, key], `unknown field${suggestion(key, Object.keys(shape ?? {}))}`);
        continue;
      }
      // A field left out fails as a type (or union) mismatch against undefined: say what it is.
      report(issue.path, valueAt(input, issue.path) === undefined ? "required" : issue.message);
    }
  }
  let checked: X | undefined;
  if (role.check) {
    // Rules run with every field that is valid on its own, whatever else is wrong.
    const valid: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(role.schema.shape as Record<string, AnySchema>)) {
      const r = s.safeParse(valueAt(input, [k]));
      if (r.success && r.data !== undefined) valid[k] = r.data;
    }
    const raw = input !== null && typeof input === "object" ? (input as Record<string, unknown>) : {};
    checked = role.check(valid as Partial<z.output<S>>, report, raw);
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(role.role, { issues });
  return { config: parsed.data, checked };
}

/** Loads (file, environment, flags) and parses a role's configuration in one step; see {@link loadConfig}. */
export function readConfig<S extends z.ZodObject, X>(
  role: ConfigRole<S, X>,
  opts: Parameters<typeof loadConfig>[1] = {},
): { config: z.output<S>; checked: X | undefined; names: ConfigNames } {
  const loaded = loadConfig(role as ConfigRole, opts);
  return { ...parseConfig(role, loaded.input, { names: loaded.names, issues: loaded.issues }), names: loaded.names };
}

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** A role's --help: usage, what it is, and every field with its variable, type, default and meaning. */
export function configHelp(role: ConfigRole, extra = ""): string {
  const out = [`Usage: ${role.usage}`, "", ...wrap(role.about, 100, ""), ""];
  out.push(
    ...wrap(
      `Configuration: a JSON file (--config <file>, or ${configFileVariable(role)}) with the keys below, each overridden by its environment variable; lists in a variable are comma-separated (a list of objects is JSON). Every problem is reported at once, by the name it was set with; a bad config exits with status 2.`,
      100,
      "",
    ),
    "",
  );
  for (const f of configFields(role)) {
    const facts = [f.type, f.required ? "required" : f.default !== undefined ? `default ${f.default}` : "optional"];
    out.push(`  ${f.key}  ${f.env}`, `      ${facts.join("; ")}`, ...wrap(f.description, 94, "      "));
  }
  if (extra) out.push("", extra.trimEnd());
  return `${out.join("\n")}\n`;
}

const cell = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\|/g, "\\|").replace(/\n/g, " ");

/** A Markdown table with aligned columns (as the formatter, Biome, writes it). */
function table(head: string[], rows: string[][]): string[] {
  const width = head.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(" | ")} |`;
  return [line(head), line(width.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/** A role's section of docs/config.md. */
export function configMarkdown(role: ConfigRole): string {
  const out = [
    `## ${role.title}`,
    "",
    role.about,
    "",
    "```",
    `${role.usage}`,
    "```",
    "",
    `Config file: \`--config <file>\` or \`${configFileVariable(role)}\`. Variables: \`${envPrefix(role)}*\`.`,
    "",
  ];
  const rows = configFields(role).map((f) => [
    `\`${f.key}\``,
    `\`${f.env}\``,
    cell(f.type),
    f.required ? "**required**" : f.default !== undefined ? `\`${cell(f.default)}\`` : "",
    cell(f.description),
  ]);
  out.push(...table(["Key", "Variable", "Type", "Default", "Meaning"], rows));
  return `${out.join("\n")}\n`;
}
