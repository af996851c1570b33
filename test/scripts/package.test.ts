/**
 * The package as a gateway operator installs it: `npm pack` (which builds dist/), the tarball
 * installed into an empty project, then plain `node` (Node 22, no tsx, no sources) runs
 * fixtures/packageConsumer.mjs against a real chain: a settlement hook records calls that settle
 * (its worker threads found in the package), the receipt's signature and Merkle proof verify with
 * `proofpath/sdk` and on-chain, and an OHTTP round trip opens on both sides. The tarball holds no
 * tests or sources and its install pulls in no test-only packages.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { root } from "../gateway/helpers/chain.js";

const NODE22 = path.join(root, "node_modules/node/bin/node");
/** Dev-only packages the library must not pull into an operator's install. */
const DEV_ONLY = ["@hpke/core", "@peculiar/x509", "pg", "ponder", "tsx", "hardhat", "typescript"];

/**
 * A TypeScript consumer of every entry point. The `@ts-expect-error` lines fail the check if the
 * exports' `types` did not resolve (everything would be `any`, and nothing an error).
 */
const TYPED_CONSUMER = `
import { createSettlementHook, type SettlementHook } from "proofpath/gateway";
import { verifyProof, type Receipt } from "proofpath/sdk";
import { encapsulateRequest, type OhttpClientKey } from "proofpath/sdk/ohttp";
import { createValidator, type Validator } from "proofpath/validator";
import { verifyAttestation } from "proofpath/validator/attestation";
const proven: boolean = verifyProof("0x00", "0x00", []);
// @ts-expect-error: a hook needs a store, keys and a chain
createSettlementHook({});
// @ts-expect-error: a proof is a list of hashes
verifyProof("0x00", "0x00", 5);
export type Used = [SettlementHook, Receipt, OhttpClientKey, Validator, typeof proven];
export const used = [encapsulateRequest, createValidator, verifyAttestation];
`;

function npm(args: string[], cwd: string): string {
  return execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 240_000 });
}

describe("package (npm pack → npm install → plain node)", function () {
  this.timeout(360_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;

  before(async () => {
    anvil = await startDevChain();
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "proofpath-package-"));
  });
  after(async () => {
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_packedTarball_installedInEmptyProject_hookVerifyOhttpUnderPlainNode_succeeds", () => {
    // prepack builds dist/ (its output comes first on stdout, then the JSON report).
    const report = npm(["pack", "--json", "--pack-destination", dir], root);
    const [packed] = JSON.parse(report.slice(report.search(/^\[$/m))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed!.files.map((f) => f.path);
    assert.ok(files.includes("dist/gateway/seal/sealWorker.js"), "the seal worker is shipped");
    assert.ok(files.includes("dist/gateway/commit/commitWorker.js"), "the commit worker is shipped");
    assert.ok(files.includes("dist/gateway/serve/daWorker.js"), "the DA worker is shipped");
    assert.ok(files.includes("dist/sdk/ohttp/index.d.ts"), "types are shipped");
    assert.deepEqual(
      files.filter((f) => f.startsWith("test/") || f.startsWith("contracts/") || f.startsWith("tools/")),
      [],
      "no tests, contract sources or dev tools",
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
      [],
      "no TypeScript sources",
    );

    // An empty project installs the tarball (and viem, which it uses itself): from npm's cache where
    // `npm ci` already put every dependency, the registry only for what is missing.
    const app = path.join(dir, "app");
    mkdirSync(app);
    writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify({ name: "operator-app", private: true, type: "module" }),
    );
    const viem = JSON.parse(readFileSync(path.join(root, "node_modules/viem/package.json"), "utf8")).version as string;
    npm(
      ["install", path.join(dir, packed!.filename), `viem@${viem}`, "--prefer-offline", "--no-audit", "--no-fund"],
      app,
    );
    const installed = readdirSync(path.join(app, "node_modules"));
    const scoped = installed
      .filter((n) => n.startsWith("@"))
      .flatMap((s) => {
        return readdirSync(path.join(app, "node_modules", s)).map((n) => `${s}/${n}`);
      });
    assert.deepEqual(
      DEV_ONLY.filter((p) => [...installed, ...scoped].includes(p)),
      [],
      "no dev-only package installed",
    );
    assert.ok(!existsSync(path.join(app, "node_modules/proofpath/test")), "no tests installed");

    // The exports' `types` conditions: a TypeScript consumer type-checks against the shipped .d.ts.
    writeFileSync(path.join(app, "consumer.ts"), TYPED_CONSUMER);
    const compilerOptions = { module: "NodeNext", target: "ES2023", strict: true, noEmit: true, skipLibCheck: true };
    writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
    const tsc = spawnSync(NODE22, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", app], {
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, `types: ${tsc.stdout}`);

    // Copied into the app: from inside this repo, `proofpath/...` would resolve to the repo itself.
    copyFileSync(path.join(root, "test/scripts/fixtures/packageConsumer.mjs"), path.join(app, "main.mjs"));
    const run = spawnSync(NODE22, ["main.mjs"], {
      cwd: app,
      encoding: "utf8",
      timeout: 120_000,
      env: {
        ...process.env,
        RPC_URL: anvil.url,
        SETTLEMENT: pp.settlement,
        REGISTRY: pp.deployment.contracts.GatewayRegistry,
        ENCLAVE_KEY: pp.enclaveKey,
        RELAYER_KEY: pp.relayerKey,
        STORE: path.join(dir, "gateway.db"),
      },
    });
    assert.equal(run.status, 0, `consumer failed:\n${run.stderr}`);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(out.callSeqs, [0, 1]);
    assert.equal(out.status, "confirmed", "the batch settled on-chain");
    assert.equal(out.gateway, pp.enclave.address);
    assert.equal(out.receiptSigner, pp.enclave.address, "the receipt is signed by the enclave key");
    assert.equal(out.leafMatches, true);
    assert.equal(out.proofVerifies, true, "the Merkle proof verifies against the header's root");
    assert.equal(out.tamperedProofVerifies, false, "a changed receipt does not verify");
    assert.equal(out.onChainStatus, "Submitted", "the contract proves the receipt in the settled batch");
    assert.deepEqual(out.ohttp, {
      path: "/v1/chat/completions",
      promptRoundTrips: true,
      ciphertextHidesPrompt: true,
      status: 200,
      body: "echo 48 bytes",
    });
    assert.equal(out.validator.createValidator, "function");
    assert.equal(out.validator.verifyAttestation, "function");
    assert.match(out.validator.nitroRootFingerprint, /^64:1A:03:21:.*:BB:5B$/, "the AWS Nitro root is shipped");

    // The bin runs the compiled CLI (no sources in the package): a document that is not CBOR is
    // answered "invalid" (exit 1) by the shipped verifier.
    writeFileSync(path.join(app, "junk.cbor"), "0x00112233");
    const cli = spawnSync(
      NODE22,
      [path.join(app, "node_modules/proofpath/scripts/cli.js"), "verify-attestation", "junk.cbor", "--json"],
      { cwd: app, encoding: "utf8" },
    );
    assert.equal(cli.status, 1, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).error.name, "AttestationMalformedError");
  });
});
