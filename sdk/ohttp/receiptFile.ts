/**
 * A {@link ReceiptKeeper} for Node: one JSON file per call, `<requestHash>.json` in `dir`, exactly
 * the JSON `npx proofpath verify-receipt <file>` reads. Written to a temporary file, fsynced and
 * renamed, so a file is either absent or whole. (Not exported from `sdk/ohttp/index.ts`: browsers
 * have no node:fs.)
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, writeSync } from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { batchHeaderSchema, receiptSchema } from "../types.js";
import { receiptJson, type ReceiptKeeper, type SignedCallReceipt } from "./receipts.js";

const NAME_RE = /^0x[0-9a-f]{64}\.json$/;

export class FileReceiptKeeper implements ReceiptKeeper {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** The file a receipt is kept in. */
  fileOf(requestHash: Hex): string {
    return path.join(this.dir, `${requestHash.toLowerCase()}.json`);
  }

  keep(r: SignedCallReceipt): void {
    const file = this.fileOf(r.receipt.requestHash);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, receiptJson(r));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  }

  get(requestHash: Hex): SignedCallReceipt | undefined {
    let text: string;
    try {
      text = readFileSync(this.fileOf(requestHash), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    const v = JSON.parse(text) as { receipt: unknown; receiptSignature: Hex; header?: unknown; proof?: Hex[] };
    return {
      receipt: receiptSchema.parse(v.receipt),
      receiptSignature: v.receiptSignature,
      ...(v.header ? { header: batchHeaderSchema.parse(v.header) } : {}),
      ...(v.proof ? { proof: v.proof } : {}),
    };
  }

  list(): SignedCallReceipt[] {
    return readdirSync(this.dir)
      .filter((n) => NAME_RE.test(n))
      .map((n) => this.get(n.slice(0, -5) as Hex)!);
  }
}
