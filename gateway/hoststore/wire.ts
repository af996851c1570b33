/**
 * The host store's wire protocol over one stream socket (vsock in production, a Unix socket or
 * loopback TCP in tests): length-prefixed messages, `u32 length | u8 op | payload`. The enclave
 * OPENs a log by name, READs it back (FRAME…, END) and APPENDs frames; the host answers each APPEND
 * with ACK once the frame is fsynced. Requests are pipelined and answered in order.
 */
import type { Duplex } from "node:stream";

export const OP_OPEN = 1;
export const OP_READ = 2;
export const OP_APPEND = 3;
export const OP_OPENED = 0x81; // payload: u32 frames in the log
export const OP_FRAME = 0x82; // payload: one frame
export const OP_END = 0x83; // payload: u32 frames sent
export const OP_ACK = 0x84; // payload: u32 frames in the log after this append
export const OP_ERR = 0xff; // payload: utf8 reason

/** Largest message either side accepts (a group commit of 16,384 receipts is ~2.4 MB). */
export const MAX_MESSAGE = 64 * 1024 * 1024;

/** Log names: a gateway address (or any short file-safe name). */
export const LOG_NAME = /^[A-Za-z0-9._-]{1,100}$/;

export function message(op: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(payload.length + 1, 0);
  h[4] = op;
  return Buffer.concat([h, payload]);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * Calls `onMessage(op, payload)` for each whole message read from `socket`, in order. Messages
 * complete in one chunk are handed over without copying; `onBatch` runs after each chunk (the host
 * fsyncs once per chunk: every append that arrived together shares it).
 */
export function readMessages(
  socket: Duplex,
  onMessage: (op: number, payload: Buffer) => void,
  onBatch: () => void = () => {},
  onError: (e: Error) => void = (e) => socket.destroy(e),
): void {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  socket.on("data", (chunk: Buffer) => {
    let buf = chunk;
    if (pendingLen) {
      pending.push(chunk);
      buf = Buffer.concat(pending, pendingLen + chunk.length);
      pending = [];
      pendingLen = 0;
    }
    let at = 0;
    try {
      while (buf.length - at >= 4) {
        const len = buf.readUInt32BE(at);
        if (len < 1 || len > MAX_MESSAGE) throw new Error(`message length ${len} out of range`);
        if (buf.length - at - 4 < len) break;
        onMessage(buf[at + 4]!, buf.subarray(at + 5, at + 4 + len));
        at += 4 + len;
      }
    } catch (e) {
      onError(e as Error);
      return;
    }
    if (at < buf.length) {
      pending = [buf.subarray(at)];
      pendingLen = buf.length - at;
    }
    onBatch();
  });
}
