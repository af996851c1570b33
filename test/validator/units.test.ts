/**
 * The validator's pure parts, without a chain: config errors name their field, the signing record
 * refuses a second verdict across reopen, verifyBatch catches each kind of lie, quorum assembly
 * keeps only real validator signatures in ascending order, and the retry split.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, recoverAddress, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { fromCompactSignature } from "../../sdk/eip712.js";
import { receiptLeaf, voidLeaf } from "../../sdk/hashing.js";
import { buildTree } from "../../sdk/merkle.js";
import { computeFee } from "../../sdk/fees.js";
import { signCompact, verdictDigest } from "../../sdk/approvals.js";
import type { BatchHeader } from "../../sdk/types.js";
import {
  DaUnavailableError,
  DoubleSignRefusedError,
  NonRetryableError,
  RetryableError,
  TransactionRevertedError,
  ValidatorConfigError,
  gatewayBaseOf,
  openSigningRecord,
  parseValidatorConfig,
  quorumFrom,
  submitRank,
  usageOf,
  verifyBatch,
  validatorConfigRole,
  validatorConfigSchema,
} from "../../validator/index.js";
import { configFields, configHelp, loadConfig } from "../../sdk/config.js";
import { root } from "../gateway/helpers/chain.js";
import { Backoff } from "../../validator/retry.js";
import type { DaLeaf } from "../../validator/da.js";

const SETTLEMENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
const KEY = generatePrivateKey();

function configError(input: Record<string, unknown>): ValidatorConfigError {
  try {
    parseValidatorConfig(input);
  } catch (e) {
    assert.ok(e instanceof ValidatorConfigError, `expected ValidatorConfigError, got ${e}`);
    assert.equal(e.name, "ValidatorConfigError");
    return e;
  }
  assert.fail("config was accepted");
}

describe("validator config", () => {
  const ok = { privateKey: KEY, rpcUrl: "http://127.0.0.1:8545", settlement: SETTLEMENT, dataDir: "/tmp/x" };

  it("test_parseValidatorConfig_defaults_succeeds", () => {
    const c = parseValidatorConfig(ok);
    assert.equal(c.settlement, SETTLEMENT);
    assert.equal(c.startBlock, 0);
    assert.deepEqual(c.peers, []);
    assert.equal(c.finalize, true);
  });

  it("test_parseValidatorConfig_missingVsWrongType_reverts", () => {
    assert.equal(
      configError({ ...ok, privateKey: undefined }).shortMessage,
      "Invalid validator config: privateKey: required",
    );
    assert.match(configError({ ...ok, port: "abc" }).shortMessage, /^Invalid validator config: port: (?!required)/);
  });

  for (const [field, input, label] of [
    ["privateKey", { ...ok, privateKey: undefined }],
    ["privateKey", { ...ok, privateKey: "0x1234" }, "short"],
    ["rpcUrl", { ...ok, rpcUrl: "ws://x" }],
    ["settlement", { ...ok, settlement: undefined }],
    ["dataDir", { ...ok, dataDir: "" }],
    ["peers.1", { ...ok, peers: ["http://a:1", "not a url"] }],
    ["port", { ...ok, port: 70_000 }],
    ["daDeadlineSec", { ...ok, daDeadlineSec: 0 }],
    ["finalize", { ...ok, finalize: "yes" }],
    ["deployment", { ...ok, settlement: undefined, deployment: "/nonexistent/deployment.json" }],
  ] as const) {
    it(`test_parseValidatorConfig_bad_${field.replace(".", "_")}${label ? `_${label}` : ""}_reverts`, () => {
      const e = configError(input as Record<string, unknown>);
      assert.equal(e.field, field);
      assert.match(e.shortMessage, new RegExp(`^Invalid validator config: ${field.replace(".", "\\.")}: `));
    });
  }
});

describe("validator config: every problem at once, by the operator's name (issue 17)", () => {
  const ok = { privateKey: KEY, rpcUrl: "http://127.0.0.1:8545", settlement: SETTLEMENT, dataDir: "/tmp/x" };
  const named = (e: ValidatorConfigError) => Object.fromEntries(e.issues.map((i) => [i.name, i.reason]));

  it("test_parseValidatorConfig_severalBadValues_oneErrorListingEach_reverts", () => {
    const e = configError({
      ...ok,
      privateKey: "0x1234",
      port: 70_000,
      peers: ["http://a:1", "not a url"],
      daDeadlineSec: 0,
      finalize: "yes",
      retryBaseMs: 5_000,
      retryMaxMs: 100, // a cross-field rule, checked together with the rest
    });
    assert.deepEqual(Object.keys(named(e)).sort(), [
      "daDeadlineSec",
      "finalize",
      "peers.1",
      "port",
      "privateKey",
      "retryMaxMs",
    ]);
    assert.equal(e.field, e.issues[0]!.field);
    // One message names each of them, with its reason.
    assert.match(e.shortMessage, /^Invalid validator config: 6 problems \(/);
    for (const i of e.issues) {
      assert.ok(e.shortMessage.includes(i.name), `${i.name} missing from ${e.shortMessage}`);
      assert.ok(e.message.includes(`  ${i.name}: ${i.reason}`), `${i.name}: ${i.reason} missing from\n${e.message}`);
    }
    assert.match(named(e).retryMaxMs!, /≥ retryBaseMs/);
  });

  it("test_parseValidatorConfig_unknownKey_refusedByName_reverts", () => {
    // A typo would otherwise leave the 5 s default in force without a word.
    const e = configError({ ...ok, daTimeoutMS: 100 });
    assert.equal(e.issues.length, 1);
    assert.equal(e.field, "daTimeoutMS");
    assert.equal(e.shortMessage, "Invalid validator config: daTimeoutMS: unknown field; did you mean daTimeoutMs?");
    // Among other problems, and with no suggestion when nothing is close.
    const e2 = configError({ ...ok, port: -1, peer: ["http://a:1"], colour: "blue" });
    assert.deepEqual(named(e2), {
      port: named(e2).port,
      peer: "unknown field; did you mean peers?",
      colour: "unknown field",
    });
  });

  it("test_parseValidatorConfig_envProvidedValues_namedByEnvVar_reverts", () => {
    const env = loadConfig(validatorConfigRole, {
      env: {
        PROOFPATH_VALIDATOR_PRIVATE_KEY: "0x12",
        PROOFPATH_VALIDATOR_PORT: "abc",
        PROOFPATH_VALIDATOR_PEERS: "http://a:1, ftp://b",
        PROOFPATH_VALIDATOR_DA_ALLOW_PRIVATE: "maybe",
        PROOFPATH_VALIDATOR_RETRY_MAX_MS: "10",
        HOME: "/root",
      },
    });
    assert.deepEqual(env.names, {
      privateKey: "PROOFPATH_VALIDATOR_PRIVATE_KEY",
      port: "PROOFPATH_VALIDATOR_PORT",
      peers: "PROOFPATH_VALIDATOR_PEERS",
      daAllowPrivate: "PROOFPATH_VALIDATOR_DA_ALLOW_PRIVATE",
      retryMaxMs: "PROOFPATH_VALIDATOR_RETRY_MAX_MS",
    });
    // As main.ts merges them: the file's fields, overridden by the environment's.
    const file = {
      rpcUrl: "ws://x",
      dataDir: "/tmp/x",
      settlement: SETTLEMENT,
      port: 7400,
      claimIntervalMs: 1,
      retryBaseMs: 500,
    };
    let e: ValidatorConfigError | undefined;
    try {
      parseValidatorConfig({ ...file, ...env.input }, { names: env.names });
    } catch (x) {
      e = x as ValidatorConfigError;
    }
    assert.ok(e instanceof ValidatorConfigError);
    assert.deepEqual(Object.keys(named(e)).sort(), [
      "PROOFPATH_VALIDATOR_DA_ALLOW_PRIVATE",
      "PROOFPATH_VALIDATOR_PEERS[1]",
      "PROOFPATH_VALIDATOR_PORT",
      "PROOFPATH_VALIDATOR_PRIVATE_KEY",
      "PROOFPATH_VALIDATOR_RETRY_MAX_MS",
      "claimIntervalMs",
      "rpcUrl",
    ]);
    assert.deepEqual(e.issues.find((i) => i.name === "PROOFPATH_VALIDATOR_PEERS[1]")!.field, "peers.1");
    assert.match(e.message, /^ {2}PROOFPATH_VALIDATOR_PORT: expected a TCP port$/m);
    assert.match(e.message, /^ {2}PROOFPATH_VALIDATOR_RETRY_MAX_MS: must be ≥ retryBaseMs \(500\)$/m);
  });

  it("test_validatorHelp_listsEveryFieldAndEnvVar_succeeds", () => {
    const help = configHelp(validatorConfigRole);
    const fields = configFields(validatorConfigRole);
    assert.deepEqual(
      fields.map((f) => f.key),
      Object.keys(validatorConfigSchema.shape),
    );
    for (const f of fields) {
      assert.ok(help.includes(`  ${f.key}  ${f.env}\n`), `--help does not list ${f.key} ${f.env}`);
      assert.ok(f.description, `${f.key} has no description`);
    }
    assert.equal(fields.find((f) => f.key === "daTimeoutMs")!.env, "PROOFPATH_VALIDATOR_DA_TIMEOUT_MS");
  });

  it("test_validatorMain_badFileAndEnv_exits2ListingEachByName_reverts", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pp-config-"));
    try {
      const file = path.join(dir, "validator.json");
      writeFileSync(
        file,
        JSON.stringify({
          privateKey: KEY,
          rpcUrl: "http://127.0.0.1:1",
          settlement: SETTLEMENT,
          dataDir: dir,
          receiptSample: 3,
          daMaxBytes: 10,
        }),
      );
      const r = spawnSync(process.execPath, ["--import", "tsx", "validator/main.ts", "--config", file], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
        env: {
          ...process.env,
          NODE_NO_WARNINGS: "1",
          PROOFPATH_VALIDATOR_PORT: "abc",
          PROOFPATH_VALIDATOR_PEERS: "nope",
          PROOFPATH_VALIDATOR_DA_TIMEOUT_MSS: "5",
        },
      });
      assert.equal(r.status, 2, r.stderr);
      for (const line of [
        "receiptSample: unknown field; did you mean receiptSamples?",
        "daMaxBytes: ",
        "PROOFPATH_VALIDATOR_PORT: ",
        "PROOFPATH_VALIDATOR_PEERS[0]: ",
        "PROOFPATH_VALIDATOR_DA_TIMEOUT_MSS: unknown variable; did you mean PROOFPATH_VALIDATOR_DA_TIMEOUT_MS?",
      ]) {
        assert.ok(r.stderr.includes(`  ${line}`), `"${line}" missing from\n${r.stderr}`);
      }
      const help = spawnSync(process.execPath, ["--import", "tsx", "validator/main.ts", "--help"], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.equal(help.status, 0);
      assert.equal(help.stdout, configHelp(validatorConfigRole));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("signing record", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "pp-signing-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const account = privateKeyToAccount(KEY);
  const h = keccak256(toHex("header")) as Hex;

  it("test_sign_sameVerdictIdempotent_otherVerdictRefusedAcrossReopen_succeeds", async () => {
    const file = path.join(dir, "signing.db");
    let rec = openSigningRecord({ file, account, chainId: 31337, settlement: SETTLEMENT });
    const first = await rec.sign(h, 1, "verified");
    const again = await rec.sign(h, 1, "verified");
    assert.deepEqual(again.sig, first.sig);
    // The signature is over the one-element list [headerHash], as the contract will check it.
    const signer = await recoverAddress({
      hash: verdictDigest(31337, SETTLEMENT, 1, [h]),
      signature: fromCompactSignature(first.sig),
    });
    assert.equal(signer, account.address);
    await assert.rejects(
      rec.sign(h, 2, "root"),
      (e: unknown) => e instanceof DoubleSignRefusedError && e.recorded === 1 && e.requested === 2,
    );
    rec.close();

    rec = openSigningRecord({ file, account, chainId: 31337, settlement: SETTLEMENT });
    await assert.rejects(
      rec.sign(h.toUpperCase().replace("0X", "0x") as Hex, 2, "da_unavailable"),
      DoubleSignRefusedError,
    );
    assert.equal(rec.all().length, 1);
    assert.equal(rec.get(h)!.verdict, 1);
    rec.close();
  });

  it("test_sign_concurrentOppositeVerdicts_onlyOneSigned_succeeds", async () => {
    const rec = openSigningRecord({
      file: path.join(dir, "signing.db"),
      account,
      chainId: 31337,
      settlement: SETTLEMENT,
    });
    const results = await Promise.allSettled([rec.sign(h, 1, "a"), rec.sign(h, 2, "b"), rec.sign(h, 1, "c")]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.equal(rec.all().length, 1);
    rec.close();
  });

  it("test_open_otherSettlement_reverts", () => {
    const file = path.join(dir, "signing.db");
    openSigningRecord({ file, account, chainId: 31337, settlement: SETTLEMENT }).close();
    assert.throws(() => openSigningRecord({ file, account, chainId: 1, settlement: SETTLEMENT }), /belongs to/);
  });
});

describe("verifyBatch", () => {
  const gateway = privateKeyToAccount(KEY).address;
  const rate = { perCall: 10n ** 12n, perKiloInputToken: 10n ** 13n, perKiloOutputToken: 3n * 10n ** 13n };
  const models = [keccak256(toHex("m1")), keccak256(toHex("m2"))];
  const leaves: DaLeaf[] = Array.from(
    { length: 5 },
    (_, i): DaLeaf =>
      i === 2
        ? { kind: "void", gateway, callSeq: 40n + BigInt(i) }
        : {
            kind: "served",
            receipt: {
              gateway,
              callSeq: 40n + BigInt(i),
              modelId: models[i % 2]!,
              requestHash: keccak256(toHex(`q${i}`)),
              responseHash: keccak256(toHex(`r${i}`)),
              inputTokens: 10 * i,
              outputTokens: 7 * i,
              servedAt: 1000n + BigInt(i),
            },
          },
  );
  const usage = usageOf(leaves);
  const header: BatchHeader = {
    gateway,
    batchSeq: 3n,
    firstCallSeq: 40n,
    count: 5,
    root: buildTree(leaves.map((l) => (l.kind === "served" ? receiptLeaf(l.receipt) : voidLeaf(l.gateway, l.callSeq))))
      .root,
    usage,
    fee: computeFee(usage, rate),
    firstServedAt: 1000n,
    lastServedAt: 1004n,
    daURI: "http://gw/batches/3",
  };
  const whats = (h: BatchHeader, l: DaLeaf[] = leaves) =>
    verifyBatch({ header: h, leaves: l, rate }).mismatches.map((m) => m.what);

  it("test_verifyBatch_honest_succeeds", () => {
    const r = verifyBatch({ header, leaves, rate });
    assert.equal(r.ok, true, JSON.stringify(r.mismatches));
    assert.equal(
      usage.reduce((s, u) => s + u.calls, 0),
      4,
    ); // the void leaf is no call
  });
  it("test_verifyBatch_wrongRoot_reverts", () =>
    assert.deepEqual(whats({ ...header, root: keccak256("0x01") }), ["root"]));
  it("test_verifyBatch_inflatedUsage_reverts", () => {
    const u = header.usage.map((x, i) => (i === 0 ? { ...x, inputTokens: x.inputTokens + 1000n } : x));
    // The header's fee matches its (inflated) usage, as the contract requires; against the receipts both are wrong.
    assert.deepEqual(whats({ ...header, usage: u, fee: computeFee(u, rate) }), ["usage", "fee"]);
  });
  it("test_verifyBatch_wrongFee_reverts", () => assert.deepEqual(whats({ ...header, fee: header.fee + 1n }), ["fee"]));
  it("test_verifyBatch_servedAtRange_reverts", () =>
    assert.deepEqual(whats({ ...header, lastServedAt: 2000n }), ["servedAt"]));
  it("test_verifyBatch_perModelRate_changesFee_reverts", () => {
    const r = verifyBatch({
      header,
      leaves,
      rate,
      modelRates: new Map([[models[0]!, { perCall: 1n, perKiloInputToken: 0n, perKiloOutputToken: 0n }]]),
    });
    assert.deepEqual(
      r.mismatches.map((m) => m.what),
      ["fee"],
    );
  });
  it("test_verifyBatch_callSeqGap_reverts", () => {
    const shifted = leaves.map((l, i) =>
      i === 4 && l.kind === "served" ? { kind: "served" as const, receipt: { ...l.receipt, callSeq: 99n } } : l,
    );
    assert.ok(whats(header, shifted).includes("range"));
  });
  it("test_verifyBatch_foreignGateway_reverts", () => {
    const other = privateKeyToAccount(generatePrivateKey()).address;
    const foreign = leaves.map((l, i) =>
      i === 1 && l.kind === "served" ? { kind: "served" as const, receipt: { ...l.receipt, gateway: other } } : l,
    );
    assert.ok(whats(header, foreign).includes("gateway"));
  });
  it("test_verifyBatch_missingLeaf_reverts", () => assert.ok(whats(header, leaves.slice(0, 4)).includes("count")));
});

describe("quorum assembly", () => {
  const accounts = [0, 1, 2, 3].map(() => privateKeyToAccount(generatePrivateKey()));
  const members = accounts.slice(0, 3).map((a) => a.address);
  const h = keccak256(toHex("batch")) as Hex;

  it("test_quorumFrom_keepsRealMembersSortedAscending_succeeds", async () => {
    const digest = verdictDigest(31337, SETTLEMENT, 1, [h]);
    const sigs = await Promise.all(accounts.map((a) => signCompact(a, digest)));
    const rejectSig = await signCompact(accounts[1]!, verdictDigest(31337, SETTLEMENT, 2, [h]));
    const q = await quorumFrom({
      chainId: 31337,
      settlement: SETTLEMENT,
      verdict: 1,
      headerHash: h,
      validators: members,
      candidates: [
        { signer: accounts[2]!.address, verdict: 1, sig: sigs[2]! },
        { signer: accounts[3]!.address, verdict: 1, sig: sigs[3]! }, // not a validator
        { signer: accounts[0]!.address, verdict: 1, sig: sigs[1]! }, // claims another's signature
        { signer: accounts[1]!.address, verdict: 2, sig: rejectSig }, // other verdict
        { signer: accounts[2]!.address, verdict: 1, sig: sigs[2]! }, // duplicate
        { signer: accounts[0]!.address, verdict: 1, sig: sigs[0]! },
      ],
    });
    const want = [accounts[0]!.address, accounts[2]!.address].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    assert.deepEqual(q.signers, want);
    assert.equal(q.sigs.length, 2);
  });

  it("test_submitRank_isAPermutationPerBatch_succeeds", () => {
    const ranks = members.map((m) => submitRank(h, m, members)).sort();
    assert.deepEqual(ranks, [0, 1, 2]);
    assert.equal(submitRank(h, accounts[3]!.address, members), 3);
  });
});

describe("errors and retries", () => {
  it("test_backoff_retryableBacksOff_nonRetryableParks_succeeds", () => {
    const b = new Backoff(100, 1_000);
    const d1 = b.failed("a", new DaUnavailableError({ url: "http://x", reason: "HTTP 404" }), { now: 0 });
    assert.ok(d1 >= 75 && d1 <= 125);
    assert.equal(b.due("a", 50), false);
    assert.equal(b.due("a", 200), true);
    const capped = b.failed("a", new RetryableError("x"), { now: 0, notAfter: 10 });
    assert.equal(capped, 10);
    assert.equal(
      b.failed("c", new TransactionRevertedError({ functionName: "attest", reason: "SettlementWindowClosed" })),
      Infinity,
    );
    assert.equal(b.parked("c"), true);
    assert.equal(b.due("c", Number.MAX_SAFE_INTEGER), false);
  });

  it("test_errors_viemStyleFields_succeeds", () => {
    const e = new DoubleSignRefusedError({ headerHash: "0xab", recorded: 1, requested: 2 });
    assert.ok(e instanceof NonRetryableError);
    assert.equal(e.name, "DoubleSignRefusedError");
    assert.match(e.shortMessage, /Refused to sign verdict 2 for 0xab/);
    const cause = new Error("ECONNREFUSED");
    const d = new DaUnavailableError({ url: "http://x/batches/1", reason: "request failed", cause });
    assert.ok(d instanceof RetryableError);
    assert.equal(d.walk(), cause);
    assert.match(d.message, /Details: ECONNREFUSED/);
  });

  it("test_gatewayBaseOf_succeeds", () => {
    assert.equal(gatewayBaseOf("http://gw:8080/da/batches/12"), "http://gw:8080/da");
    assert.equal(gatewayBaseOf("ipfs://Qm"), undefined);
  });
});
