/** Loads the dashboard in headless Chromium (test/helpers/browser.ts) and checks it shows real data. */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { repoRoot, type Ponder } from "../../../indexer/harness/ponder.js";
import { launchBrowser } from "../../helpers/browser.js";

export async function checkDashboard(ponder: Ponder, lookup: { gateway: string; callSeq: bigint; status: string }): Promise<string> {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const external: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(ponder.url)) external.push(r.url());
    });
    await page.goto(`${ponder.url}/`, { waitUntil: "load" });
    await page.waitForFunction(() => (window as any).__dashboard?.ready === true || (window as any).__dashboard?.errors.length > 0, null, { timeout: 30_000 });
    assert.deepEqual(await page.evaluate(() => (window as any).__dashboard.errors), []);
    for (const id of ["chart-activity", "chart-fees", "chart-models", "chart-status", "chart-latency"]) {
      const points = Number(await page.getAttribute(`#${id}`, "data-points"));
      assert.ok(points > 0, `${id} has data`);
      // uPlot drew onto a canvas of real size.
      const size = await page.$eval(`#${id} canvas`, (c) => (c as HTMLCanvasElement).width * (c as HTMLCanvasElement).height);
      assert.ok(size > 0, `${id} canvas`);
    }
    assert.match(await page.textContent("#tiles") ?? "", /calls settled/);
    await page.fill("#lookup-form input[name=gateway]", lookup.gateway);
    await page.fill("#lookup-form input[name=callSeq]", lookup.callSeq.toString());
    await page.click("#lookup-form button");
    await page.waitForSelector("#lookup-result [data-status]", { timeout: 10_000 });
    assert.equal(await page.getAttribute("#lookup-result [data-status]", "data-status"), lookup.status);
    assert.deepEqual(external, [], "the dashboard loads nothing from other origins");
    assert.deepEqual(errors, []);
    const out = path.join(repoRoot, "test-results", "dashboard.png");
    mkdirSync(path.dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
    return out;
  } finally {
    await browser.close();
  }
}
