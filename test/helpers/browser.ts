/**
 * Headless Chromium for browser tests, with no system browser: the build shipped inside the
 * `@sparticuz/chromium` npm package (unpacked to the temp dir on first use), driven by playwright-core.
 * `CHROMIUM_PATH` runs another build instead (e.g. /usr/bin/chromium).
 */
import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser } from "playwright-core";

/** Flags for a closed network: without the background-networking ones Chromium keeps dialling out. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? (await sparticuz.executablePath());
  // A fixed locale: this build takes it from the environment, and C.UTF-8 becomes "en-US@posix",
  // which Intl rejects (uPlot then fails to load). --lang does not override it.
  const env = { ...process.env, LANG: "en_US.UTF-8", LC_ALL: "en_US.UTF-8" };
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, env });
}
