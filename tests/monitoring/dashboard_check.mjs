// Opens the Sluice dashboard in headless Chromium and checks what a user sees.
// First check, a running query: the list links to the query's page, the charts are drawn with at
// least five points each, the page names the query, shows a non-zero input rate, the input row
// count grows while the page is open, and the physical plan is on the page. Second check, a
// failed query: the list says it failed and its page shows its error. Throughout, nothing is
// fetched from another origin and nothing is logged as an error.
//
// usage: node tests/monitoring/dashboard_check.mjs <config JSON>, config:
//   {url, queryName, planText, failedQueryName, failedError, screenshots: [...], userDataDir}
// Run from the repository root so that node_modules resolves. Prints one JSON line; exit 0 = pass.
import { chromium } from "playwright-core";

const config = JSON.parse(process.argv[2] || "null");
if (!config || !config.url || !config.queryName || !config.userDataDir || !(config.screenshots || []).length) {
  console.error("usage: dashboard_check.mjs '{\"url\":...,\"queryName\":...,\"screenshots\":[...],\"userDataDir\":...}'");
  process.exit(2);
}
const { url, queryName, planText, failedQueryName, failedError, screenshots, userDataDir } = config;
const TIMEOUT_MS = 15000;
const MIN_POINTS = 5;
const origin = new URL(url).origin;
const problems = [];
const seen = {};
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

  // ---- the running query ----
  await page.goto(url);
  const link = page.locator("a.query-link", { hasText: queryName });
  await link.waitFor();
  const row = page.locator("#query-table tr", { has: link });
  seen.listState = (await row.locator(".badge").textContent()).trim();
  if (seen.listState !== "active") problems.push(`the list shows '${queryName}' as '${seen.listState}', not 'active'`);
  if (failedQueryName) {
    const failedRow = page.locator("#query-table tr", { has: page.locator("a.query-link", { hasText: failedQueryName }) });
    seen.failedListState = (await failedRow.locator(".badge").textContent()).trim();
    if (seen.failedListState !== "failed") problems.push(`the list shows '${failedQueryName}' as '${seen.failedListState}', not 'failed'`);
  }
  await link.click();
  await page.waitForFunction(() => location.hash.startsWith("#/query/"));

  // Every chart is drawn from at least MIN_POINTS reports (the fewest points any chart was fed).
  for (const chart of ["chart-rates", "chart-duration", "chart-watermark", "chart-state", "chart-lag"]) {
    await page.locator(`#${chart} canvas`).waitFor();
  }
  await page.waitForFunction((min) => (window.__sluiceChartPoints || 0) >= min, MIN_POINTS);
  seen.chartPoints = await page.evaluate(() => window.__sluiceChartPoints);

  // The displayed input row count is positive, then grows while we watch.
  const inputRows = () => page.evaluate(() => Number(document.getElementById("input-rows-total").dataset.value || 0));
  await page.waitForFunction(() => Number(document.getElementById("input-rows-total").dataset.value || 0) > 0);
  seen.first = await inputRows();
  await page.waitForFunction(
    (before) => Number(document.getElementById("input-rows-total").dataset.value || 0) > before, seen.first);
  seen.second = await inputRows();
  seen.inputRate = await page.evaluate(() => Number(document.getElementById("input-rate").dataset.value || 0));
  if (!(seen.inputRate > 0)) problems.push(`the input rate shown is ${seen.inputRate}, not above 0`);
  seen.name = await page.locator("#query-name").textContent();
  if (seen.name !== queryName) problems.push(`the page names the query '${seen.name}', not '${queryName}'`);
  seen.plan = await page.locator("#query-plan").textContent();
  if (planText && !seen.plan.includes(planText)) problems.push(`the plan shown lacks '${planText}': ${seen.plan}`);
  seen.operatorRows = await page.locator("#operator-table tbody tr").count();
  if (seen.operatorRows === 0) problems.push("the plan's table of operators is empty");

  for (const path of screenshots) await page.screenshot({ path, fullPage: true });

  // ---- the failed query ----
  if (failedQueryName) {
    await page.goto(url + "#/");
    const failedLink = page.locator("a.query-link", { hasText: failedQueryName });
    await failedLink.click();
    await page.waitForFunction((name) => document.getElementById("query-name").textContent === name, failedQueryName);
    const error = page.locator("#query-error");
    await error.waitFor({ state: "visible" });
    seen.failedError = await error.textContent();
    if (!seen.failedError.includes(failedError)) problems.push(`the failed query's page shows '${seen.failedError}', not '${failedError}'`);
    seen.failedState = (await page.locator("#query-status").textContent()).trim();
    if (seen.failedState !== "failed") problems.push(`the failed query's page says '${seen.failedState}', not 'failed'`);
  }
  console.log(JSON.stringify({ ...seen, problems }));
} catch (error) {
  problems.push("failed: " + (error && error.message ? error.message : String(error)));
  console.log(JSON.stringify({ ...seen, problems }));
} finally {
  if (context) await context.close().catch(() => {});
}
process.exit(problems.length === 0 ? 0 : 1);
