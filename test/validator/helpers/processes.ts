/**
 * Validators as real child processes (validator/main.ts, bundled once with esbuild so a restart
 * costs a node start rather than a TypeScript transpile). stdout is pino JSON; the helper keeps
 * the parsed lines so tests can assert on what a validator logged.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync } from "node:fs";
import path from "node:path";
import { bundleOnce } from "../../gateway/helpers/bundle.js";
import { root } from "../../gateway/helpers/chain.js";
import { writeJson } from "./setup.js";

/** validator/main.ts bundled once (see bundleOnce); resolves with the bundle's path. */
export async function buildValidatorMain(): Promise<string> {
  const dir = await bundleOnce("validator-test", { main: path.join(root, "validator/main.ts") });
  // The bundled attestation module reads the AWS Nitro root from beside itself, as the source does.
  copyFileSync(path.join(root, "validator/attestation/aws-nitro-root.pem"), path.join(dir, "aws-nitro-root.pem"));
  return path.join(dir, "main.js");
}

export interface ValidatorProc {
  proc: ChildProcess;
  url: string;
  logs: Record<string, unknown>[];
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line `pred` accepts (logged so far or later). */
  waitLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts `validator/main.ts --config <file>` with `config` written to `<configFile>`; `nodeArgs` go to node (e.g. a heap limit). */
export async function spawnValidator(
  configFile: string,
  config: Record<string, unknown>,
  opts: { nodeArgs?: string[] } = {},
): Promise<ValidatorProc> {
  const main = await buildValidatorMain();
  writeJson(configFile, config);
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), main, "--config", configFile], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  const vp: ValidatorProc = {
    proc,
    url: `http://127.0.0.1:${config.port}`,
    logs,
    stderr: "",
    exit: new Promise((r) => proc.once("exit", (code, signal) => r({ code, signal }))),
    waitLog(pred, timeoutMs = 30_000) {
      const hit = logs.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`log line not seen within ${timeoutMs} ms; stderr: ${vp.stderr.slice(-2000)}`)),
          timeoutMs,
        );
        waiters.push({ pred, resolve: (l) => (clearTimeout(t), resolve(l)) });
      });
    },
    async kill(signal) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await vp.exit;
    },
  };
  let buf = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let l: Record<string, unknown>;
      try {
        l = JSON.parse(line);
      } catch {
        continue;
      }
      logs.push(l);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(l)) waiters.splice(i, 1)[0]!.resolve(l);
      }
    }
  });
  proc.stderr!.on("data", (d: Buffer) => (vp.stderr = (vp.stderr + d.toString()).slice(-20_000)));
  await Promise.race([
    vp.waitLog((l) => l.msg === "validator listening", 30_000),
    vp.exit.then((e) => {
      throw new Error(`validator exited at start (${e.code ?? e.signal}): ${vp.stderr}`);
    }),
  ]);
  return vp;
}
