/**
 * A minimal gateway for validator tests: serves `GET /batches/:batchSeq` and
 * `GET /receipts/:callSeq` in gateway/serve/http.ts's JSON shapes (bigints as decimal strings), from
 * leaves the test registers. Each batch can be switched to serve other leaves (a wrong root) or
 * nothing (404); a receipt can be replaced by one the enclave signed differently (equivocation).
 */
import { Hono } from "hono";
import type { Address, Hex, LocalAccount } from "viem";
import { settlementDomain, signReceipt } from "../../../sdk/eip712.js";
import type { Receipt } from "../../../sdk/types.js";
import type { DaLeaf } from "../../../validator/da.js";
import { listen } from "../../../gateway/serve/http.js";

const ZERO32 = `0x${"00".repeat(32)}`;
const json = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));

function wireLeaf(l: DaLeaf) {
  return l.kind === "served"
    ? { kind: "served", ...l.receipt, gateway: undefined }
    : {
        kind: "void",
        callSeq: l.callSeq,
        modelId: ZERO32,
        requestHash: ZERO32,
        responseHash: ZERO32,
        inputTokens: 0,
        outputTokens: 0,
        servedAt: 0n,
      };
}

export interface FakeGateway {
  url: string;
  /** What `/batches/:batchSeq` serves: leaves, or "missing" for a 404. */
  setBatch(batchSeq: bigint, leaves: DaLeaf[] | "missing"): void;
  /** Makes `/receipts/:callSeq` serve `receipt`, signed by the enclave (an equivocating receipt). */
  setSignedReceipt(receipt: Receipt): void;
  /** Runs `fn` (awaited) when `/batches/:batchSeq` is asked for, before answering: lets a test act
   *  while a validator is in the middle of verifying (e.g. reorg the batch out). */
  onBatchRequest(fn: ((batchSeq: bigint) => Promise<void>) | undefined): void;
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeGateway(p: {
  enclave: LocalAccount;
  chainId: number;
  settlement: Address;
}): Promise<FakeGateway> {
  const batches = new Map<string, DaLeaf[] | "missing">();
  const overrides = new Map<string, Receipt>();
  const requests: string[] = [];
  let beforeBatch: ((batchSeq: bigint) => Promise<void>) | undefined;
  const domain = settlementDomain(p.chainId, p.settlement);
  const app = new Hono();
  app.use(async (c, next) => {
    requests.push(c.req.path);
    await next();
  });
  app.get("/batches/:batchSeq", async (c) => {
    await beforeBatch?.(BigInt(c.req.param("batchSeq")));
    const b = batches.get(c.req.param("batchSeq"));
    if (!b || b === "missing") return c.json({ error: "not_found" }, 404);
    return c.json(
      json({
        gateway: p.enclave.address,
        header: null,
        signature: null,
        status: "confirmed",
        receipts: b.map(wireLeaf),
      }),
    );
  });
  app.get("/receipts/:callSeq", async (c) => {
    const seq = BigInt(c.req.param("callSeq"));
    let receipt = overrides.get(String(seq));
    if (!receipt) {
      for (const b of batches.values()) {
        if (b === "missing") continue;
        const l = b.find((x) => (x.kind === "served" ? x.receipt.callSeq : x.callSeq) === seq);
        if (l?.kind === "served") receipt = l.receipt;
        if (l?.kind === "void")
          return c.json(
            json({
              receipt: { gateway: p.enclave.address, callSeq: seq, kind: "void" },
              status: "confirmed",
              receiptSignature: null,
            }),
          );
      }
    }
    if (!receipt) return c.json({ error: "not_found" }, 404);
    const sig = (await signReceipt(p.enclave, domain, receipt)).signature;
    return c.json(
      json({
        receipt: { ...receipt, kind: "served" },
        status: "confirmed",
        durable: true,
        receiptSignature: sig as Hex,
      }),
    );
  });
  const server = await listen(app, 0);
  return {
    url: `http://127.0.0.1:${server.port}`,
    setBatch: (seq, leaves) => void batches.set(String(seq), leaves),
    setSignedReceipt: (r) => void overrides.set(String(r.callSeq), r),
    onBatchRequest: (fn) => void (beforeBatch = fn),
    requests,
    close: server.close,
  };
}
