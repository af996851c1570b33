/**
 * Every mocha test under test/ is named `test_<unit>_<condition>_<outcome>` (CONTRIBUTING.md, "Names"),
 * so a failing run says which claim broke. Read from the source with the TypeScript parser, not at run
 * time, so one cheap test covers every file, including the slow ones nobody runs locally.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { root } from "../gateway/helpers/chain.js";

/** A whole name: `test_` and camelCase parts joined by `_`. */
const NAME = /^test_[A-Za-z0-9_]+$/;
/** The literal start of a template name, before its first `${…}`. */
const NAME_HEAD = /^test_[A-Za-z0-9_]*$/;

const TEST_CALLS = new Set(["it", "it.only", "it.skip", "specify", "xit"]);

interface Found {
  where: string;
  name: string;
  ok: boolean;
}

const unwrap = (e: ts.Expression): ts.Expression =>
  ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) ? unwrap(e.expression) : e;

/** The array literal an identifier is declared with in this file, if it is one. */
function arrayDeclaredAs(sf: ts.SourceFile, name: string): ts.ArrayLiteralExpression | undefined {
  let found: ts.ArrayLiteralExpression | undefined;
  const visit = (n: ts.Node) => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === name && n.initializer) {
      const init = unwrap(n.initializer);
      if (ts.isArrayLiteralExpression(init)) found = init;
    }
    if (!found) ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

/**
 * The names a non-literal `it(x, …)` takes when `x` is bound by `for (const x of LIST)` or
 * `for (const [x, …] of LIST)` over an array literal of this file; undefined when it cannot be told.
 */
function namesFromLoop(sf: ts.SourceFile, id: ts.Identifier): string[] | undefined {
  for (let n: ts.Node | undefined = id.parent; n; n = n.parent) {
    if (!ts.isForOfStatement(n) || !ts.isVariableDeclarationList(n.initializer)) continue;
    const binding = n.initializer.declarations[0]?.name;
    let index: number | undefined;
    if (binding && ts.isIdentifier(binding) && binding.text === id.text) index = undefined;
    else if (binding && ts.isArrayBindingPattern(binding)) {
      index = binding.elements.findIndex(
        (e) => ts.isBindingElement(e) && ts.isIdentifier(e.name) && e.name.text === id.text,
      );
      if (index < 0) continue;
    } else continue;
    const over = unwrap(n.expression);
    const list = ts.isArrayLiteralExpression(over)
      ? over
      : ts.isIdentifier(over)
        ? arrayDeclaredAs(sf, over.text)
        : undefined;
    if (!list) return undefined;
    const names: string[] = [];
    for (const element of list.elements) {
      let e = unwrap(element as ts.Expression);
      if (index !== undefined) {
        if (!ts.isArrayLiteralExpression(e) || !e.elements[index]) return undefined;
        e = unwrap(e.elements[index] as ts.Expression);
      }
      if (!ts.isStringLiteralLike(e)) return undefined;
      names.push(e.text);
    }
    return names;
  }
  return undefined;
}

function testNamesIn(file: string): Found[] {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found: Found[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isCallExpression(n) && TEST_CALLS.has(n.expression.getText(sf)) && n.arguments.length > 0) {
      const arg = unwrap(n.arguments[0]!);
      const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
      const where = `${path.relative(root, file)}:${line}`;
      if (ts.isStringLiteralLike(arg)) found.push({ where, name: arg.text, ok: NAME.test(arg.text) });
      else if (ts.isTemplateExpression(arg))
        found.push({ where, name: `${arg.head.text}\${…}`, ok: NAME_HEAD.test(arg.head.text) });
      else {
        const names = ts.isIdentifier(arg) ? namesFromLoop(sf, arg) : undefined;
        if (names) for (const name of names) found.push({ where, name, ok: NAME.test(name) });
        else found.push({ where, name: `(not a literal: ${arg.getText(sf)})`, ok: false });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

describe("test names (CONTRIBUTING.md: test_<unit>_<condition>_<outcome>)", () => {
  it("test_testNames_everyMochaTestUnderTest_startsWithTestPrefixInCamelCaseParts", () => {
    const dir = path.join(root, "test");
    const files = readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => /\.(ts|mts|js|mjs)$/.test(f) && !f.split(path.sep).includes("node_modules"))
      .map((f) => path.join(dir, f));
    const found = files.flatMap(testNamesIn);
    assert.ok(found.length > 100, `only ${found.length} tests found: is the parser still reading it(…) calls?`);
    const bad = found.filter((f) => !f.ok);
    assert.deepEqual(
      bad.map((f) => `${f.where} ${f.name}`),
      [],
      `${bad.length} of ${found.length} tests are not named test_<unit>_<condition>_<outcome>`,
    );
  });
});
