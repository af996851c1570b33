/**
 * The dashboard: one static page and its script, plus uPlot's dist files served from node_modules
 * (no CDN: the page works on an air-gapped network).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const uplotDir = path.dirname(require.resolve("uplot/package.json"));

const files: Record<string, { file: string; type: string }> = {
  "/": { file: path.join(here, "static", "index.html"), type: "text/html; charset=utf-8" },
  "/dashboard.js": { file: path.join(here, "static", "dashboard.js"), type: "text/javascript; charset=utf-8" },
  "/vendor/uPlot.iife.min.js": {
    file: path.join(uplotDir, "dist", "uPlot.iife.min.js"),
    type: "text/javascript; charset=utf-8",
  },
  "/vendor/uPlot.min.css": { file: path.join(uplotDir, "dist", "uPlot.min.css"), type: "text/css; charset=utf-8" },
};

export const dashboard = new Hono();
for (const [route, { file, type }] of Object.entries(files)) {
  const body = readFileSync(file); // read once at startup: a missing file fails fast, not per request
  dashboard.get(route, (c) => c.body(body, 200, { "content-type": type, "cache-control": "no-cache" }));
}
