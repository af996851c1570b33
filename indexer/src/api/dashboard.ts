/**
 * The dashboard's pages: the network view, the token-holder view and the verify page, their
 * scripts and shared style, plus uPlot's dist files served from node_modules (no CDN: the pages work
 * on an air-gapped network). The verify page's script is TypeScript that runs the SDK's receipt
 * checks in the browser: esbuild bundles it once at startup (viem is browser-safe).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { Hono } from "hono";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const uplotDir = path.dirname(require.resolve("uplot/package.json"));
const JS = "text/javascript; charset=utf-8";
const HTML = "text/html; charset=utf-8";

/** Bundles a browser entry (pages/*.ts) into one ES module. */
function bundle(entry: string): Uint8Array {
  const out = buildSync({
    entryPoints: [path.join(here, "pages", entry)],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
  });
  return out.outputFiles[0]!.contents;
}

const files: Record<string, { body: () => Uint8Array; type: string }> = {
  "/": { body: () => readFileSync(path.join(here, "static", "index.html")), type: HTML },
  "/holders": { body: () => readFileSync(path.join(here, "static", "holders.html")), type: HTML },
  "/verify": { body: () => readFileSync(path.join(here, "static", "verify.html")), type: HTML },
  "/style.css": { body: () => readFileSync(path.join(here, "static", "style.css")), type: "text/css; charset=utf-8" },
  "/dashboard.js": { body: () => readFileSync(path.join(here, "static", "dashboard.js")), type: JS },
  "/holders.js": { body: () => readFileSync(path.join(here, "static", "holders.js")), type: JS },
  "/verify.js": { body: () => bundle("verify.ts"), type: JS },
  "/vendor/uPlot.iife.min.js": { body: () => readFileSync(path.join(uplotDir, "dist", "uPlot.iife.min.js")), type: JS },
  "/vendor/uPlot.min.css": {
    body: () => readFileSync(path.join(uplotDir, "dist", "uPlot.min.css")),
    type: "text/css; charset=utf-8",
  },
};

export const dashboard = new Hono();
for (const [route, { body: read, type }] of Object.entries(files)) {
  const body = read(); // built once at startup: a missing file or a bundling error fails fast, not per request
  dashboard.get(route, (c) =>
    c.body(body as Uint8Array<ArrayBuffer>, 200, { "content-type": type, "cache-control": "no-cache" }),
  );
}
