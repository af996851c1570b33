/**
 * One configuration for every role (sdk/config.ts): each role's entry point, given a bad value in
 * its config file and another in its PROOFPATH_<ROLE>_* environment, exits 2 with one error naming
 * both as the operator set them; --help lists every schema field; docs/config.md is what the
 * schemas say.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import {
  ConfigError,
  configFields,
  configHelp,
  envName,
  loadConfig,
  parseConfig,
  type ConfigRole,
} from "../../sdk/config.js";
import { CONFIG_ROLES } from "../../scripts/configRoles.js";
import { CONFIG_DOC, renderConfigDoc } from "../../scripts/docs-config.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const KEY = `0x${"11".repeat(32)}`;
const SETTLEMENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

type Run = { code: number | null; stdout: string; stderr: string };
/** Runs a TypeScript entry point with only `env` as its PROOFPATH_* environment. */
function run(args: string[], env: Record<string, string>): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PROOFPATH_")));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, "node_modules/tsx/dist/cli.mjs"), ...args], {
      cwd: root,
      env: { ...clean, NODE_NO_WARNINGS: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every key path of a schema, walked independently of sdk/config.ts. */
function keyPaths(shape: Record<string, z.ZodType>, at = ""): string[] {
  return Object.entries(shape).flatMap(([k, s]) => {
    let inner = s as unknown as { def: { type: string; innerType?: unknown; shape?: Record<string, z.ZodType> } };
    while (inner.def.innerType) inner = inner.def.innerType as typeof inner;
    return inner.def.type === "object" ? keyPaths(inner.def.shape!, `${at}${k}.`) : [`${at}${k}`];
  });
}

describe("one configuration for every role (sdk/config.ts)", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), "proofpath-config-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, body: unknown) => {
    const f = path.join(dir, name);
    writeFileSync(f, JSON.stringify(body));
    return f;
  };
  /** Asserts one error (exit 2) listing each `name: reason` prefix. */
  const listsEach = (r: Run, lines: string[]) => {
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
    for (const line of lines) assert.ok(r.stderr.includes(`  ${line}`), `"${line}" missing from\n${r.stderr}`);
    assert.equal(r.stderr.match(/Invalid \w+ config/g)?.length, 1, `one error:\n${r.stderr}`);
  };

  it("test_docsConfigMd_matchesSchemas_notStale", () => {
    assert.equal(
      readFileSync(CONFIG_DOC, "utf8"),
      renderConfigDoc(),
      "docs/config.md is stale: run npm run docs:config",
    );
  });

  for (const role of CONFIG_ROLES) {
    it(`test_help_${role.title.replace(/ /g, "_")}_listsEverySchemaFieldWithVariableAndMeaning`, () => {
      const help = configHelp(role);
      const fields = configFields(role);
      assert.deepEqual(
        fields.map((f) => f.key),
        keyPaths(role.schema.shape as Record<string, z.ZodType>),
      );
      for (const f of fields) {
        assert.equal(f.env, envName(role, f.path));
        assert.ok(help.includes(`  ${f.key}  ${f.env}\n`), `--help does not list ${f.key}`);
        assert.ok(f.description.length > 0, `${role.title}: ${f.key} has no .describe()`);
      }
      assert.equal(new Set(fields.map((f) => f.env)).size, fields.length, "one variable per field");
    });
  }

  it("test_envNames_oneScheme_camelCaseKeyPathToScreamingSnake", () => {
    const validator = CONFIG_ROLES.find((r) => r.title === "validator")!;
    const gateway = CONFIG_ROLES.find((r) => r.title === "gateway")!;
    assert.equal(envName(validator, ["daTimeoutMs"]), "PROOFPATH_VALIDATOR_DA_TIMEOUT_MS");
    assert.equal(envName(gateway, ["batch", "maxCalls"]), "PROOFPATH_GATEWAY_BATCH_MAX_CALLS");
  });

  it("test_loadConfig_envOverridesFile_nestedKeysMerged_unknownVariableRefused", () => {
    const gateway = CONFIG_ROLES.find((r) => r.title === "gateway")! as ConfigRole;
    const f = file("merge.json", { batch: { maxCalls: 7, maxAgeMs: 9 }, port: 1 });
    const l = loadConfig(gateway, {
      file: f,
      env: { PROOFPATH_GATEWAY_BATCH_MAX_AGE_MS: "50", PROOFPATH_GATEWAY_PROT: "2" },
      flags: { port: "3" },
    });
    assert.deepEqual(l.input, { batch: { maxCalls: 7, maxAgeMs: 50 }, port: 3 });
    assert.deepEqual(l.names, { "batch.maxAgeMs": "PROOFPATH_GATEWAY_BATCH_MAX_AGE_MS", port: "--port" });
    assert.deepEqual(l.issues, [
      {
        field: "PROOFPATH_GATEWAY_PROT",
        name: "PROOFPATH_GATEWAY_PROT",
        reason: "unknown variable; did you mean PROOFPATH_GATEWAY_PORT?",
      },
    ]);
    assert.throws(
      () => parseConfig(gateway, l.input, { names: l.names, issues: l.issues }),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.name === "PROOFPATH_GATEWAY_PROT"),
    );
  });

  it("test_gatewaySidecar_badFileValueAndBadEnvValue_oneErrorByOperatorNames", async () => {
    const f = file("hook.json", {
      store: path.join(dir, "gw.db"),
      rpcUrl: "http://127.0.0.1:1",
      settlement: SETTLEMENT,
      daBaseUrl: "http://127.0.0.1:1/da",
      batch: { maxCalls: 0 },
    });
    const r = await run(["scripts/cli.ts", "gateway-sidecar", "--config", f], {
      PROOFPATH_GATEWAY_ENCLAVE_KEY: "0x12",
      PROOFPATH_GATEWAY_PORT: "abc",
    });
    listsEach(r, ["batch.maxCalls: ", "PROOFPATH_GATEWAY_ENCLAVE_KEY: ", "PROOFPATH_GATEWAY_PORT: "]);
  });

  it("test_gatewayDemo_badFileValueAndBadEnvValue_oneErrorByOperatorNames", async () => {
    const f = file("demo.json", { settlement: SETTLEMENT, backendUrl: "not a url" });
    const r = await run(["gateway/demo/main.ts", "--config", f], { PROOFPATH_GATEWAY_BATCH_MAX_AGE_MS: "soon" });
    listsEach(r, ["backendUrl: ", "PROOFPATH_GATEWAY_BATCH_MAX_AGE_MS: "]);
  });

  it("test_validator_badFileValueAndBadEnvValue_oneErrorByOperatorNames", async () => {
    const f = file("validator.json", {
      privateKey: KEY,
      rpcUrl: "http://127.0.0.1:1",
      settlement: SETTLEMENT,
      dataDir: dir,
      daMaxBytes: 10,
    });
    const r = await run(["validator/main.ts", "--config", f], { PROOFPATH_VALIDATOR_DA_TIMEOUT_MS: "-5" });
    listsEach(r, ["daMaxBytes: ", "PROOFPATH_VALIDATOR_DA_TIMEOUT_MS: "]);
  });

  it("test_relay_badFileValueAndBadEnvValue_oneErrorByOperatorNames", async () => {
    const f = file("relay.json", { gatewayUrl: "ftp://gateway", maxBodyBytes: 0 });
    const r = await run(["gateway/ohttp/relayMain.ts"], { PROOFPATH_RELAY_CONFIG: f, PROOFPATH_RELAY_PORT: "70000" });
    listsEach(r, ["gatewayUrl: ", "maxBodyBytes: ", "PROOFPATH_RELAY_PORT: "]);
  });

  it("test_indexer_badFileValueAndBadEnvValue_oneErrorByOperatorNames", async () => {
    const f = file("indexer.json", { deployment: path.join(dir, "missing.json"), pollingIntervalMs: 0 });
    const r = await run(["scripts/cli.ts", "config", "indexer", "--check"], {
      PROOFPATH_INDEXER_CONFIG: f,
      PROOFPATH_INDEXER_RPC_URL: "localhost:8545",
    });
    listsEach(r, ["deployment: ", "pollingIntervalMs: ", "PROOFPATH_INDEXER_RPC_URL: "]);
  });

  it("test_deploy_badFileValueAndBadEnvValue_oneErrorByOperatorNames", async () => {
    const f = file("deploy.json", {
      rpcUrl: "http://127.0.0.1:1",
      deployerKey: KEY,
      validators: [SETTLEMENT, "0x12"],
      feeSplit: [5000, 5000, 1],
    });
    const r = await run(["scripts/deploy.ts", "--config", f], { PROOFPATH_DEPLOY_QUORUM: "two" });
    listsEach(r, ["validators.1: ", "feeSplit: ", "PROOFPATH_DEPLOY_QUORUM: "]);
  });
});
