/**
 * The host store server: runs on the parent instance (outside the enclave) and keeps each
 * enclave's log as an append-only file `<dir>/<log>.log` of length-prefixed frames. It fsyncs
 * before it acknowledges, once for every append that arrived in the same read (group commit on the
 * host too). It is not trusted: it never looks inside a frame beyond its sequence number (an
 * out-of-sequence append is refused, so a stale writer — an enclave presumed dead — cannot fork the
 * log at an honest host); the enclave verifies the chain at recovery. On request it drops the frames
 * before a checkpoint frame (compaction), rewriting the log file whole and renaming it over the old.
 */
import net from "node:net";
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { crashPoint } from "../crash.js";
import {
  LOG_NAME,
  OP_ACK,
  OP_APPEND,
  OP_COMPACT,
  OP_END,
  OP_ERR,
  OP_FRAME,
  OP_OPEN,
  OP_OPENED,
  OP_READ,
  message,
  readMessages,
  u32,
} from "./wire.js";

interface LogFile {
  file: string;
  fd: number;
  /** Sequence number of the first frame in the file (0 until the log is compacted). */
  base: number;
  /** Sequence number the next frame must carry. */
  frames: number;
  size: number;
  dirty: boolean;
}

export interface HostStoreServerOptions {
  dir: string;
  /** A Unix socket path, or a TCP port on `host`. */
  socket?: string;
  port?: number;
  host?: string;
  log?: Logger;
}

/** Frames in an existing log file; a torn last frame (a crash mid-append, never acknowledged) is cut off. */
function openLog(file: string): LogFile {
  const fd = openSync(file, "a+");
  const size = fstatSync(fd).size;
  const len = Buffer.alloc(4);
  let at = 0;
  let frames = 0;
  while (at + 4 <= size) {
    readSync(fd, len, 0, 4, at);
    const n = len.readUInt32BE(0);
    if (at + 4 + n > size) break;
    at += 4 + n;
    frames++;
  }
  if (at < size) ftruncateSync(fd, at);
  let base = 0;
  if (frames > 0) {
    const head = Buffer.alloc(9);
    readSync(fd, head, 0, 9, 4);
    base = Number(head.readBigUInt64BE(1));
  }
  return { file, fd, base, frames: base + frames, size: at, dirty: false };
}

/** Byte offset of frame `seq` in the log file (frames are `u32 length | frame`). */
function offsetOf(l: LogFile, seq: number): number {
  const len = Buffer.alloc(4);
  let at = 0;
  for (let i = l.base; i < seq; i++) {
    readSync(l.fd, len, 0, 4, at);
    at += 4 + len.readUInt32BE(0);
  }
  return at;
}

/** Frame body offset: version(1) | seq(8) | prev(32) | signature(65). */
const BODY_AT = 106;
/** The first entry of a checkpoint frame's body (frames.ts E_CHECKPOINT). */
const E_CHECKPOINT = 6;

