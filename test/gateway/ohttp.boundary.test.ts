/**
 * The privacy boundary over real HTTP: OHTTP client (sdk) → relay (its own server) → demo TEE
 * gateway /ohttp. Bad input is refused with clear problem responses; the relay forwards no client
 * identity and logs none; the key config is bound by the registry; and a user goes from their own
 * request/response bytes to a finalized on-chain proof with the SDK alone (real anvil, the
 * settlement hook, a 3-validator quorum).
 */
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { Writable } from "node:stream";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { keccak256, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  MEDIA_TYPE_OHTTP_REQUEST,
  OhttpKeyConfigMismatchError,
  OhttpRelayError,
  createOhttpClient,
  encapsulateRequest,
  encodeRequest,
  generateKeyPair,
  importClientKey,
  type OhttpKeyPair,
} from "../../sdk/ohttp/index.js";
import {
  OhttpEnclaveNotRegisteredError,
  createAttestedOhttpClient,
  readKeyConfigHash,
} from "../../sdk/ohttp/registry.js";
import { fetchCallReceipt, verifyCallOnChain } from "../../sdk/ohttp/proof.js";
import { deployProofpath, localDeployDefaults } from "../../tools/deploy.js";
import { writeDeployment } from "../../sdk/deployment.js";
import { createSettlementHook, listen, registerEnclave, type SettlementHook } from "../../gateway/index.js";
import { createDemoApp } from "../../gateway/demo/server.js";
import { LocalModel } from "../../gateway/demo/backend.js";
import { createOhttpGateway } from "../../gateway/ohttp/enclave.js";
import { chatBackend } from "../../gateway/demo/ohttpBackend.js";
import { RELAY_USER_AGENT, createRelayApp } from "../../gateway/ohttp/relay.js";
import { PROBLEM_OHTTP_KEY } from "../../gateway/ohttp/problem.js";
import { createValidator, type Validator } from "../../validator/index.js";
import { devPrivateKey, freePort, startDevChain, type DevChain, devWallet } from "../../tools/devchain.js";
import { meshPeers } from "../validator/helpers/setup.js";
import { waitFor } from "../../tools/waitFor.js";

const silent = pino({ level: "silent" });
const CHAT = JSON.stringify({
  model: "proofpath-local-1",
  messages: [{ role: "user", content: "who can read this?" }],
  max_tokens: 16,
});
const JSON_HEADERS = { "content-type": "application/json" };

/** A pino logger whose lines are kept in memory. */
function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

async function encapsulate(keys: OhttpKeyPair, body = CHAT): Promise<Uint8Array> {
  const bhttp = encodeRequest({
    method: "POST",
    scheme: "https",
    authority: "gw",
    path: "/v1/chat/completions",
    headers: [
      ["content-type", "application/json"],
      ["date", new Date().toUTCString()],
    ],
    content: new TextEncoder().encode(body),
  });
  return (await encapsulateRequest(importClientKey(keys.encodedConfig), bhttp)).encapsulatedRequest;
}

