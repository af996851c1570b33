#!/usr/bin/env node
// `proofpath` bin. In a checkout it runs the TypeScript CLI through tsx's ESM loader, registered in
// this process (a .ts bin can't be run by node directly, and `#!/usr/bin/env -S npx tsx` would spawn
// a second npx). The installed package ships no sources: there it runs the compiled CLI in dist/.
import { existsSync } from "node:fs";

const sources = new URL("./cli.ts", import.meta.url);
if (existsSync(sources)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(sources.href);
} else {
  await import("../dist/scripts/cli.js");
}
