/**
 * The enclave's side of the host store connection: open a log, read it back, append frames. Every
 * request is answered in order; `append` resolves only when the host says the frame is fsynced. A
 * closed or failed connection rejects everything outstanding (nothing unacknowledged counts).
 */
import type { Duplex } from "node:stream";
import { HostStoreUnavailableError } from "../errors.js";
import {
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
} from "./wire.js";
import type { HostConnect } from "./transport.js";

interface Waiter {
  resolve: (n: number) => void;
  reject: (e: Error) => void;
  frames?: Uint8Array[];
}

export class HostStoreClient {
  private readonly waiters: Waiter[] = [];
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Duplex,
    readonly endpoint: string,
  ) {
    readMessages(
      socket,
      (op, payload) => this.onMessage(op, payload),
      undefined,
      (e) => this.fail(e.message),
    );
    socket.on("error", (e) => this.fail(e.message));
    socket.on("close", () => this.fail("connection closed"));
  }

  /** Connects and opens `log`; resolves with the number of frames the host holds for it. */
  static async open(
    connect: HostConnect,
    endpoint: string,
    log: string,
  ): Promise<{ client: HostStoreClient; frames: number }> {
    const client = new HostStoreClient(await connect(), endpoint);
    const frames = await client.request(message(OP_OPEN, Buffer.from(log)));
    return { client, frames };
  }

  /** Every frame of the log, oldest first. */
  async readAll(): Promise<Uint8Array[]> {
    const frames: Uint8Array[] = [];
    await this.request(message(OP_READ), frames);
    return frames;
  }

  /** Appends one frame; resolves with the log's frame count once the host has fsynced it. */
  append(frame: Uint8Array): Promise<number> {
    return this.request(message(OP_APPEND, frame));
  }

  /**
   * Asks the host to drop every frame before frame `seq`, a checkpoint; resolves once done. An
   * honest host's log then starts at that checkpoint (recovery verifies it either way).
   */
  compact(seq: number): Promise<number> {
    const p = Buffer.alloc(8);
    p.writeBigUInt64BE(BigInt(seq));
    return this.request(message(OP_COMPACT, p));
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private request(msg: Buffer, frames?: Uint8Array[]): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject, ...(frames ? { frames } : {}) });
      this.socket.write(msg);
    });
  }

  private onMessage(op: number, payload: Buffer): void {
    const w = this.waiters[0];
    if (!w) {
      this.fail(`unexpected message ${op}`);
      return;
    }
    if (op === OP_FRAME) {
      if (!w.frames) {
        this.fail("a frame nobody asked for");
        return;
      }
      w.frames.push(new Uint8Array(payload)); // a copy: the chunk is reused
      return;
    }
    this.waiters.shift();
    if (op === OP_OPENED || op === OP_ACK || op === OP_END) w.resolve(payload.readUInt32BE(0));
    else if (op === OP_ERR) w.reject(new HostStoreUnavailableError(this.endpoint, payload.toString()));
    else this.fail(`unknown message ${op}`);
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new HostStoreUnavailableError(this.endpoint, reason);
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
    this.socket.destroy();
  }
}
