// Opens the Sluice dashboard in headless Chromium and checks that it works: the query list
// links to the query's page, the four charts are drawn, the input row count grows while the
// page is open, nothing is fetched from another origin, and nothing is logged as an error.
//
// usage: node tests/monitoring/dashboard_check.mjs <dashboard url> <query name> <screenshot.png> <user data dir>
// Run from the repository root so that node_modules resolves. Prints one JSON line; exit 0 = pass.
import { chromium } from "playwright-core";

const [url, queryName, screenshot, userDataDir] = process.argv.slice(2);
if (!url || !queryName || !screenshot || !userDataDir) {
  console.error("usage: dashboard_check.mjs <url> <query name> <screenshot.png> <user data dir>");
  process.exit(2);
}
const TIMEOUT_MS = 12000;
const origin = new URL(url).origin;
const problems = [];
let context;

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
    timeout: TIMEOUT_MS,
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on("console", (message) => {
    if (message.type() === "error") problems.push("console error: " + message.text());
  });
  page.on("pageerror", (error) => problems.push("page error: " + error.message));
  page.on("request", (request) => {
    const target = request.url();
    if (!target.startsWith(origin) && !target.startsWith("data:")) problems.push("request to another origin: " + target);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push("HTTP " + response.status() + " for " + response.url());
  });

  // The list shows the query; its link opens the query's page.
  await page.goto(url);
  const link = page.locator("a.query-link", { hasText: queryName });
  await link.waitFor();
  await link.click();
  await page.waitForFunction(() => location.hash.startsWith("#/query/"));

  // Every chart has a canvas, and uPlot drew at least two points into the rates chart.
  for (const chart of ["chart-rates", "chart-duration", "chart-watermark", "chart-state"]) {
    await page.locator(`#${chart} canvas`).waitFor();
  }

  // The displayed input row count is positive, then grows while we watch.
  const inputRows = () => page.evaluate(() => Number(document.getElementById("input-rows-total").dataset.value || 0));
  await page.waitForFunction(() => Number(document.getElementById("input-rows-total").dataset.value || 0) > 0);
  const first = await inputRows();
  await page.waitForFunction(
    (before) => Number(document.getElementById("input-rows-total").dataset.value || 0) > before, first);
  const second = await inputRows();
  const shownText = await page.locator("#input-rows-total").textContent();
  const lastEpoch = await page.locator("#last-batch-id").textContent();
  const name = await page.locator("#query-name").textContent();
  if (name !== queryName) problems.push(`the page names the query '${name}', not '${queryName}'`);

  // Let a few more polls draw into the charts before the picture.
  await page.waitForFunction(
    (before) => Number(document.getElementById("input-rows-total").dataset.value || 0) > before, second);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ first, second, shownText, lastEpoch, problems }));
} catch (error) {
  problems.push("failed: " + (error && error.message ? error.message : String(error)));
  console.log(JSON.stringify({ problems }));
} finally {
  if (context) await context.close().catch(() => {});
}
process.exit(problems.length === 0 ? 0 : 1);
