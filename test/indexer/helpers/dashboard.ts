/** Loads the dashboard in headless Chromium (test/helpers/browser.ts) and checks it shows real data. */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { repoRoot, type Ponder } from "../../../indexer/harness/ponder.js";
import { launchBrowser } from "../../helpers/browser.js";

export interface DashboardExpectations {
  /** Calls to look up, each with the status the page must show and whether it is final. */
  lookups: { gateway: string; callSeq: bigint; status: string }[];
  /** Validators (lowercase address → status) the validator table must list. */
  validators: Record<string, string>;
  /** Gateways (lowercase address → status) the gateway table must list. */
  gateways: Record<string, string>;
}

export async function checkDashboard(ponder: Ponder, want: DashboardExpectations): Promise<string> {
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
    await page.waitForFunction(
      () => (window as any).__dashboard?.ready === true || (window as any).__dashboard?.errors.length > 0,
      null,
      { timeout: 30_000 },
    );
    assert.deepEqual(await page.evaluate(() => (window as any).__dashboard.errors), []);
    for (const id of ["chart-activity", "chart-fees", "chart-models", "chart-status", "chart-latency"]) {
      const points = Number(await page.getAttribute(`#${id}`, "data-points"));
      assert.ok(points > 0, `${id} has data`);
      // uPlot drew onto a canvas of real size.
      const size = await page.$eval(
        `#${id} canvas`,
        (c) => (c as HTMLCanvasElement).width * (c as HTMLCanvasElement).height,
      );
      assert.ok(size > 0, `${id} canvas`);
    }
    const tiles = (await page.textContent("#tiles")) ?? "";
    for (const k of [
      "calls settled",
      "submitted",
      "attested",
      "finalized",
      "rejected",
      "active validators",
      "stake slashed",
    ])
      assert.match(tiles, new RegExp(k));
    const rows = (sel: string) =>
      page.$$eval(`${sel} tbody tr`, (trs) =>
        Object.fromEntries(trs.map((tr) => [(tr as HTMLElement).dataset.address, (tr as HTMLElement).dataset.status])),
      );
    assert.deepEqual(await rows("#validators"), want.validators, "validator table");
    assert.deepEqual(await rows("#gateways"), want.gateways, "gateway table");
    assert.match((await page.textContent("#quorum")) ?? "", /quorum \d+ of \d+ active/);
    for (const lookup of want.lookups) {
      await page.evaluate(() => {
        document.querySelector("#lookup-result")!.innerHTML = "";
      });
      await page.fill("#lookup-form input[name=gateway]", lookup.gateway);
      await page.fill("#lookup-form input[name=callSeq]", lookup.callSeq.toString());
      await page.click("#lookup-form button");
      await page.waitForSelector("#lookup-result [data-status]", { timeout: 10_000 });
      assert.equal(
        await page.getAttribute("#lookup-result [data-status]", "data-status"),
        lookup.status,
        `lookup ${lookup.gateway}/${lookup.callSeq}`,
      );
      assert.equal(
        await page.getAttribute("#lookup-result [data-final]", "data-final"),
        String(lookup.status === "finalized"),
      );
    }
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
