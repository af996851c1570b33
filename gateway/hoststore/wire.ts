/**
 * The host store's wire protocol over one stream socket (vsock in production, a Unix socket or
 * loopback TCP in tests): length-prefixed messages, `u32 length | u8 op | payload`. The enclave
 * OPENs a log by name, READs it back (FRAME…, END) and APPENDs frames; the host answers each APPEND
 * with ACK once the frame is fsynced. COMPACT asks the host to drop the frames before a checkpoint
 * frame (ACK once the shorter log replaced the old one on disk). Requests are pipelined and answered in order.
 */
import type { Duplex } from "node:stream";

export const OP_OPEN = 1;
export const OP_READ = 2;
export const OP_APPEND = 3;
export const OP_COMPACT = 4; // payload: u64 seq of a checkpoint frame; frames before it are dropped
export const OP_OPENED = 0x81; // payload: u32 frames in the log
export const OP_FRAME = 0x82; // payload: one frame
export const OP_END = 0x83; // payload: u32 frames sent
export const OP_ACK = 0x84; // payload: u32 frames in the log after this append (or compaction)
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
  // Chunks of an incomplete message are only joined once it is whole (a group commit spans many
  // reads; joining at every read would copy it over and over).
  let chunks: Buffer[] = [];
  let have = 0;
  let need = -1;
  const measure = () => {
    if (need >= 0 || have < 4) return;
    if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks, have)];
    const len = chunks[0]!.readUInt32BE(0);
    if (len < 1 || len > MAX_MESSAGE) throw new Error(`message length ${len} out of range`);
    need = 4 + len;
  };
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    have += chunk.length;
    try {
      measure();
      if (need < 0 || have < need) return;
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
      chunks = [];
      have = 0;
      need = -1;
      let at = 0;
      while (buf.length - at >= 4) {
        const len = buf.readUInt32BE(at);
        if (len < 1 || len > MAX_MESSAGE) throw new Error(`message length ${len} out of range`);
        if (buf.length - at - 4 < len) break;
        onMessage(buf[at + 4]!, buf.subarray(at + 5, at + 4 + len));
        at += 4 + len;
      }
      if (at < buf.length) {
        chunks = [buf.subarray(at)];
        have = buf.length - at;
        measure();
      }
    } catch (e) {
      onError(e as Error);
      return;
    }
    onBatch();
  });
}