export class HostStoreServer {
  private readonly logs = new Map<string, LogFile>();
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly o: HostStoreServerOptions) {
    mkdirSync(o.dir, { recursive: true });
    this.server = net.createServer((s) => this.serve(s));
  }

  static async listen(o: HostStoreServerOptions): Promise<HostStoreServer> {
    const srv = new HostStoreServer(o);
    await new Promise<void>((resolve, reject) => {
      srv.server.once("error", reject);
      if (o.socket) {
        rmSync(o.socket, { force: true });
        srv.server.listen(o.socket, resolve);
      } else srv.server.listen(o.port ?? 0, o.host ?? "127.0.0.1", resolve);
    });
    return srv;
  }

  /** `unix:<path>` or `tcp:<host>:<port>`: what a hook's `hostStore.endpoint` takes. */
  get endpoint(): string {
    if (this.o.socket) return `unix:${this.o.socket}`;
    const a = this.server.address() as net.AddressInfo;
    return `tcp:${a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    for (const l of this.logs.values()) closeSync(l.fd);
    this.logs.clear();
  }

  private logFile(name: string): LogFile {
    let l = this.logs.get(name);
    if (!l) {
      l = openLog(path.join(this.o.dir, `${name}.log`));
      this.logs.set(name, l);
    }
    return l;
  }

  /**
   * Drops the frames of `name` before frame `seq`, a checkpoint frame: the rest is written to a new
   * file, fsynced and renamed over the log (a crash leaves the old log or the new one, whole).
   * Returns why not, or undefined once done.
   */
  private compact(name: string, l: LogFile, seq: number): string | undefined {
    if (seq < l.base || seq >= l.frames) return `no frame ${seq} in log ${name} (frames ${l.base}..${l.frames - 1})`;
    if (seq === l.base) return undefined;
    const from = offsetOf(l, seq);
    const kind = Buffer.alloc(1);
    readSync(l.fd, kind, 0, 1, from + 4 + BODY_AT);
    if (kind[0] !== E_CHECKPOINT) return `frame ${seq} of log ${name} is not a checkpoint`;
    if (l.dirty) fdatasyncSync(l.fd);
    const tmp = `${l.file}.compact`;
    const fd = openSync(tmp, "w");
    const chunk = Buffer.alloc(1 << 20);
    for (let at = from; at < l.size; ) {
      const n = readSync(l.fd, chunk, 0, Math.min(chunk.length, l.size - at), at);
      writeSync(fd, chunk, 0, n);
      at += n;
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, l.file);
    const dir = openSync(path.dirname(l.file), "r");
    fsyncSync(dir);
    closeSync(dir);
    closeSync(l.fd);
    Object.assign(l, openLog(l.file)); // in place: every connection to this log sees the new file
    return undefined;
  }

  private serve(s: net.Socket): void {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => {});
    let log: LogFile | undefined;
    let name = "";
    // Answers held until the fsync of this read: acknowledgements must not outrun the disk.
    let out: Buffer[] = [];
    readMessages(
      s,
      (op, payload) => {
        if (op === OP_OPEN) {
          name = payload.toString();
          if (!LOG_NAME.test(name)) return void out.push(message(OP_ERR, Buffer.from(`bad log name ${name}`)));
          log = this.logFile(name);
          out.push(message(OP_OPENED, u32(log.frames)));
        } else if (!log) out.push(message(OP_ERR, Buffer.from("open a log first")));
        else if (op === OP_READ) {
          const len = Buffer.alloc(4);
          let at = 0;
          for (let i = log.base; i < log.frames; i++) {
            readSync(log.fd, len, 0, 4, at);
            const frame = Buffer.alloc(len.readUInt32BE(0));
            readSync(log.fd, frame, 0, frame.length, at + 4);
            at += 4 + frame.length;
            out.push(message(OP_FRAME, frame));
          }
          out.push(message(OP_END, u32(log.frames - log.base)));
        } else if (op === OP_APPEND) {
          const seq = payload.length >= 9 ? Number(payload.readBigUInt64BE(1)) : -1;
          if (seq !== log.frames) {
            out.push(message(OP_ERR, Buffer.from(`append of frame ${seq}, log ${name} has ${log.frames}`)));
            return;
          }
          const rec = Buffer.concat([u32(payload.length), payload]);
          writeSync(log.fd, rec, 0, rec.length, log.size);
          log.size += rec.length;
          log.frames++;
          log.dirty = true;
          crashPoint("host-mid-append");
          out.push(message(OP_ACK, u32(log.frames)));
        } else if (op === OP_COMPACT) {
          const seq = payload.length === 8 ? Number(payload.readBigUInt64BE(0)) : -1;
          const err = this.compact(name, log, seq);
          if (err) out.push(message(OP_ERR, Buffer.from(err)));
          else out.push(message(OP_ACK, u32(log.frames)));
        } else out.push(message(OP_ERR, Buffer.from(`unknown op ${op}`)));
      },
      () => {
        if (log?.dirty) {
          fdatasyncSync(log.fd);
          log.dirty = false;
        }
        if (out.length) s.write(out.length === 1 ? out[0]! : Buffer.concat(out));
        out = [];
      },
      (e) => {
        this.o.log?.warn({ err: e.message }, "host store: dropping a connection");
        s.destroy();
      },
    );
  }
}
