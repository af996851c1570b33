/**
 * The Ponder patch, one change per file. `patches/ponder-changes/NN-name.diff` each hold one change
 * as a diff against Ponder 0.16.10's published files (a comment header says what it does, what
 * measured it and which test covers it); the shipped `patches/ponder+0.16.10.patch` (applied by
 * patch-package at `npm ci`) is their composition. `patches/ponder-changes/dropped/` keeps the
 * changes that showed no gain, out of the shipped patch but measurable (`with:NN`). Each change
 * patch is against the published files, not stacked, so any subset composes: that is how
 * `scripts/bench/ponderAB.ts` measures the patch without one change (or with a dropped one).
 *
 *   npx tsx scripts/ponder-patch.ts compose              # rewrite the shipped patch from the changes
 *   npx tsx scripts/ponder-patch.ts check                # fail if the shipped patch is not that
 *   npx tsx scripts/ponder-patch.ts install all|none|without:NN|only:NN|with:NN  # node_modules/ponder
 *   npx tsx scripts/ponder-patch.ts list
 *
 * `install` rewrites only the patched files of node_modules/ponder in place (`install all` puts the
 * shipped state back; `npm ci` does too).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PONDER_VERSION = "0.16.10";
export const changesDir = path.join(repoRoot, "patches/ponder-changes");
export const shippedPatch = path.join(repoRoot, `patches/ponder+${PONDER_VERSION}.patch`);

/** One run of removed/added lines: replaces `length` published lines from index `start` (0-based). */
interface Edit {
  start: number;
  length: number;
  added: string[];
  change: string;
}

export interface Change {
  id: string; // "06"
  name: string; // "06-batched-metrics"
  shipped: boolean; // false: in dropped/
  /** file path (node_modules/ponder/...) → its edits against the published file */
  files: Map<string, { context: { index: number; line: string }[]; edits: Edit[] }>;
}

export function readChanges(): Change[] {
  const read = (dir: string, shipped: boolean) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith(".diff"))
          .map((f) => parseChange(f.replace(/\.diff$/, ""), readFileSync(path.join(dir, f), "utf8"), shipped))
      : [];
  return [...read(changesDir, true), ...read(path.join(changesDir, "dropped"), false)].sort((a, b) =>
    a.name.localeCompare(b.name),
  );
}

