#!/usr/bin/env node
// `proofpath` bin: registers tsx's ESM loader in this process, then runs the TypeScript CLI.
// (A .ts bin can't be run by node directly, and `#!/usr/bin/env -S npx tsx` would spawn a second npx.)
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
