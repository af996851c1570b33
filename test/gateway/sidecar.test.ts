/**
 * `proofpath gateway-sidecar` as a gateway written in Python uses it: a real sidecar process (the CLI)
 * on a real chain, driven by clients/python/proofpath_sidecar.py under python3. Every call it records
 * comes back durable with an enclave signature over exactly that receipt, gets settled on-chain, and
 * bad input is a 400 that names the field.
 */
import assert from "node:assert/strict";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { recoverReceiptSigner, settlementDomain } from "../../sdk/eip712.js";
import { nextSeqs, root } from "./helpers/chain.js";
import { freePort, startDevChain, type DevChain } from "../../tools/devchain.js";
import { deployDevNet, type DevNet } from "../../tools/devnet.js";

const PY_DRIVER = `
import json, sys
sys.path.insert(0, sys.argv[2])
from proofpath_sidecar import Sidecar, SidecarError
s = Sidecar(sys.argv[1])
out = {"records": []}
for i in range(5):
    h = lambda t: "0x" + (t * 64)[:64]
    out["records"].append(s.record("0x" + "ab" * 32, h("%x" % (i + 1)), h("%x" % (i + 7)), 100 + i, 50 + i, wait_durable=True))
try:
    s.record("0x1234", "0x" + "00" * 32, "0x" + "00" * 32, 1, 1)
except SidecarError as e:
    out["bad"] = {"status": e.status, "error": e.error, "message": e.message}
out["status"] = s.status()
out["receipt0"] = s.receipt(int(out["records"][0]["callSeq"]))
print(json.dumps(out))
`;
import { waitFor } from "../../tools/waitFor.js";
import { spawnCli } from "../helpers/cli.js";

describe("gateway sidecar (proofpath gateway-sidecar, Python client)", function () {
  this.timeout(120_000);
  let anvil: DevChain;
  let pp: DevNet;
  let dir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    anvil = await startDevChain({ stderr: "inherit" });
    pp = await deployDevNet(anvil);
    dir = mkdtempSync(path.join(tmpdir(), "proofpath-sidecar-"));
  });
  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await anvil?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("test_pythonGateway_recordsThroughSidecar_durableSignedReceiptsSettled_succeeds", async () => {
    const config = path.join(dir, "hook.json");
    writeFileSync(
      config,
      JSON.stringify({
        store: path.join(dir, "gateway.db"),
        rpcUrl: anvil.url,
        settlement: pp.settlement,
        daBaseUrl: "http://127.0.0.1:1/da",
        batch: { maxCalls: 5, maxAgeMs: 200 },
        confirmations: 1,
      }),
    );
    child = spawnCli(["gateway-sidecar", "--config", config, "--port", "0"], {
      PROOFPATH_GATEWAY_ENCLAVE_KEY: pp.enclaveKey,
      PROOFPATH_GATEWAY_RELAYER_KEY: pp.relayerKey,
    });
    let out = "";
    child.stderr!.on("data", (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      child!.stdout!.on("data", (d) => {
        out += d;
        const m = /listening (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.once("exit", (code) => reject(new Error(`sidecar exited ${code}: ${out}`)));
    });

    const py = spawnSync("python3", ["-c", PY_DRIVER, url, path.join(root, "clients/python")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(py.status, 0, py.stderr);
    const r = JSON.parse(py.stdout) as { records: any[]; bad: any; status: any; receipt0: any };
    const domain = settlementDomain(pp.deployment.chainId, pp.settlement);
    assert.deepEqual(
      r.records.map((x) => x.callSeq),
      ["0", "1", "2", "3", "4"],
      "callSeqs contiguous from 0",
    );
    for (const x of r.records) {
      assert.equal(x.durable, true);
      const receipt = { ...x.receipt, callSeq: BigInt(x.receipt.callSeq), servedAt: BigInt(x.receipt.servedAt) };
      assert.equal(
        await recoverReceiptSigner(domain, receipt, x.receiptSignature as Hex),
        pp.enclave.address,
        "signed by the enclave",
      );
      assert.equal(x.receipt.requestHash, `0x${(Number(x.callSeq) + 1).toString(16).repeat(64).slice(0, 64)}`);
    }
    assert.equal(r.bad.status, 400);
    assert.match(r.bad.message, /^modelId: /);
    assert.equal(r.status.ok, true);
    assert.equal(r.receipt0.receipt.callSeq, "0");
    // The five calls fill one batch, which the sidecar's hook settles on-chain.
    await waitFor(
      "the batch settled",
      async () => {
        if ((await nextSeqs(anvil.client, pp.settlement, pp.enclave.address)).nextCallSeq >= 5) return true;
        throw new Error(out); // the sidecar's output, should it time out
      },
      60_000,
    );
  });

  it("test_attack_sidecarDaOnItsOwnPort_recordLoopServesNoDaRoute_daProcessSignsDurable", async () => {
    const daPort = await freePort();
    const config = path.join(dir, "hook-da.json");
    writeFileSync(
      config,
      JSON.stringify({
        store: path.join(dir, "gateway-da.db"),
        rpcUrl: anvil.url,
        settlement: pp.settlement,
        daBaseUrl: `http://127.0.0.1:${daPort}`,
        submit: false,
        daPort,
        daProcess: true,
      }),
    );
    const side = spawnCli(["gateway-sidecar", "--config", config, "--port", "0"], {
      PROOFPATH_GATEWAY_ENCLAVE_KEY: generatePrivateKey(),
    });
    const exited = new Promise((r) => side.once("exit", r));
    try {
      let out = "";
      side.stderr!.on("data", (d) => (out += d));
      side.stdout!.on("data", (d) => (out += d));
      const m = await waitFor(
        "the sidecar and its DA process listen",
        () => {
          if (side.exitCode !== null) throw new Error(`sidecar exited: ${out}`);
          return /listening (http:\/\/\S+) \(DA endpoints: (http:\/\/\S+)\)/.exec(out);
        },
        60_000,
        50,
      );
      const [url, daUrl] = [m[1]!, m[2]!];
      const rec = await fetch(`${url}/record?wait=durable`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          modelId: `0x${"1".repeat(64)}`,
          requestHash: `0x${"2".repeat(64)}`,
          responseHash: `0x${"3".repeat(64)}`,
          inputTokens: 1,
          outputTokens: 2,
        }),
      });
      assert.equal(rec.status, 200, out);
      const recorded = (await rec.json()) as { callSeq: string; receiptSignature: string };
      assert.equal(
        (await fetch(`${url}/da/receipts/${recorded.callSeq}`)).status,
        404,
        "no DA route on /record's loop",
      );
      const da = await fetch(`${daUrl}/receipts/${recorded.callSeq}`);
      assert.equal(da.status, 200);
      assert.equal(((await da.json()) as { receiptSignature: string }).receiptSignature, recorded.receiptSignature);
      side.kill("SIGTERM");
      await exited;
      await assert.rejects(fetch(`${daUrl}/receipts/0`), "the DA process is gone with the sidecar");
    } finally {
      side.kill("SIGKILL");
    }
  });
});