function parseChange(name: string, text: string, shipped: boolean): Change {
  const change: Change = { id: name.slice(0, 2), name, shipped, files: new Map() };
  const lines = text.split("\n");
  let file: { context: { index: number; line: string }[]; edits: Edit[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const header = /^diff --git a\/(\S+) b\//.exec(l);
    if (header) {
      file = { context: [], edits: [] };
      change.files.set(header[1]!, file);
      continue;
    }
    const hunk = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@/.exec(l);
    if (!hunk || !file) continue;
    let old = Number(hunk[1]) - 1; // 0-based index of the next published line
    if (hunk[2] === "0") old++; // an empty old side names the line before
    let edit: Edit | undefined;
    for (i++; i < lines.length && /^[ +\-\\]/.test(lines[i]!); i++) {
      const h = lines[i]!;
      if (h.startsWith("\\")) continue;
      if (h.startsWith(" ")) {
        file.context.push({ index: old++, line: h.slice(1) });
        edit = undefined;
        continue;
      }
      if (!edit) {
        edit = { start: old, length: 0, added: [], change: change.id };
        file.edits.push(edit);
      }
      if (h.startsWith("-")) {
        file.context.push({ index: old++, line: h.slice(1) });
        edit.length++;
      } else edit.added.push(h.slice(1));
    }
    i--;
  }
  return change;
}

/** The published files of ponder@PONDER_VERSION (npm pack, cached under node_modules/.cache). */
export function publishedFile(file: string): string {
  const dir = path.join(repoRoot, "node_modules/.cache/ponder-published", PONDER_VERSION);
  if (!existsSync(path.join(dir, "package/package.json"))) {
    mkdirSync(dir, { recursive: true });
    execFileSync("npm", ["pack", `ponder@${PONDER_VERSION}`, "--silent", "--pack-destination", dir], {
      stdio: "ignore",
    });
    execFileSync("tar", ["-xzf", path.join(dir, `ponder-${PONDER_VERSION}.tgz`), "-C", dir]);
  }
  return readFileSync(path.join(dir, "package", file.replace(/^node_modules\/ponder\//, "")), "utf8");
}

/** Every patched file's content with `selected` changes applied to the published file. */
export function compose(changes: Change[], selected: Set<string>): Map<string, string> {
  const files = new Set(changes.flatMap((c) => [...c.files.keys()]));
  const out = new Map<string, string>();
  for (const file of files) {
    const lines = publishedFile(file).split("\n");
    const edits: Edit[] = [];
    for (const c of changes) {
      const f = c.files.get(file);
      if (!f) continue;
      for (const { index, line } of f.context)
        if (lines[index] !== line)
          throw new Error(`${c.name}: ${file}:${index + 1} does not match Ponder ${PONDER_VERSION}`);
      if (selected.has(c.id)) edits.push(...f.edits);
    }
    edits.sort((a, b) => a.start - b.start || a.change.localeCompare(b.change));
    for (let i = 1; i < edits.length; i++) {
      const [p, e] = [edits[i - 1]!, edits[i]!];
      if (e.start < p.start + p.length || (e.start === p.start && p.length > 0))
        throw new Error(`changes ${p.change} and ${e.change} edit the same lines of ${file} (line ${e.start + 1})`);
    }
    for (const e of edits.reverse()) lines.splice(e.start, e.length, ...e.added);
    out.set(file, lines.join("\n"));
  }
  return out;
}

/** The patch-package patch turning the published files into `files`. */
export function toPatch(files: Map<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "ponder-patch-"));
  try {
    for (const [file, text] of files) {
      for (const side of ["a", "b"]) mkdirSync(path.join(dir, side, path.dirname(file)), { recursive: true });
      writeFileSync(path.join(dir, "a", file), publishedFile(file));
      writeFileSync(path.join(dir, "b", file), text);
    }
    let diff = "";
    try {
      execFileSync("git", ["diff", "--no-index", "--no-color", "--no-ext-diff", "a", "b"], {
        cwd: dir,
        encoding: "utf8",
      });
    } catch (e) {
      diff = (e as { stdout: string }).stdout; // exit status 1: the trees differ
    }
    return diff.replaceAll(" a/a/", " a/").replaceAll(" b/b/", " b/");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function selection(changes: Change[], spec: string): Set<string> {
  const ids = changes.map((c) => c.id);
  const [kind, arg] = spec.split(":");
  const pick = (a: string | undefined) => {
    const list = (a ?? "").split(",").filter(Boolean);
    for (const id of list) if (!ids.includes(id)) throw new Error(`no change ${id} (have ${ids.join(" ")})`);
    return list;
  };
  const shipped = changes.filter((c) => c.shipped).map((c) => c.id);
  if (kind === "all") return new Set(shipped);
  if (kind === "none") return new Set();
  if (kind === "without") return new Set(shipped.filter((id) => !pick(arg).includes(id)));
  if (kind === "with") return new Set([...shipped, ...pick(arg)]);
  if (kind === "only") return new Set(pick(arg));
  throw new Error(`unknown selection ${spec}: all | none | without:NN[,NN] | only:NN[,NN] | with:NN[,NN]`);
}

/** Writes the selected composition over node_modules/ponder's patched files. */
export function install(spec: string): void {
  const changes = readChanges();
  for (const [file, text] of compose(changes, selection(changes, spec))) writeFileSync(path.join(repoRoot, file), text);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const [cmd, arg] = process.argv.slice(2);
  const changes = readChanges();
  if (cmd === "compose") writeFileSync(shippedPatch, toPatch(compose(changes, selection(changes, "all"))));
  else if (cmd === "check") {
    if (readFileSync(shippedPatch, "utf8") !== toPatch(compose(changes, selection(changes, "all")))) {
      console.error(
        `${path.relative(repoRoot, shippedPatch)} is not the composition of patches/ponder-changes: run compose`,
      );
      process.exit(1);
    }
  } else if (cmd === "install" && arg) install(arg);
  else if (cmd === "list") for (const c of changes) console.log(c.name, c.shipped ? "" : "(dropped)");
  else {
    console.error("usage: ponder-patch.ts compose | check | install all|none|without:NN|only:NN|with:NN | list");
    process.exit(2);
  }
}
