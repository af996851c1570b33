/**
 * The demo TEE gateway over real HTTP: deterministic local model, an OpenAI-compatible upstream
 * (a second demo gateway), receipts recorded after the response with hashes over the exact bytes
 * the user holds, settled on anvil and served with their proof under /da.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { keccak256 } from "viem";
import { startDevChain, freePort, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";
import { testHook } from "./helpers/hookRun.js";
import { listen, type SettlementHook } from "../../gateway/index.js";
import { createDemoApp } from "../../gateway/demo/server.js";
import { LocalModel, OpenAICompatible } from "../../gateway/demo/backend.js";
import { modelIdOf } from "../../gateway/demo/fastPath.js";
import { verifyProof } from "../../sdk/merkle.js";
import { waitFor } from "../../tools/waitFor.js";

describe("demo TEE gateway", function () {
  this.timeout(120_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let hook: SettlementHook;
  const servers: { close(): Promise<void> }[] = [];

  before(async () => {
    anvil = await startDevChain({ blockTime: 1, stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "pp-demo-"));
  });
  after(async () => {
    for (const s of servers) await s.close();
    await hook?.close().catch(() => {});
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("test_demo_chatThroughUpstream_receiptSettledWithUserHashes_succeeds", async () => {
    const logger = pino({ level: "silent" });
    const upstream = await listen(createDemoApp({ backend: new LocalModel(), logger }));
    servers.push(upstream);
    const port = await freePort();
    hook = await testHook({
      store: path.join(dir, "gw.db"),
      enclaveKey: pp.enclaveKey,
      relayerKey: pp.relayerKey,
      rpcUrl: anvil.url,
      settlement: pp.settlement,
      daBaseUrl: `http://127.0.0.1:${port}/da`,
    });
    const gw = await listen(
      createDemoApp({ hook, backend: new OpenAICompatible(`http://127.0.0.1:${upstream.port}`), logger }),
      port,
    );
    servers.push(gw);

    const ask = async (content: string) => {
      const reqBody = JSON.stringify({
        model: "proofpath-local-1",
        messages: [{ role: "user", content }],
        max_tokens: 32,
      });
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: "POST",
        body: reqBody,
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.status, 200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { reqBody, bytes, json: JSON.parse(new TextDecoder().decode(bytes)) };
    };
    const a = await ask("what is the proof path?");
    const b = await ask("what is the proof path?");
    assert.equal(
      a.json.choices[0].message.content,
      b.json.choices[0].message.content,
      "the local model is deterministic",
    );
    assert.ok(a.json.usage.completion_tokens > 0);

    const bad = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST", body: '{"model":1}' });
    assert.equal(bad.status, 400);
    // Over the 1 MiB limit: refused with a clear error, declared length or not (chunked).
    const huge = new Uint8Array((1 << 20) + 1).fill(32);
    const tooLarge = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST", body: huge });
    assert.equal(tooLarge.status, 413);
    assert.match(
      ((await tooLarge.json()) as { error: { message: string } }).error.message,
      /larger than 1048576 bytes/,
    );
    const chunked = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      body: new Blob([huge]).stream(),
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 413);

    await waitFor("both answered calls recorded (on 'finish')", () => hook.receipt(1), 5_000, 10);
    await hook.flush();
    await hook.settled(60_000);
    const r = (await (await fetch(`http://127.0.0.1:${port}/da/receipts/0`)).json()) as Record<string, any>;
    assert.equal(r.status, "confirmed");
    assert.equal(r.receipt.requestHash, keccak256(new TextEncoder().encode(a.reqBody)));
    assert.equal(r.receipt.responseHash, keccak256(a.bytes));
    assert.equal(r.receipt.modelId, modelIdOf("proofpath-local-1"));
    assert.equal(r.receipt.outputTokens, a.json.usage.completion_tokens);
    assert.ok(verifyProof(r.header.root, r.receipt.leaf, r.proof));
    assert.equal(r.header.daURI, `http://127.0.0.1:${port}/da/batches/0`);
    const batch = (await (await fetch(r.header.daURI)).json()) as { receipts: unknown[] };
    assert.equal(batch.receipts.length, 2, "the rejected request recorded nothing");
  });
});