describe("ohttp boundary: errors, relay, key binding (no chain)", function () {
  this.timeout(30_000);
  const closers: (() => Promise<void>)[] = [];
  let keys: OhttpKeyPair;
  let gwUrl: string;
  let relayUrl: string;
  const relayLog = capturedLogger();

  before(async () => {
    keys = generateKeyPair({ keyId: 7 });
    const ohttp = await createOhttpGateway({
      keys,
      backend: chatBackend(new LocalModel()),
      logger: silent,
      maxBodyBytes: 4096,
    });
    const gw = await listen(createDemoApp({ backend: new LocalModel(), logger: silent, ohttp }));
    gwUrl = `http://127.0.0.1:${gw.port}`;
    const relay = await listen(createRelayApp({ gatewayUrl: gwUrl, logger: relayLog.logger }));
    relayUrl = `http://127.0.0.1:${relay.port}/`;
    closers.push(gw.close, relay.close);
  });
  after(async () => {
    for (const c of closers) await c();
  });

  const post = (
    url: string,
    body: Uint8Array,
    headers: Record<string, string> = { "content-type": MEDIA_TYPE_OHTTP_REQUEST },
  ) => fetch(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
  const problemOf = async (res: Response) => {
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    return (await res.json()) as { type: string; title: string; status: number; detail: string };
  };

  it("test_ohttp_roundTripThroughRelay_answersWithCiphertextHashes_succeeds", async () => {
    const keysRes = await fetch(`${gwUrl}/ohttp-keys`);
    assert.equal(keysRes.headers.get("content-type"), "application/ohttp-keys");
    const client = createOhttpClient({ keyConfig: keys.encodedConfig, expectedKeyConfigHash: keys.hash, relayUrl });
    const res = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT);
    assert.equal(res.status, 200);
    const plain = await (
      await fetch(`${gwUrl}/v1/chat/completions`, { method: "POST", headers: JSON_HEADERS, body: CHAT })
    ).json();
    const j = res.json<{ choices: { message: { content: string } }[] }>();
    assert.equal(
      j.choices[0]!.message.content,
      (plain as typeof j).choices[0]!.message.content,
      "same fast path as the plain endpoint",
    );
    assert.equal(res.requestHash, keccak256(res.encapsulatedRequest));
    // An inner error travels encrypted: the relay sees a 200 either way.
    const bad = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, '{"model":1}');
    assert.equal(bad.status, 400);
    assert.match(bad.text(), /invalid_request_error/);
  });

  it("test_ohttp_tamperedCiphertext_400Decrypt_reverts", async () => {
    const req = await encapsulate(keys);
    req[req.length - 5]! ^= 0x01;
    const res = await post(`${gwUrl}/ohttp`, req);
    assert.equal(res.status, 400);
    const p = await problemOf(res);
    assert.match(p.type, /ohttp\/decrypt$/);
    assert.match(p.title, /could not be decrypted/);
    // Through the relay the client sees the same problem (and the SDK a typed error).
    const viaRelay = await post(relayUrl, req);
    assert.equal(viaRelay.status, 400);
    assert.match((await problemOf(viaRelay)).type, /ohttp\/decrypt$/);
  });

  it("test_ohttp_wrongKeyId_400OhttpKeyProblem_reverts", async () => {
    const other = generateKeyPair({ keyId: 9 });
    const res = await post(`${gwUrl}/ohttp`, await encapsulate(other));
    assert.equal(res.status, 400);
    const p = await problemOf(res);
    assert.equal(p.type, PROBLEM_OHTTP_KEY);
    assert.match(p.detail, /Unknown OHTTP key id 9/);
    const client = createOhttpClient({ keyConfig: other.encodedConfig, relayUrl });
    await assert.rejects(
      client.request("POST", "/v1/chat/completions", JSON_HEADERS, CHAT),
      (e: unknown) => e instanceof OhttpRelayError && e.status === 400,
    );
  });

  it("test_ohttp_replayedRequest_400Replay_reverts", async () => {
    const req = await encapsulate(keys);
    const first = await post(relayUrl, req);
    assert.equal(first.status, 200);
    const again = await post(relayUrl, req);
    assert.equal(again.status, 400);
    const p = await problemOf(again);
    assert.match(p.type, /ohttp\/replay$/);
    assert.match(p.detail, /Replayed OHTTP request rejected/);
  });

  it("test_ohttp_oversizedBody_413_reverts", async () => {
    const big = await encapsulate(
      keys,
      JSON.stringify({ model: "m", messages: [{ role: "user", content: "x".repeat(5000) }] }),
    );
    const res = await post(`${gwUrl}/ohttp`, big);
    assert.equal(res.status, 413);
    assert.match((await problemOf(res)).detail, /exceeds 4096 bytes/);
    // Chunked (no content-length): cut off while reading, same answer.
    const chunked = await fetch(`${gwUrl}/ohttp`, {
      method: "POST",
      headers: { "content-type": MEDIA_TYPE_OHTTP_REQUEST },
      duplex: "half",
      body: new ReadableStream({
        start(c) {
          c.enqueue(big.slice(0, 3000));
          c.enqueue(big.slice(3000));
          c.close();
        },
      }),
    } as RequestInit);
    assert.equal(chunked.status, 413);
  });

  it("test_ohttp_malformedInput_4xxNever5xx_reverts", async () => {
    for (const body of [
      new Uint8Array(0),
      new Uint8Array([7]),
      new Uint8Array(40),
      (await encapsulate(keys)).slice(0, 50),
    ]) {
      const res = await post(`${gwUrl}/ohttp`, body);
      assert.equal(res.status, 400, `${body.length} bytes`);
      await problemOf(res);
    }
    const wrongType = await post(`${gwUrl}/ohttp`, await encapsulate(keys), { "content-type": "application/json" });
    assert.equal(wrongType.status, 415);
  });

  it("test_relay_clientIdentity_notForwardedNotLogged_succeeds", async () => {
    const seen: { headers: IncomingHttpHeaders; raw: string[]; body: Buffer }[] = [];
    const upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        seen.push({ headers: req.headers, raw: req.rawHeaders, body: Buffer.concat(chunks) });
        res.writeHead(200, { "content-type": "message/ohttp-res", "set-cookie": "gw=1", "x-gateway-secret": "s" });
        res.end(Buffer.from("opaque"));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const { logger, lines } = capturedLogger();
    const relay = await listen(
      createRelayApp({ gatewayUrl: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`, logger }),
    );
    try {
      const body = await encapsulate(keys);
      const identity = {
        "x-forwarded-for": "203.0.113.77",
        forwarded: "for=203.0.113.77;proto=https",
        "x-real-ip": "203.0.113.78",
        cookie: "session=alice-cookie-123",
        authorization: "Bearer alice-token-456",
        "user-agent": "AliceBrowser/9.9 (unique-fingerprint-789)",
        "x-client-id": "alice-device-42",
        via: "1.1 alice-proxy",
      };
      const res = await post(`http://127.0.0.1:${relay.port}/ohttp`, body, {
        "content-type": MEDIA_TYPE_OHTTP_REQUEST,
        ...identity,
      });
      assert.equal(res.status, 200);
      assert.equal(Buffer.from(await res.arrayBuffer()).toString(), "opaque");
      assert.equal(res.headers.get("set-cookie"), null, "gateway headers are not passed back either");
      assert.equal(res.headers.get("x-gateway-secret"), null);

      assert.equal(seen.length, 1);
      const up = seen[0]!;
      assert.deepEqual(Buffer.compare(up.body, Buffer.from(body)), 0, "bytes forwarded unchanged");
      const names = Object.keys(up.headers).sort();
      assert.deepEqual(
        names.filter((n) => !["host", "connection"].includes(n)),
        ["content-length", "content-type", "user-agent"],
      );
      assert.equal(up.headers["user-agent"], RELAY_USER_AGENT);
      assert.equal(up.headers["content-type"], MEDIA_TYPE_OHTTP_REQUEST);
      // Host is the gateway's own address (on loopback also 127.0.0.1): everything else must carry nothing of the client.
      const pairs: string[][] = [];
      for (let i = 0; i < up.raw.length; i += 2) pairs.push([up.raw[i]!, up.raw[i + 1]!]);
      const upstreamText = pairs
        .filter(([n]) => n!.toLowerCase() !== "host")
        .flat()
        .join("\n");
      const relayLog = lines.join("");
      assert.ok(lines.length >= 1, "the relay logged the call");
      for (const v of [...Object.values(identity), "203.0.113", "127.0.0.1", "alice"]) {
        assert.ok(!upstreamText.includes(v), `upstream saw ${v}`);
        assert.ok(!relayLog.includes(v), `relay log has ${v}`);
      }
      const entry = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(entry)
          .filter((k) => !["level", "time", "pid", "hostname", "msg"].includes(k))
          .sort(),
        ["bytesIn", "bytesOut", "ms", "status"],
      );
      // pino's default base fields are the relay's own host, not the client's; nothing else is logged.
      assert.ok(!relayLog.includes("forwarded") && !relayLog.includes("cookie") && !relayLog.includes("authorization"));
      assert.ok(!relayLog.includes("AliceBrowser"), "also not in the already-filtered relay log lines");
    } finally {
      await relay.close();
      await new Promise<void>((r) => upstream.close(() => r()));
    }
    // The real relay in front of the real gateway logged none of the earlier tests' clients either.
    assert.ok(!relayLog.lines.join("").includes("127.0.0.1"));
  });

  it("test_relay_nonOhttpOrOversized_refusedWithoutForwarding_reverts", async () => {
    const r1 = await post(relayUrl, new Uint8Array([1, 2, 3]), { "content-type": "text/plain" });
    assert.equal(r1.status, 415);
    const relay = await listen(createRelayApp({ gatewayUrl: gwUrl, logger: silent, maxBodyBytes: 64 }));
    try {
      const r2 = await post(`http://127.0.0.1:${relay.port}/`, await encapsulate(keys));
      assert.equal(r2.status, 413);
    } finally {
      await relay.close();
    }
  });

  it("test_client_keyConfigNotMatchingExpectedHash_refused_reverts", () => {
    const other = generateKeyPair({ keyId: 7 });
    assert.throws(
      () => createOhttpClient({ keyConfig: other.encodedConfig, expectedKeyConfigHash: keys.hash, relayUrl }),
      OhttpKeyConfigMismatchError,
    );
  });
});

