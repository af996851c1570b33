/**
 * Enclave approval through the validators: an operator registers a key with the hash of its Nitro
 * attestation document, posts the document to k validators' `POST /approvals`, and submits their
 * signatures in `approveEnclave`. Each validator verifies the document (development CA as trusted
 * root) against what the registry holds before signing; every reason to refuse gets its own answer.
 * The document's user_data binds the registered OHTTP `keyConfigHash` (proofpath layout: nitriding
 * 68 bytes ‖ 0x1b20 ‖ keyConfigHash), so an operator cannot register a key config of its own.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { keccak256, toHex, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { gatewayRegistryAbi } from "../../sdk/abis.js";
import { sortBySigner, type CompactSig } from "../../sdk/approvals.js";
import { approveEnclaveByValidators, registerEnclave } from "../../gateway/registration.js";
import { EnclaveApprovalError } from "../../gateway/errors.js";
import { attestationHash, measurementOf } from "../../validator/attestation/index.js";
import { buildDevEnclaveAttestation, createDevNitroCa, devPcrs, type DevNitroCa } from "../../tools/devNitroCa.js";
import { createValidator, ValidatorConfigError, type Validator } from "../../validator/index.js";
import { freePort, devWallet } from "../../tools/devchain.js";
import { enclaveKeyPair } from "./helpers/nitro.js";
import { startTestNet, type TestNet } from "./helpers/setup.js";

describe("validator: enclave approval (POST /approvals)", function () {
  this.timeout(60_000);
  let net: TestNet;
  let ca: DevNitroCa;
  const validators: Validator[] = [];
  const pcrs = devPcrs("approval-test");
  const measurement = measurementOf(pcrs);

  const owner = () => devWallet(net.anvil, 0);
  const post = (v: Validator, body: unknown) =>
    fetch(`${v.url}/approvals`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const enclaveOf = (key: Address) =>
    net.anvil.client.readContract({
      address: net.deployment.contracts.GatewayRegistry,
      abi: gatewayRegistryAbi,
      functionName: "enclave",
      args: [key],
    });

  let configs = 0;
  /** A fresh OHTTP key config hash (what an enclave's key config would hash to). */
  const newKeyConfigHash = (): Hex => keccak256(toHex(`ohttp key config ${++configs}`));
  type Doc = (key: ReturnType<typeof enclaveKeyPair>, keyConfigHash: Hex) => Promise<Uint8Array>;

  /**
   * Registers a fresh key with `keyConfigHash` (a fresh one unless given) committed to `document`
   * (by default built for that key, binding that key config), without approving it.
   */
  async function registered(opts: { document?: Doc; measurement?: Hex; keyConfigHash?: Hex } = {}) {
    const key = enclaveKeyPair();
    const keyConfigHash = opts.keyConfigHash ?? newKeyConfigHash();
    const document = await (
      opts.document ??
      ((k, h) => buildDevEnclaveAttestation(ca, { enclavePublicKey: k.publicKey, pcrs, keyConfigHash: h }))
    )(key, keyConfigHash);
    await registerEnclave(net.anvil.client, {
      deployment: net.deployment,
      owner: owner(),
      enclave: privateKeyToAccount(key.privateKey) as LocalAccount,
      measurement: opts.measurement ?? measurement,
      attestationHash: attestationHash(document),
      keyConfigHash,
    });
    return { key, document, keyConfigHash };
  }

  before(async () => {
    net = await startTestNet({ blockTime: 0 });
    ca = await createDevNitroCa();
    const rootFile = path.join(net.dir, "dev-nitro-root.pem");
    writeFileSync(rootFile, ca.rootPem);
    for (let i = 0; i < 2; i++) {
      validators.push(
        await createValidator(
          {
            privateKey: net.validatorKeys[i]!,
            daAllowPrivate: true,
            rpcUrl: net.anvil.url,
            deployment: net.deploymentFile,
            dataDir: path.join(net.dir, `v${i}`),
            port: await freePort(),
            pollIntervalMs: 3_600_000,
            finalize: false,
            claim: false,
            attestationRoot: rootFile,
          },
          { logger: pino({ level: "silent" }) },
        ),
      );
    }
  });

  after(async () => {
    await Promise.all(validators.map((v) => v.stop()));
    await net?.anvil.stop();
    if (net) rmSync(net.dir, { recursive: true, force: true });
  });

  it("test_approvals_kValidatorsVerifyAndSign_enclaveApprovedOnChain_succeeds", async () => {
    const { key, document } = await registered();
    assert.equal((await enclaveOf(key.address)).activeUntil, 0n);
    // Every approval of one quorum must cover the same deadline: the operator proposes it.
    const deadline = (await net.anvil.client.getBlock()).timestamp + 600n;
    const answers = await Promise.all(
      validators.map(async (v, i) => {
        // One as base64, one as 0x-hex: both encodings are accepted.
        const res = await post(v, {
          enclave: key.address,
          deadline: deadline.toString(),
          document: i === 0 ? Buffer.from(document).toString("base64") : `0x${Buffer.from(document).toString("hex")}`,
        });
        assert.equal(res.status, 200, await res.clone().text());
        return (await res.json()) as {
          signer: Address;
          sig: CompactSig;
          nonce: string;
          deadline: string;
          measurement: Hex;
          attestationHash: Hex;
        };
      }),
    );
    for (const [i, a] of answers.entries()) {
      assert.equal(a.signer, validators[i]!.address);
      assert.equal(a.deadline, deadline.toString());
      assert.equal(a.measurement, measurement);
      assert.equal(a.attestationHash, attestationHash(document));
    }
    const hash = await owner().writeContract({
      address: net.deployment.contracts.GatewayRegistry,
      abi: gatewayRegistryAbi,
      functionName: "approveEnclave",
      args: [key.address, deadline, sortBySigner(answers)],
    });
    assert.equal((await net.anvil.client.waitForTransactionReceipt({ hash })).status, "success");
    assert.ok((await enclaveOf(key.address)).activeUntil > 0n, "the enclave is active");
  });

  it("test_approveEnclaveByValidators_collectsQuorumAndSubmits_orNamesEveryRefusal_succeeds", async () => {
    const urls = validators.map((v) => v.url);
    const { key, document, keyConfigHash } = await registered();
    // One validator down: the other two answers (a refusal and an unreachable URL) are reported.
    const down = `http://127.0.0.1:${await freePort()}`;
    const other = await buildDevEnclaveAttestation(ca, { enclavePublicKey: key.publicKey, pcrs, keyConfigHash });
    await assert.rejects(
      approveEnclaveByValidators(net.anvil.client, {
        deployment: net.deployment,
        sender: owner(),
        enclave: key.address,
        document: other,
        validators: [...urls, down],
        quorum: 2,
      }),
      (e: unknown) =>
        e instanceof EnclaveApprovalError &&
        e.approved === 0 &&
        e.refusals.length === 3 &&
        e.refusals.some((r) => r.url === down),
    );
    assert.equal((await enclaveOf(key.address)).activeUntil, 0n);
    await approveEnclaveByValidators(net.anvil.client, {
      deployment: net.deployment,
      sender: owner(),
      enclave: key.address,
      document,
      validators: [...urls, down],
      quorum: 2,
    });
    assert.ok((await enclaveOf(key.address)).activeUntil > 0n, "the enclave is active");
  });

  it("test_approvals_refusals_eachWithItsOwnError_reverts", async () => {
    const v = validators[0]!;
    const refused = async (body: unknown, status: number, error: string) => {
      const res = await post(v, body);
      const j = (await res.json()) as { error: string; message: string };
      assert.equal(res.status, status, JSON.stringify(j));
      assert.equal(j.error, error, JSON.stringify(j));
      assert.ok(j.message.length > 0);
      return j.message;
    };
    // Bad input.
    await refused("not json", 400, "bad_request");
    await refused({ enclave: "0x1234", document: "AAAA" }, 400, "bad_request");
    await refused({ enclave: enclaveKeyPair().address, document: "not base64!" }, 400, "bad_request");
    // Not registered.
    const { document } = await registered();
    await refused(
      { enclave: enclaveKeyPair().address, document: Buffer.from(document).toString("base64") },
      422,
      "ApprovalRefusedError",
    );
    // Registered, but the document posted is not the one the registration committed to.
    const a = await registered();
    const other = await buildDevEnclaveAttestation(ca, {
      enclavePublicKey: a.key.publicKey,
      pcrs,
      keyConfigHash: a.keyConfigHash,
    });
    assert.match(
      await refused(
        { enclave: a.key.address, document: Buffer.from(other).toString("base64") },
        422,
        "ApprovalRefusedError",
      ),
      /attestationHash/,
    );
    // The registered document binds another key.
    const stranger = enclaveKeyPair();
    const b = await registered({
      document: (_k, h) =>
        buildDevEnclaveAttestation(ca, { enclavePublicKey: stranger.publicKey, pcrs, keyConfigHash: h }),
    });
    await refused(
      { enclave: b.key.address, document: Buffer.from(b.document).toString("base64") },
      422,
      "AttestationKeyNotBoundError",
    );
    // Signed by a CA the validator does not trust.
    const foreign = await createDevNitroCa();
    const c = await registered({
      document: (k, h) =>
        buildDevEnclaveAttestation(foreign, { enclavePublicKey: k.publicKey, pcrs, keyConfigHash: h }),
    });
    await refused(
      { enclave: c.key.address, document: Buffer.from(c.document).toString("base64") },
      422,
      "AttestationCertificateChainError",
    );
    // PCRs that do not give the registered measurement.
    const d = await registered({
      document: (k, h) =>
        buildDevEnclaveAttestation(ca, {
          enclavePublicKey: k.publicKey,
          pcrs: devPcrs("another image"),
          keyConfigHash: h,
        }),
    });
    await refused(
      { enclave: d.key.address, document: Buffer.from(d.document).toString("base64") },
      422,
      "AttestationUnknownMeasurementError",
    );
    // Too old.
    const e = await registered({
      document: (k, h) =>
        buildDevEnclaveAttestation(ca, {
          enclavePublicKey: k.publicKey,
          pcrs,
          timestamp: new Date(Date.now() - 3_600_000),
          keyConfigHash: h,
        }),
    });
    await refused(
      { enclave: e.key.address, document: Buffer.from(e.document).toString("base64") },
      422,
      "AttestationStaleError",
    );
    // Nothing above was approved.
    for (const k of [a.key, b.key, c.key, d.key, e.key]) assert.equal((await enclaveOf(k.address)).activeUntil, 0n);
  });

  it("test_attack_serverRegistersOwnKeyConfig_documentBindsAnother_validatorsRefuse_reverts", async () => {
    // The operator runs a genuine enclave (its document binds the enclave's key config) but registers
    // the key config of an ordinary server it controls: users would encrypt to that server.
    const enclaveConfig = newKeyConfigHash();
    const { key, document } = await registered({
      keyConfigHash: newKeyConfigHash(),
      document: (k) =>
        buildDevEnclaveAttestation(ca, { enclavePublicKey: k.publicKey, pcrs, keyConfigHash: enclaveConfig }),
    });
    for (const v of validators) {
      const res = await post(v, { enclave: key.address, document: Buffer.from(document).toString("base64") });
      const j = (await res.json()) as { error: string; message: string };
      assert.equal(res.status, 422, JSON.stringify(j));
      assert.equal(j.error, "AttestationKeyConfigNotBoundError");
      assert.ok(j.message.includes(enclaveConfig), j.message);
    }
    await assert.rejects(
      approveEnclaveByValidators(net.anvil.client, {
        deployment: net.deployment,
        sender: owner(),
        enclave: key.address,
        document,
        validators: validators.map((v) => v.url),
        quorum: 2,
      }),
      (e: unknown) => e instanceof EnclaveApprovalError && e.approved === 0,
    );
    assert.equal((await enclaveOf(key.address)).activeUntil, 0n);
  });

  it("test_attack_documentBindsNoKeyConfig_orNoneRegistered_validatorsRefuse_reverts", async () => {
    const v = validators[0]!;
    const refusal = async (key: Address, document: Uint8Array, publicKey?: Hex) => {
      const res = await post(v, { enclave: key, document: Buffer.from(document).toString("base64"), publicKey });
      assert.equal(res.status, 422);
      return (await res.json()) as { error: string; message: string };
    };
    // A plain nitriding document (68 bytes of user_data): the key is bound, its key config is not.
    const a = await registered({
      document: (k) => buildDevEnclaveAttestation(ca, { enclavePublicKey: k.publicKey, pcrs, binding: "user_data" }),
    });
    const ja = await refusal(a.key.address, a.document, a.key.publicKey);
    assert.equal(ja.error, "AttestationKeyConfigNotBoundError");
    assert.match(ja.message, /68-byte nitriding layout/);
    // Registered with no key config at all (keyConfigHash = 0): nothing for users to encrypt to.
    const zero = `0x${"00".repeat(32)}` as Hex;
    const b = await registered({ keyConfigHash: zero });
    const jb = await refusal(b.key.address, b.document);
    assert.equal(jb.error, "ApprovalRefusedError");
    assert.match(jb.message, /keyConfigHash = 0/);
    for (const k of [a.key, b.key]) assert.equal((await enclaveOf(k.address)).activeUntil, 0n);
  });

  it("test_approvals_nitridingUserDataBinding_publicKeyPosted_approves_succeeds", async () => {
    // The document carries no public_key: the signing key is bound only by user_data's SHA-256 of it,
    // so the enclave posts its public key, which must be the registered address's.
    const { key, document, keyConfigHash } = await registered({
      document: (k, h) =>
        buildDevEnclaveAttestation(ca, { enclavePublicKey: k.publicKey, pcrs, binding: "user_data", keyConfigHash: h }),
    });
    const body = { enclave: key.address, document: Buffer.from(document).toString("base64") };
    const noKey = await post(validators[0]!, body);
    assert.equal(noKey.status, 422);
    const noKeyAnswer = (await noKey.json()) as { error: string; reasons: string[] };
    assert.equal(noKeyAnswer.error, "AttestationKeyNotBoundError");
    assert.ok(
      noKeyAnswer.reasons.some((r) => r.includes("POST /approvals: publicKey")),
      JSON.stringify(noKeyAnswer),
    );
    const wrongKey = await post(validators[0]!, { ...body, publicKey: enclaveKeyPair().publicKey });
    assert.equal(wrongKey.status, 422);
    assert.match(((await wrongKey.json()) as { error: string; message: string }).message, /publicKey belongs to/);
    assert.equal((await post(validators[0]!, { ...body, publicKey: "0x1234" })).status, 400);

    await approveEnclaveByValidators(net.anvil.client, {
      deployment: net.deployment,
      sender: owner(),
      enclave: key.address,
      document,
      publicKey: key.publicKey,
      validators: validators.map((v) => v.url),
      quorum: 2,
    });
    const e = await enclaveOf(key.address);
    assert.ok(e.activeUntil > 0n, "the enclave is active");
    assert.equal(e.keyConfigHash, keyConfigHash);
  });

  it("test_attestationRoot_unreadableOrNotACertificate_failsAtStart_reverts", async () => {
    const notACert = path.join(net.dir, "not-a-cert.pem");
    writeFileSync(notACert, "hello");
    for (const attestationRoot of [path.join(net.dir, "missing.pem"), notACert]) {
      await assert.rejects(
        createValidator(
          {
            privateKey: net.validatorKeys[2]!,
            rpcUrl: net.anvil.url,
            deployment: net.deploymentFile,
            dataDir: path.join(net.dir, "v2"),
            port: 0,
            attestationRoot,
          },
          { logger: pino({ level: "silent" }) },
        ),
        (e: unknown) => e instanceof ValidatorConfigError && e.field === "attestationRoot",
      );
    }
  });
});
