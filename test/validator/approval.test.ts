/**
 * Enclave approval through the validators: an operator registers a key with the hash of its Nitro
 * attestation document, posts the document to k validators' `POST /approvals`, and submits their
 * signatures in `approveEnclave`. Each validator verifies the document (development CA as trusted
 * root) against what the registry holds before signing; every reason to refuse gets its own answer.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { createWalletClient, http, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { gatewayRegistryAbi } from "../../sdk/abis.js";
import { sortBySigner, type CompactSig } from "../../sdk/quorum.js";
import { approveEnclaveByValidators, registerEnclave } from "../../gateway/setup.js";
import { EnclaveApprovalError } from "../../gateway/errors.js";
import { attestationHash, measurementOf } from "../../validator/attestation/index.js";
import { buildDevEnclaveAttestation, createDevNitroCa, devPcrs, type DevNitroCa } from "../../validator/attestation/devNitroCa.js";
import { createValidator, ValidatorConfigError, type Validator } from "../../validator/index.js";
import { devAccount, freePort } from "../gateway/helpers/chain.js";
import { enclaveKeyPair } from "./helpers/nitro.js";
import { startTestNet, type TestNet } from "./helpers/setup.js";

describe("validator: enclave approval (POST /approvals)", function () {
  this.timeout(60_000);
  let net: TestNet;
  let ca: DevNitroCa;
  const validators: Validator[] = [];
  const pcrs = devPcrs("approval-test");
  const measurement = measurementOf(pcrs);

  const owner = () => createWalletClient({ chain: foundry, transport: http(net.anvil.url), account: devAccount(0) });
  const post = (v: Validator, body: unknown) =>
    fetch(`${v.url}/approvals`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const enclaveOf = (key: Address) =>
    net.anvil.client.readContract({ address: net.deployment.contracts.GatewayRegistry, abi: gatewayRegistryAbi, functionName: "enclave", args: [key] });

  /** Registers a fresh key committed to `document` (built for that key unless given), without approving it. */
  async function registered(opts: { document?: (key: ReturnType<typeof enclaveKeyPair>) => Promise<Uint8Array>; measurement?: Hex } = {}) {
    const key = enclaveKeyPair();
    const document = await (opts.document ?? ((k) => buildDevEnclaveAttestation(ca, { enclavePublicKey: k.publicKey, pcrs })))(key);
    await registerEnclave(net.anvil.client, {
      deployment: net.deployment, owner: owner(), enclave: privateKeyToAccount(key.privateKey) as LocalAccount,
      measurement: opts.measurement ?? measurement, attestationHash: attestationHash(document),
    });
    return { key, document };
  }

  before(async () => {
    net = await startTestNet({ blockTime: 0 });
    ca = await createDevNitroCa();
    const rootFile = path.join(net.dir, "dev-nitro-root.pem");
    writeFileSync(rootFile, ca.rootPem);
    for (let i = 0; i < 2; i++) {
      validators.push(await createValidator({
        privateKey: net.validatorKeys[i]!, daAllowPrivate: true, rpcUrl: net.anvil.url, deployment: net.deploymentFile, dataDir: path.join(net.dir, `v${i}`),
        port: await freePort(), pollIntervalMs: 3_600_000, finalize: false, claim: false, attestationRoot: rootFile,
      }, { logger: pino({ level: "silent" }) }));
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
    const answers = await Promise.all(validators.map(async (v, i) => {
      // One as base64, one as 0x-hex: both encodings are accepted.
      const res = await post(v, { enclave: key.address, deadline: deadline.toString(), document: i === 0 ? Buffer.from(document).toString("base64") : `0x${Buffer.from(document).toString("hex")}` });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as { signer: Address; sig: CompactSig; nonce: string; deadline: string; measurement: Hex; attestationHash: Hex };
    }));
    for (const [i, a] of answers.entries()) {
      assert.equal(a.signer, validators[i]!.address);
      assert.equal(a.deadline, deadline.toString());
      assert.equal(a.measurement, measurement);
      assert.equal(a.attestationHash, attestationHash(document));
    }
    const hash = await owner().writeContract({
      address: net.deployment.contracts.GatewayRegistry, abi: gatewayRegistryAbi, functionName: "approveEnclave", args: [key.address, deadline, sortBySigner(answers)],
    });
    assert.equal((await net.anvil.client.waitForTransactionReceipt({ hash })).status, "success");
    assert.ok((await enclaveOf(key.address)).activeUntil > 0n, "the enclave is active");
  });

  it("test_approveEnclaveByValidators_collectsQuorumAndSubmits_orNamesEveryRefusal_succeeds", async () => {
    const urls = validators.map((v) => v.url);
    const { key, document } = await registered();
    // One validator down: the other two answers (a refusal and an unreachable URL) are reported.
    const down = `http://127.0.0.1:${await freePort()}`;
    const other = await buildDevEnclaveAttestation(ca, { enclavePublicKey: key.publicKey, pcrs });
    await assert.rejects(
      approveEnclaveByValidators(net.anvil.client, { deployment: net.deployment, sender: owner(), enclave: key.address, document: other, validators: [...urls, down], quorum: 2 }),
      (e: unknown) => e instanceof EnclaveApprovalError && e.approved === 0 && e.refusals.length === 3 && e.refusals.some((r) => r.url === down),
    );
    assert.equal((await enclaveOf(key.address)).activeUntil, 0n);
    await approveEnclaveByValidators(net.anvil.client, { deployment: net.deployment, sender: owner(), enclave: key.address, document, validators: [...urls, down], quorum: 2 });
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
    await refused({ enclave: enclaveKeyPair().address, document: Buffer.from(document).toString("base64") }, 422, "ApprovalRefusedError");
    // Registered, but the document posted is not the one the registration committed to.
    const a = await registered();
    const other = await buildDevEnclaveAttestation(ca, { enclavePublicKey: a.key.publicKey, pcrs });
    assert.match(await refused({ enclave: a.key.address, document: Buffer.from(other).toString("base64") }, 422, "ApprovalRefusedError"), /attestationHash/);
    // The registered document binds another key.
    const stranger = enclaveKeyPair();
    const b = await registered({ document: () => buildDevEnclaveAttestation(ca, { enclavePublicKey: stranger.publicKey, pcrs }) });
    await refused({ enclave: b.key.address, document: Buffer.from(b.document).toString("base64") }, 422, "AttestationKeyNotBoundError");
    // Signed by a CA the validator does not trust.
    const foreign = await createDevNitroCa();
    const c = await registered({ document: (k) => buildDevEnclaveAttestation(foreign, { enclavePublicKey: k.publicKey, pcrs }) });
    await refused({ enclave: c.key.address, document: Buffer.from(c.document).toString("base64") }, 422, "AttestationCertificateChainError");
    // PCRs that do not give the registered measurement.
    const d = await registered({ document: (k) => buildDevEnclaveAttestation(ca, { enclavePublicKey: k.publicKey, pcrs: devPcrs("another image") }) });
    await refused({ enclave: d.key.address, document: Buffer.from(d.document).toString("base64") }, 422, "AttestationUnknownMeasurementError");
    // Too old.
    const e = await registered({ document: (k) => buildDevEnclaveAttestation(ca, { enclavePublicKey: k.publicKey, pcrs, timestamp: new Date(Date.now() - 3_600_000) }) });
    await refused({ enclave: e.key.address, document: Buffer.from(e.document).toString("base64") }, 422, "AttestationStaleError");
    // Nothing above was approved.
    for (const k of [a.key, b.key, c.key, d.key, e.key]) assert.equal((await enclaveOf(k.address)).activeUntil, 0n);
  });

  it("test_attestationRoot_unreadableOrNotACertificate_failsAtStart_reverts", async () => {
    const notACert = path.join(net.dir, "not-a-cert.pem");
    writeFileSync(notACert, "hello");
    for (const attestationRoot of [path.join(net.dir, "missing.pem"), notACert]) {
      await assert.rejects(
        createValidator({ privateKey: net.validatorKeys[2]!, rpcUrl: net.anvil.url, deployment: net.deploymentFile, dataDir: path.join(net.dir, "v2"), port: 0, attestationRoot }, { logger: pino({ level: "silent" }) }),
        (e: unknown) => e instanceof ValidatorConfigError && e.field === "attestationRoot",
      );
    }
  });
});
