/** `proofpath host-store` in its own process, as on the parent instance: it outlives the enclaves it serves. */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { waitFor } from "../../../tools/waitFor.js";
import { root } from "./chain.js";

export interface Host {
  proc: ChildProcess;
  endpoint: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** Starts `proofpath host-store --socket <socket> --dir <dir>`; resolves once it listens. */
export async function startHost(dir: string, socket: string, env: Record<string, string> = {}): Promise<Host> {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", "scripts/cli.ts", "host-store", "--socket", socket, "--dir", dir],
    { cwd: root, env: { ...process.env, NODE_NO_WARNINGS: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once("close", (code, signal) => r({ code, signal })),
  );
  await waitFor(`host store on ${socket} (${err})`, () => {
    if (proc.exitCode !== null) throw new Error(`host store exited: ${err}`);
    return out.includes("listening");
  });
  return {
    proc,
    endpoint: `unix:${socket}`,
    exit,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await exit;
    },
  };
}

/** A host log file's frames (`u32 length | frame` each). */
export function readFrames(file: string): Buffer[] {
  const b = readFileSync(file);
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; ) {
    const n = b.readUInt32BE(at);
    out.push(b.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

/** Writes `frames` as a host log file (what a host that rewrites the log leaves on disk). */
export function writeFrames(file: string, frames: readonly Buffer[]): void {
  writeFileSync(
    file,
    Buffer.concat(
      frames.flatMap((f) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(f.length);
        return [len, f];
      }),
    ),
  );
}
