/**
 * The attested OHTTP client encrypts only to an enclave the registry vouches for (issue 17, item 2).
 *
 * Attack: an operator registers an ordinary server's key config under an enclave key. Before, the
 * client checked only that `keyConfigHash` was non-zero, so it encrypted users' prompts to a key
 * never approved, expired, on a revoked measurement or slashed. Now each of those is refused with
 * its own error before anything is encrypted, and a key config gets approved only when the enclave's
 * attestation binds it (user_data, proofpath layout) — the nitriding user_data binding included.
 *
 * Real anvil, the contracts, two validators trusting the development Nitro CA (quorum 2), the
 * demo gateway's /ohttp and the relay, all over HTTP.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { createWalletClient, http, keccak256, toHex, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { gatewayRegistryAbi } from "../../sdk/abis.js";
import { deployProofpath, localDeployDefaults } from "../../tools/deploy.js";
import { writeDeployment, type Deployment } from "../../sdk/deployment.js";
import { generateKeyPair, type OhttpKeyPair } from "../../sdk/ohttp/index.js";
import * as attested from "../../sdk/ohttp/registry.js";
import { approveEnclaveByValidators, listen, registerEnclave } from "../../gateway/index.js";
import { EnclaveApprovalError } from "../../gateway/errors.js";
import { createDemoApp } from "../../gateway/demo/server.js";
import { LocalModel } from "../../gateway/demo/backend.js";
import { createOhttpGateway } from "../../gateway/ohttp/enclave.js";
import { chatBackend } from "../../gateway/demo/ohttpBackend.js";
import { createRelayApp } from "../../gateway/ohttp/relay.js";
import { attestationHash, measurementOf } from "../../validator/attestation/index.js";
import { buildDevEnclaveAttestation, createDevNitroCa, devPcrs, type DevNitroCa } from "../../tools/devNitroCa.js";
import { createValidator, type Validator } from "../../validator/index.js";
import { enclaveKeyPair } from "../validator/helpers/nitro.js";
import { devAccount, freePort, startDevChain, type DevChain, devWallet } from "../../tools/devchain.js";
import { delay } from "../../tools/waitFor.js";

const silent = pino({ level: "silent" });
const CHAT = JSON.stringify({
  model: "proofpath-local-1",
  messages: [{ role: "user", content: "my private question" }],
  max_tokens: 8,
});
const JSON_HEADERS = { "content-type": "application/json" };

/** Rejects with an error of that name (by name: the classes did not exist before the fix). */
async function refuses(p: Promise<unknown>, name: string): Promise<Error> {
  let err: unknown;
  await assert.rejects(
    p,
    (e: unknown) => {
      err = e;
      return e instanceof Error && e.name === name;
    },
    `expected ${name}`,
  );
  return err as Error;
}

