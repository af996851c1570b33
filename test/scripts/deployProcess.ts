/**
 * Runs `npm run deploy` (scripts/deploy.ts) as an operator does, in its own process: answers the
 * keystore's password prompt on stdin when asked, and hands back the process so a test can kill it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * hardhat-keystore never opens the keystore under CI, and only the dev keystore under a test
 * (HH_TEST, set by `hardhat test`): these processes run the operator's path, so drop both.
 */
export const notOperator = ["CI", "CONTINUOUS_INTEGRATION", "GITHUB_ACTIONS", "BUILD_NUMBER", "RUN_ID", "HH_TEST"];

export interface DeployProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>;
}

export function startDeploy(
  env: Record<string, string | undefined>,
  args: string[] = [],
  opts: { password?: string } = {},
): DeployProcess {
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const k of notOperator) delete merged[k];
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const child = spawn(
    process.execPath,
    [path.join(root, "node_modules/tsx/dist/cli.mjs"), "scripts/deploy.ts", ...args],
    {
      cwd: root,
      env: merged,
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let out = "";
  let answered = 0;
  const onData = (d: Buffer) => {
    out += d;
    const asked = out.match(/Enter the password/g)?.length ?? 0;
    // One prompt (the unlocked keystore is cached); then close stdin so nothing waits on it.
    if (answered < asked && opts.password) {
      answered++;
      child.stdin!.end(`${opts.password}\n`);
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, out })),
  );
  return { child, output: () => out, exited };
}

/** Runs it to the end. */
export function runDeploy(
  env: Record<string, string | undefined>,
  args: string[] = [],
  opts: { password?: string } = {},
) {
  return startDeploy(env, args, opts).exited;
}

/** Stores `value` under `key` in a keystore under `configHome` (the operator's `npx hardhat keystore set`). */
export function keystoreSet(configHome: string, key: string, value: string, password: string): Promise<string> {
  const env: Record<string, string | undefined> = { ...process.env, XDG_CONFIG_HOME: configHome };
  for (const k of notOperator) delete env[k];
  const child = spawn(
    process.execPath,
    [path.join(root, "node_modules/hardhat/dist/src/cli.js"), "keystore", "set", key],
    {
      cwd: root,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  const answers = [password, password, value];
  let out = "";
  let answered = 0;
  const onData = (d: Buffer) => {
    out += d;
    const asked = out.match(/Enter the password|confirm your password|Enter secret/g)?.length ?? 0;
    for (; answered < asked && answered < answers.length; answered++) child.stdin!.write(`${answers[answered]}\n`);
    if (answered === answers.length) child.stdin!.end();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  return new Promise((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`keystore set exited ${code}: ${out}`)))),
  );
}