describe("ohttp boundary: from the user's own bytes to a finalized proof (anvil, hook, 3 validators)", function () {
  this.timeout(180_000);
  let anvil: DevChain;
  let dir: string;
  let hook: SettlementHook | undefined;
  const validators: Validator[] = [];
  const closers: (() => Promise<void>)[] = [];

  after(async () => {
    for (const v of validators) await v.stop().catch(() => {});
    for (const c of closers) await c().catch(() => {});
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_user_ownRequestAndResponse_toFinalizedOnChainProof_succeeds", async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    dir = mkdtempSync(path.join(tmpdir(), "pp-ohttp-"));
    const owner = devWallet(anvil, 0);
    const validatorKeys = [2, 3, 4].map(devPrivateKey); // funded dev accounts: validators send their own transactions
    const validatorAccounts = validatorKeys.map((k) => privateKeyToAccount(k));
    const deployment = await deployProofpath(owner, anvil.client, {
      ...localDeployDefaults,
      validators: validatorAccounts.map((a) => a.address),
      quorum: 2,
      challengeWindow: 3,
    });
    const deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, deployment);
    const registry = deployment.contracts.GatewayRegistry;

    // The enclave: its signing key and its OHTTP key, bound together in the registry entry.
    const enclaveKey = generatePrivateKey();
    const enclave = privateKeyToAccount(enclaveKey);
    const ohttpKeys = generateKeyPair({ keyId: 1 });
    await registerEnclave(anvil.client, {
      deployment,
      owner,
      enclave,
      validators: validatorAccounts,
      keyConfigHash: ohttpKeys.hash,
    });
    assert.equal(await readKeyConfigHash(anvil.client, registry, enclave.address), ohttpKeys.hash);

    const gwPort = await freePort(); // known before the hook starts: it is in every header's daURI
    const gwUrl = `http://127.0.0.1:${gwPort}`;
    hook = await createSettlementHook({
      store: path.join(dir, "gw.db"),
      enclaveKey,
      relayerKey: devPrivateKey(1),
      rpcUrl: anvil.url,
      deployment: deploymentFile,
      daBaseUrl: `${gwUrl}/da`,
      batch: { maxCalls: 8, maxAgeMs: 200 },
      confirmations: 1,
      pollMs: 100,
      synchronous: "normal",
      logger: silent,
    });
    const ohttp = await createOhttpGateway({
      keys: ohttpKeys,
      backend: chatBackend(new LocalModel()),
      hook,
      logger: silent,
    });
    const gw = await listen(createDemoApp({ backend: new LocalModel(), hook, logger: silent, ohttp }), gwPort);
    const relay = await listen(createRelayApp({ gatewayUrl: gwUrl, logger: silent }));
    closers.push(relay.close, gw.close);

    const ports = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) {
      validators.push(
        await createValidator(
          {
            privateKey: validatorKeys[i]!,
            daAllowPrivate: true,
            rpcUrl: anvil.url,
            deployment: deploymentFile,
            dataDir: path.join(dir, `v${i}`),
            port: ports[i]!,
            peers: meshPeers(ports, i),
            pollIntervalMs: 200,
            confirmations: 0,
            submitStaggerMs: 300,
            claim: false,
          },
          { logger: silent },
        ),
      );
    }

    // A key config that the registry does not bind is refused before anything is encrypted.
    const impostor = await createOhttpGateway({
      keys: generateKeyPair({ keyId: 1 }),
      backend: chatBackend(new LocalModel()),
      logger: silent,
    });
    const fake = await listen(createDemoApp({ backend: new LocalModel(), logger: silent, ohttp: impostor }));
    closers.push(fake.close);
    await assert.rejects(
      createAttestedOhttpClient({
        client: anvil.client,
        registry,
        enclave: enclave.address,
        keysUrl: `http://127.0.0.1:${fake.port}/ohttp-keys`,
        relayUrl: `http://127.0.0.1:${relay.port}/`,
      }),
      OhttpKeyConfigMismatchError,
    );
    await assert.rejects(
      createAttestedOhttpClient({
        client: anvil.client,
        registry,
        enclave: privateKeyToAccount(generatePrivateKey()).address,
        keysUrl: `${gwUrl}/ohttp-keys`,
        relayUrl: `http://127.0.0.1:${relay.port}/`,
      }),
      OhttpEnclaveNotRegisteredError,
    );

    // ---- the user, with the SDK only: encrypt, send via the relay, keep the two ciphertexts.
    const client = await createAttestedOhttpClient({
      client: anvil.client,
      registry,
      enclave: enclave.address,
      keysUrl: `${gwUrl}/ohttp-keys`,
      relayUrl: `http://127.0.0.1:${relay.port}/`,
    });
    const calls = [];
    for (let i = 0; i < 3; i++) {
      const body = JSON.stringify({
        model: "proofpath-local-1",
        messages: [{ role: "user", content: `private question ${i}` }],
      });
      const r = await client.request("POST", "/v1/chat/completions", JSON_HEADERS, body);
      assert.equal(r.status, 200);
      calls.push({ encapsulatedRequest: r.encapsulatedRequest, encapsulatedResponse: r.encapsulatedResponse });
    }
    const mine = calls[1]!;

    // keccak of my bytes → my receipt → its proof → verifyReceipt on-chain → Finalized.
    const requestHash: Hex = keccak256(mine.encapsulatedRequest);
    const last = await waitFor(
      "my call finalized",
      async () => {
        const found = await fetchCallReceipt(`${gwUrl}/da`, requestHash);
        if (!found?.header) throw new Error(`not sealed yet: ${JSON.stringify(found ?? null)}`);
        const v = await verifyCallOnChain(anvil.client, deployment.contracts.ProofSettlement, mine, found);
        if (v.status !== "Finalized") throw new Error(`status ${v.status}`);
        return v;
      },
      90_000,
      300,
    );
    assert.equal(last.included, true);
    assert.equal(last.final, true);
    assert.equal(last.receipt.requestHash, requestHash);
    assert.equal(last.receipt.responseHash, keccak256(mine.encapsulatedResponse));
    assert.equal(last.receipt.gateway, enclave.address);

    // Someone else's bytes do not match my receipt.
    const found = (await fetchCallReceipt(`${gwUrl}/da`, requestHash))!;
    await assert.rejects(
      verifyCallOnChain(
        anvil.client,
        deployment.contracts.ProofSettlement,
        { ...mine, encapsulatedResponse: calls[0]!.encapsulatedResponse },
        found,
      ),
      /responseHash/,
    );
    // A tampered receipt fails on-chain.
    const forged = { ...found, receipt: { ...found.receipt, outputTokens: found.receipt.outputTokens + 1 } };
    assert.equal(
      (await verifyCallOnChain(anvil.client, deployment.contracts.ProofSettlement, mine, forged)).included,
      false,
    );
    assert.equal((await fetch(`${gwUrl}/da/receipts/by-request/${keccak256(toHex("nobody"))}`)).status, 404);
    assert.equal((await fetch(`${gwUrl}/da/receipts/by-request/0x12`)).status, 400);
  });
});
