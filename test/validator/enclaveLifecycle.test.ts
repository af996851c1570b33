/**
 * An enclave key's life on the registry, driven as an operator would: `proofpath enclave register |
 * approve | reattest` (the real CLI process) against real validators that verify dev-CA documents,
 * and the attestation heartbeat (issue 18 item 3): before an enclave key's `activeUntil` comes near, the
 * gateway fetches a fresh document from nitriding's endpoint, re-attests on-chain and gathers a
 * validator quorum's approvals by itself; the key's activeUntil moves on. A source that serves a
 * document the validators refuse (another key's) leaves the key active until its old activeUntil and
 * reports the failure; the nitriding client refuses bad answers by name.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pino from "pino";
import { createWalletClient, http, keccak256, toHex, type Address, type Hex, type LocalAccount } from "viem";
import { cli, cliJson } from "../helpers/cli.js";
import { devAccount, devPrivateKey, freePort } from "../../tools/devchain.js";
import { waitFor } from "../../tools/waitFor.js";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { gatewayRegistryAbi } from "../../sdk/abis.js";
import { approveEnclaveByValidators, registerEnclave } from "../../gateway/registration.js";
import { AttestationHeartbeat } from "../../gateway/attest/heartbeat.js";
import { nitridingAttestationSource } from "../../gateway/attest/source.js";
import { AttestationSourceError } from "../../gateway/errors.js";
import { measurementOf } from "../../validator/attestation/index.js";
import { buildDevEnclaveAttestation, createDevNitroCa, devPcrs, type DevNitroCa } from "./helpers/nitro.js";
import { createValidator, type Validator } from "../../validator/index.js";
import { enclaveKeyPair } from "./helpers/nitro.js";
import { startTestNet, type TestNet } from "./helpers/setup.js";

/** A stand-in for nitriding's `GET /enclave/attestation?nonce=` answering with `answer(nonce)`. */
async function nitriding(answer: (nonceHex: string) => Promise<{ status: number; body: string; location?: string }>) {
  const nonces: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const nonce = url.searchParams.get("nonce") ?? "";
    if (url.pathname !== "/enclave/attestation" || !/^[0-9a-f]{40}$/.test(nonce)) {
      res.writeHead(400).end("bad request");
      return;
    }
    nonces.push(nonce);
    const a = await answer(nonce);
    res.writeHead(a.status, a.location ? { location: a.location } : {}).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    nonces,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("enclave lifecycle: operator CLI and the attestation heartbeat", function () {
  this.timeout(90_000);
  let net: TestNet;
  let ca: DevNitroCa;
  const validators: Validator[] = [];
  const pcrs = devPcrs("heartbeat-test");
  const measurement = measurementOf(pcrs);
  const owner = () => createWalletClient({ chain: foundry, transport: http(net.anvil.url), account: devAccount(0) });
  const enclaveOf = (key: Address) =>
    net.anvil.client.readContract({
      address: net.deployment.contracts.GatewayRegistry,
      abi: gatewayRegistryAbi,
      functionName: "enclave",
      args: [key],
    }) as Promise<{ activeUntil: bigint; attestationHash: Hex; approvalNonce: bigint }>;
  const docFor = (publicKey: Hex, keyConfigHash: Hex) =>
    buildDevEnclaveAttestation(ca, { enclavePublicKey: publicKey, pcrs, keyConfigHash });

  /** A registered key approved once through the validators. */
  async function activeKey() {
    const key = enclaveKeyPair();
    const keyConfigHash = keccak256(toHex(`key config of ${key.address}`));
    const document = await docFor(key.publicKey, keyConfigHash);
    await registerEnclave(net.anvil.client, {
      deployment: net.deployment,
      owner: owner(),
      enclave: privateKeyToAccount(key.privateKey) as LocalAccount,
      measurement,
      attestationHash: keccak256(document),
      keyConfigHash,
    });
    await approveEnclaveByValidators(net.anvil.client, {
      deployment: net.deployment,
      sender: owner(),
      enclave: key.address,
      document,
      validators: validators.map((v) => v.url),
      quorum: 2,
    });
    return { key, keyConfigHash };
  }

  const heartbeat = (enclave: Address, sourceUrl: string, marginSec: number) =>
    new AttestationHeartbeat({
      pub: net.anvil.client,
      deployment: net.deployment,
      operator: owner(),
      enclave,
      source: nitridingAttestationSource(sourceUrl),
      validators: validators.map((v) => v.url),
      quorum: 2,
      marginSec,
      checkEveryMs: 100,
      retryMs: 100,
    });

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

  it("test_heartbeat_activeUntilWithinMargin_reattestsAndQuorumApprovesAgainByItself_succeeds", async () => {
    const { key, keyConfigHash } = await activeKey();
    const before = await enclaveOf(key.address);
    let served: Uint8Array | undefined;
    const source = await nitriding(async () => {
      served = await docFor(key.publicKey, keyConfigHash);
      return { status: 200, body: Buffer.from(served).toString("base64") };
    });
    try {
      // Far from activeUntil: a check renews nothing and asks the enclave for nothing.
      assert.equal(await heartbeat(key.address, source.url, 60).beat(), false);
      assert.equal(source.nonces.length, 0);
      // Chain time moves on; with activeUntil inside the margin, the running heartbeat renews.
      await net.anvil.test.increaseTime({ seconds: 120 });
      await net.anvil.test.mine({ blocks: 1 });
      const hb = heartbeat(key.address, source.url, 30 * 86_400).start();
      await waitFor("a renewal", () => hb.status.renewals >= 1, 30_000, 50);
      await hb.stop();
      const after = await enclaveOf(key.address);
      assert.ok(after.activeUntil >= before.activeUntil + 120n, `${after.activeUntil} vs ${before.activeUntil}`);
      assert.equal(after.attestationHash, keccak256(served!), "the registry holds the fresh document's hash");
      assert.ok(after.approvalNonce > before.approvalNonce);
      assert.equal(hb.status.failures, 0, hb.status.lastError);
      assert.ok(source.nonces.length >= 1 && new Set(source.nonces).size === source.nonces.length, "fresh nonces");
    } finally {
      await source.close();
    }
  });

  it("test_heartbeat_sourceServesAnotherKeysDocument_validatorsRefuse_keyStaysActiveAndFailureReported", async () => {
    const { key, keyConfigHash } = await activeKey();
    const stranger = enclaveKeyPair();
    const before = await enclaveOf(key.address);
    const source = await nitriding(async () => ({
      status: 200,
      body: Buffer.from(await docFor(stranger.publicKey, keyConfigHash)).toString("base64"),
    }));
    try {
      const hb = heartbeat(key.address, source.url, 30 * 86_400).start();
      await waitFor("two failed rounds", () => hb.status.failures >= 2, 30_000, 50);
      await hb.stop();
      assert.equal(hb.status.renewals, 0);
      assert.match(hb.status.lastError ?? "", /approv/i);
      const after = await enclaveOf(key.address);
      assert.equal(after.activeUntil, before.activeUntil, "no approval: activeUntil unchanged");
      const active = await net.anvil.client.readContract({
        address: net.deployment.contracts.GatewayRegistry,
        abi: gatewayRegistryAbi,
        functionName: "isActive",
        args: [key.address],
      });
      assert.equal(active, true, "the key stays active until its old activeUntil");
    } finally {
      await source.close();
    }
  });

  it("test_nitridingSource_redirectErrorOrNotBase64_refusedByName_reverts", async () => {
    const nonce = new Uint8Array(20).fill(7);
    for (const [answer, pattern] of [
      [{ status: 302, body: "", location: "http://169.254.169.254/" }, /unreachable|redirect/i],
      [{ status: 500, body: "nsm down" }, /HTTP 500: nsm down/],
      [{ status: 200, body: "<html>not a document</html>" }, /not a Base64 attestation document/],
      [{ status: 200, body: "A".repeat(200_000) }, /not a Base64 attestation document/],
    ] as const) {
      const s = await nitriding(async () => answer);
      try {
        await assert.rejects(
          nitridingAttestationSource(s.url).fetch(nonce),
          (e: unknown) => e instanceof AttestationSourceError && pattern.test(e.message) && e.url.startsWith(s.url),
        );
      } finally {
        await s.close();
      }
    }
    await assert.rejects(nitridingAttestationSource("http://127.0.0.1:1").fetch(new Uint8Array(19)), /20 bytes/);
  });

  it("test_enclaveCli_registerApproveReattest_fromDocumentsAndTheKeysSignature_succeeds", async () => {
    const key = enclaveKeyPair();
    const keyConfigHash = keccak256(toHex(`cli key config ${key.address}`));
    const doc1 = await docFor(key.publicKey, keyConfigHash);
    const file1 = path.join(net.dir, "doc1.b64");
    writeFileSync(file1, Buffer.from(doc1).toString("base64")); // as nitriding serves it
    const env = {
      PROOFPATH_OPERATOR_DEPLOYMENT: net.deploymentFile,
      PROOFPATH_OPERATOR_RPC_URL: net.anvil.url,
      PROOFPATH_OPERATOR_PRIVATE_KEY: devPrivateKey(0),
    };
    const registry = net.deployment.contracts.GatewayRegistry;
    const status = (await net.anvil.client.readContract({
      address: registry,
      abi: gatewayRegistryAbi,
      functionName: "measurementStatus",
      args: [measurement],
    })) as number;
    if (status === 0)
      await net.anvil.client.waitForTransactionReceipt({
        hash: await owner().writeContract({
          address: registry,
          abi: gatewayRegistryAbi,
          functionName: "allowMeasurement",
          args: [measurement],
        }),
      });
    const reg = ["enclave", "register", key.address, "--document", file1, "--key-config-hash", keyConfigHash];
    // Without the key's signature: the digest the enclave must sign, and nothing sent.
    const ask = await cli([...reg, "--bond", "1000"], env);
    assert.equal(ask.code, 2, ask.stderr);
    const digest = /digest (0x[0-9a-f]{64})/.exec(ask.stderr)?.[1] as Hex | undefined;
    assert.ok(digest, ask.stderr);
    const sig = await privateKeyToAccount(key.privateKey).sign({ hash: digest });
    const withSig = [...reg, "--bond", "1000", "--key-signature", sig];
    const dry = cliJson<{ dryRun: boolean; transactions: { function: string }[] }>(
      await cli([...withSig, "--dry-run", "--json"], env),
    );
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.transactions.map((t) => t.function).slice(-1), ["GatewayRegistry.registerEnclave"]);
    assert.equal((await enclaveOf(key.address)).activeUntil, 0n, "a dry run sends nothing");
    const done = await cli(withSig, env);
    assert.equal(done.code, 0, done.stderr);
    assert.equal((await enclaveOf(key.address)).attestationHash, keccak256(doc1));

    const urls = validators.map((v) => v.url).join(",");
    const ok = await cli(["enclave", "approve", key.address, "--document", file1, "--validators", urls], env);
    assert.equal(ok.code, 0, ok.stderr);
    const first = await enclaveOf(key.address);
    assert.ok(first.activeUntil > 0n, "approved: active");

    // A fresh document: reattest commits to it; approvals for the old one are refused by name.
    const doc2 = await docFor(key.publicKey, keyConfigHash);
    const file2 = path.join(net.dir, "doc2.cbor");
    writeFileSync(file2, doc2);
    const re = await cli(["enclave", "reattest", key.address, "--document", file2], env);
    assert.equal(re.code, 0, re.stderr);
    const after = await enclaveOf(key.address);
    assert.equal(after.attestationHash, keccak256(doc2));
    assert.ok(after.approvalNonce > first.approvalNonce);
    const stale = await cli(["enclave", "approve", key.address, "--document", file1, "--validators", urls], env);
    assert.equal(stale.code, 1, stale.stdout + stale.stderr);
    assert.match(stale.stderr, /0 of 2 validators approved/);
    await net.anvil.test.increaseTime({ seconds: 60 });
    await net.anvil.test.mine({ blocks: 1 });
    const again = await cli(["enclave", "approve", key.address, "--document", file2, "--validators", urls], env);
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await enclaveOf(key.address)).activeUntil > first.activeUntil, "approved again, later");

    const bad = await cli(["enclave", "reattest", key.address, "--document", path.join(net.dir, "missing")], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--document: cannot read/);
  });
});