describe("ohttp attested client: encrypts only to an enclave the registry vouches for", function () {
  this.timeout(60_000);
  let anvil: DevChain;
  let dir: string;
  let deployment: Deployment;
  let ca: DevNitroCa;
  const validators: Validator[] = [];
  const closers: (() => Promise<void>)[] = [];
  const owner = () => devWallet(anvil, 0);
  const registry = () => deployment.contracts.GatewayRegistry;
  const enclaveOf = (key: Address) =>
    anvil.client.readContract({ address: registry(), abi: gatewayRegistryAbi, functionName: "enclave", args: [key] });

  /** A server holding `keys` behind /ohttp, and a relay in front of it; counts the ciphertexts it receives. */
  async function serve(keys: OhttpKeyPair) {
    const ohttp = await createOhttpGateway({ keys, backend: chatBackend(new LocalModel()), logger: silent });
    const app = createDemoApp({ backend: new LocalModel(), logger: silent, ohttp });
    const seen = { ohttp: 0 };
    const gw = await listen({
      fetch: (req: Request, env: unknown) => {
        if (new URL(req.url).pathname === "/ohttp") seen.ohttp++;
        return app.fetch(req, env as Parameters<typeof app.fetch>[1]); // the node server's env, passed on
      },
    });
    const relay = await listen(createRelayApp({ gatewayUrl: `http://127.0.0.1:${gw.port}`, logger: silent }));
    closers.push(gw.close, relay.close);
    return { keysUrl: `http://127.0.0.1:${gw.port}/ohttp-keys`, relayUrl: `http://127.0.0.1:${relay.port}/`, seen };
  }

  /**
   * An enclave: its signing key, its OHTTP keys and server, and an attestation document (dev CA)
   * binding the key by nitriding user_data and the key config by the proofpath tail. Registered
   * with `registeredKeyConfigHash` (default: its own) and its own measurement; approved by the
   * validators unless `approve` is false.
   */
  async function enclave(label: string, o: { approve?: boolean; registeredKeyConfigHash?: Hex } = {}) {
    const key = enclaveKeyPair();
    const keys = generateKeyPair({ keyId: 1 });
    const server = await serve(keys);
    const pcrs = devPcrs(label);
    const document = await buildDevEnclaveAttestation(ca, {
      enclavePublicKey: key.publicKey,
      pcrs,
      binding: "user_data",
      keyConfigHash: keys.hash,
    });
    await registerEnclave(anvil.client, {
      deployment,
      owner: owner(),
      enclave: privateKeyToAccount(key.privateKey) as LocalAccount,
      measurement: measurementOf(pcrs),
      attestationHash: attestationHash(document),
      keyConfigHash: o.registeredKeyConfigHash ?? keys.hash,
    });
    const approve = () =>
      approveEnclaveByValidators(anvil.client, {
        deployment,
        sender: owner(),
        enclave: key.address,
        document,
        publicKey: key.publicKey,
        validators: validators.map((v) => v.url),
        quorum: 2,
      });
    if (o.approve !== false) await approve();
    const clientFor = (extra: Partial<attested.AttestedOhttpClientOptions> = {}) =>
      attested.createAttestedOhttpClient({
        client: anvil.client,
        registry: registry(),
        enclave: key.address,
        keysUrl: server.keysUrl,
        relayUrl: server.relayUrl,
        ...extra,
      });
    return { key, keys, server, measurement: measurementOf(pcrs), document, approve, clientFor };
  }

  before(async () => {
    anvil = await startDevChain({ stderr: "inherit" });
    dir = mkdtempSync(path.join(tmpdir(), "pp-attested-"));
    const validatorKeys = [0, 1].map((i) => keccak256(toHex(`attested-client validator ${i} ${Date.now()}`)));
    deployment = await deployProofpath(owner(), anvil.client, {
      ...localDeployDefaults,
      validators: validatorKeys.map((k) => privateKeyToAccount(k).address),
      quorum: 2,
      challengeWindow: 30,
    });
    const deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, deployment);
    ca = await createDevNitroCa();
    const rootFile = path.join(dir, "dev-nitro-root.pem");
    writeFileSync(rootFile, ca.rootPem);
    for (const [i, k] of validatorKeys.entries()) {
      validators.push(
        await createValidator(
          {
            privateKey: k,
            daAllowPrivate: true,
            rpcUrl: anvil.url,
            deployment: deploymentFile,
            dataDir: path.join(dir, `v${i}`),
            port: await freePort(),
            pollIntervalMs: 3_600_000,
            finalize: false,
            claim: false,
            attestationRoot: rootFile,
          },
          { logger: silent },
        ),
      );
    }
  });

  after(async () => {
    for (const v of validators) await v.stop().catch(() => {});
    for (const c of closers) await c().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_approvedByValidators_nitridingUserDataBinding_clientTalksToEnclave_succeeds", async () => {
    const e = await enclave("happy path");
    const entry = await enclaveOf(e.key.address);
    assert.ok(entry.activeUntil > 0n, "approved from a document binding the key by user_data");
    assert.equal(entry.keyConfigHash, e.keys.hash);
    const client = await e.clientFor();
    assert.equal(client.keyConfigHash, e.keys.hash);
    assert.equal(client.trust.activeUntil, entry.activeUntil);
    assert.equal(client.trust.measurement, e.measurement);
    const r = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT);
    assert.equal(r.status, 200, r.text());
    assert.ok(r.json<{ choices: unknown[] }>().choices.length > 0);
    assert.equal(e.server.seen.ohttp, 1);
  });

  it("test_attack_serverRegisteredWithOwnKeyConfig_neverApproved_clientRefuses", async () => {
    // An ordinary server (no enclave, no attestation) registered under a key with its own key config.
    const server = generateKeyPair({ keyId: 1 });
    const srv = await serve(server);
    const key = enclaveKeyPair();
    await registerEnclave(anvil.client, {
      deployment,
      owner: owner(),
      enclave: privateKeyToAccount(key.privateKey) as LocalAccount,
      measurement: measurementOf(devPcrs("ordinary server")),
      attestationHash: keccak256(toHex("no attestation")),
      keyConfigHash: server.hash,
    });
    await refuses(
      attested.createAttestedOhttpClient({
        client: anvil.client,
        registry: registry(),
        enclave: key.address,
        keysUrl: srv.keysUrl,
        relayUrl: srv.relayUrl,
      }),
      "OhttpEnclaveNotApprovedError",
    );
    assert.equal(srv.seen.ohttp, 0, "nothing was encrypted to the server");
    // A key that is not registered at all.
    await refuses(
      attested.createAttestedOhttpClient({
        client: anvil.client,
        registry: registry(),
        enclave: enclaveKeyPair().address,
        keysUrl: srv.keysUrl,
        relayUrl: srv.relayUrl,
      }),
      "OhttpEnclaveNotRegisteredError",
    );
  });

  it("test_attack_serverKeyConfigRegisteredWithGenuineEnclaveDocument_validatorsRefuse_clientRefuses", async () => {
    // The operator runs a genuine enclave, but registers its server's key config beside the
    // enclave's document: the document's user_data binds the enclave's key config, not the server's.
    const server = generateKeyPair({ keyId: 1 });
    const e = await enclave("swapped key config", { approve: false, registeredKeyConfigHash: server.hash });
    const err = await refuses(e.approve(), "EnclaveApprovalError");
    assert.ok(
      err instanceof EnclaveApprovalError &&
        err.refusals.every((r) => r.error.startsWith("AttestationKeyConfigNotBoundError")),
      JSON.stringify((err as EnclaveApprovalError).refusals),
    );
    assert.equal((await enclaveOf(e.key.address)).activeUntil, 0n);
    const srv = await serve(server);
    await refuses(
      attested.createAttestedOhttpClient({
        client: anvil.client,
        registry: registry(),
        enclave: e.key.address,
        keysUrl: srv.keysUrl,
        relayUrl: srv.relayUrl,
      }),
      "OhttpEnclaveNotApprovedError",
    );
    assert.equal(srv.seen.ohttp, 0);
  });

  it("test_attack_gatewayServesAnotherKeyConfig_clientRefuses", async () => {
    const e = await enclave("served config swapped");
    const other = await serve(generateKeyPair({ keyId: 1 }));
    await refuses(e.clientFor({ keysUrl: other.keysUrl, relayUrl: other.relayUrl }), "OhttpKeyConfigMismatchError");
    assert.equal(other.seen.ohttp, 0);
  });

  it("test_attack_approvedThenMeasurementRevoked_clientRefusesWithinRecheckInterval", async () => {
    const e = await enclave("image later revoked");
    const client = await e.clientFor({ recheckIntervalMs: 300 });
    assert.equal((await client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT)).status, 200);
    const hash = await owner().writeContract({
      address: registry(),
      abi: gatewayRegistryAbi,
      functionName: "revokeMeasurement",
      args: [e.measurement],
    });
    await anvil.client.waitForTransactionReceipt({ hash });
    await delay(350); // the cached verdict is older than recheckIntervalMs
    const err = await refuses(
      client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT),
      "OhttpMeasurementNotAllowedError",
    );
    assert.equal((err as attested.OhttpMeasurementNotAllowedError).status, "revoked");
    await refuses(e.clientFor(), "OhttpMeasurementNotAllowedError");
    assert.equal(e.server.seen.ohttp, 1, "nothing encrypted after the revocation");
  });

  it("test_attack_approvedThenSlashed_clientRefuses", async () => {
    const e = await enclave("slashed gateway");
    const client = await e.clientFor({ recheckIntervalMs: 0 });
    assert.equal((await client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT)).status, 200);
    // What ProofSettlement does on a proven equivocation: GatewayRegistry.slash, from the settlement.
    const settlement = deployment.contracts.ProofSettlement;
    await anvil.test.impersonateAccount({ address: settlement });
    await anvil.test.setBalance({ address: settlement, value: 10n ** 18n });
    const asSettlement = createWalletClient({ chain: foundry, transport: http(anvil.url), account: settlement });
    const hash = await asSettlement.writeContract({
      address: registry(),
      abi: gatewayRegistryAbi,
      functionName: "slash",
      args: [e.key.address, devAccount(5).address],
    });
    assert.equal((await anvil.client.waitForTransactionReceipt({ hash })).status, "success");
    await anvil.test.stopImpersonatingAccount({ address: settlement });
    assert.equal((await enclaveOf(e.key.address)).slashed, true);
    await refuses(client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT), "OhttpEnclaveSlashedError");
    await refuses(e.clientFor(), "OhttpEnclaveSlashedError");
    assert.equal(e.server.seen.ohttp, 1);
  });

  it("test_attack_approvalEndingWithinMargin_cachedVerdictBoundByActiveUntil_clientRefuses", async () => {
    const e = await enclave("approval ending");
    const { activeUntil } = await enclaveOf(e.key.address);
    // The client's clock: now, then 4 minutes before activeUntil (inside the 5-minute margin). The
    // recheck interval is an hour: only the activeUntil bound makes the client look again.
    let clock = Date.now();
    const client = await e.clientFor({ recheckIntervalMs: 3_600_000, now: () => clock });
    assert.equal((await client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT)).status, 200);
    clock = Number(activeUntil - 240n) * 1000;
    const err = await refuses(
      client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT),
      "OhttpEnclaveExpiredError",
    );
    assert.equal((err as attested.OhttpEnclaveExpiredError).activeUntil, activeUntil);
    assert.match(err.message, /within the 300 s margin/);
    // A configurable margin: with 60 s the same moment is still fine.
    const lenient = await e.clientFor({ activeMarginSec: 60, now: () => clock });
    assert.equal(lenient.trust.activeUntil, activeUntil);
    assert.equal(e.server.seen.ohttp, 1);
  });

  // Last: it moves the chain's clock past every approval of this suite.
  it("test_attack_approvedThenExpiredOnChain_clientRefuses", async () => {
    const e = await enclave("approval expired");
    const client = await e.clientFor({ recheckIntervalMs: 0 });
    assert.equal((await client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT)).status, 200);
    const { activeUntil } = await enclaveOf(e.key.address);
    await anvil.test.setNextBlockTimestamp({ timestamp: activeUntil + 1n });
    await anvil.test.mine({ blocks: 1 });
    assert.equal(
      await anvil.client.readContract({
        address: registry(),
        abi: gatewayRegistryAbi,
        functionName: "isActive",
        args: [e.key.address],
      }),
      false,
    );
    const err = await refuses(
      client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT),
      "OhttpEnclaveExpiredError",
    );
    assert.match(err.message, /approval ended at/);
    await refuses(e.clientFor(), "OhttpEnclaveExpiredError");
    assert.equal(e.server.seen.ohttp, 1);
  });
});
