/**
 * Bundles a child process's TypeScript entry points to plain JS with esbuild, once per test run: a
 * restart then costs a node start, not a transpile, which keeps hundreds of restarts affordable.
 */
import path from "node:path";
import { root } from "./chain.js";

const built = new Map<string, Promise<string>>();

/** Where bundle `name` is written. */
export function bundleDir(name: string): string {
  return path.join(root, "cache", name);
}

/** Bundles `entryPoints` (output name → source) into cache/<name>/; resolves with that folder. */
export function bundleOnce(name: string, entryPoints: Record<string, string>): Promise<string> {
  let done = built.get(name);
  if (!done) {
    done = (async () => {
      const outdir = bundleDir(name);
      const esbuild = await import("esbuild");
      await esbuild.build({
        entryPoints,
        outdir,
        bundle: true,
        platform: "node",
        format: "esm",
        packages: "external",
        target: "node22",
        logLevel: "error",
      });
      return outdir;
    })();
    built.set(name, done);
  }
  return done;
}
