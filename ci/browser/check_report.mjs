// Opens an mcp-harness report.html in Debian's chromium (headless) and prints,
// as one JSON line, what a reader would meet: load time, console errors,
// requests that left the file, diagrams per case, whether a click on a finding
// brings its record into view, and what the filters and the search show.
// With a screenshot path and a case name, also saves a picture of that case.
//
// Usage: node check_report.mjs REPORT.html [SCREENSHOT.png CASE_SCENARIO]
//        node check_report.mjs --load-only REPORT.html   (time to load, for benchmarks)
import { chromium } from "playwright-core";
import path from "node:path";

const args = process.argv.slice(2);
const loadOnly = args[0] === "--load-only";
if (loadOnly) args.shift();
const [report, screenshot, screenshotCase] = args;
if (!report) {
  console.error("usage: node check_report.mjs REPORT.html [SCREENSHOT.png CASE_SCENARIO]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const result = { errors: [], external: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("console", (message) => {
    if (message.type() === "error") result.errors.push(message.text());
  });
  page.on("pageerror", (error) => result.errors.push(String(error)));
  page.on("request", (request) => {
    if (!request.url().startsWith("file:") && !request.url().startsWith("data:")) result.external.push(request.url());
  });
  const started = Date.now();
  await page.goto("file://" + path.resolve(report), { waitUntil: "load" });
  // The first diagram drawn: the page is usable.
  await page.locator("svg.diagram").first().waitFor({ state: "attached" });
  result.loadMs = Date.now() - started;
  if (!loadOnly) {
    result.cases = await page.locator("section.case").count();
    result.casesWithOneDiagram = await page.evaluate(
      () => Array.from(document.querySelectorAll("section.case")).filter((s) => s.querySelectorAll("svg.diagram").length === 1).length
    );

    // Cases whose faults are told in a line ("faults: cut #13 · ...").
    result.stories = await page.locator("section.case p.story").count();

    // A click on a finding's record scrolls to that record.
    const link = page.locator("ol.findings a.jump").first();
    if ((await link.count()) > 0) {
      const seq = await link.getAttribute("data-seq");
      const caseIndex = await link.evaluate((a) => a.closest("section.case").dataset.case);
      const before = await page.evaluate(() => window.scrollY);
      await link.click();
      const rowId = "c" + caseIndex + "-r" + seq;
      await page.waitForFunction((id) => document.getElementById(id)?.classList.contains("flash"), rowId);
      result.findingClick = await page.evaluate(
        ([id, before]) => {
          const row = document.getElementById(id);
          const box = row.getBoundingClientRect();
          return {
            row: id,
            inView: box.top >= 0 && box.bottom <= window.innerHeight,
            scrolled: window.scrollY !== before,
            detailShown: !row.closest(".diagram-block").querySelector("pre.detail").hidden,
          };
        },
        [rowId, before]
      );
    }

    // Paging: the next page of a long diagram replaces the one shown.
    const paged = await page.evaluate(() => {
      const button = document.querySelector(".pager button.next:not([disabled])");
      return button ? button.closest(".diagram-block").dataset.case : null;
    });
    if (paged !== null) {
      const block = `.diagram-block[data-case="${paged}"]`;
      const firstRow = () => page.locator(`${block} g.r`).first().getAttribute("id");
      const before = await firstRow();
      await page.locator(`${block} .pager button.next`).click();
      await page.waitForFunction(
        ([selector, id]) => document.querySelector(selector + " g.r")?.id !== id,
        [block, before]
      );
      result.pager = { before, after: await firstRow(), where: await page.locator(`${block} .where`).textContent() };
    }

    const visibleCases = () => page.evaluate(() => document.querySelectorAll("section.case:not([hidden])").length);
    result.filters = { all: await visibleCases() };
    // Outcome filter: only failing cases.
    result.filters.failingInPage = await page.locator("section.case[data-status=FAIL]").count();
    for (const box of await page.locator("input.outcome").all()) {
      if ((await box.getAttribute("value")) !== "FAIL") await box.uncheck();
    }
    result.filters.onlyFail = await visibleCases();
    for (const box of await page.locator("input.outcome").all()) await box.check();
    // Search: a word nowhere in the page hides every case; a case's scenario shows it.
    await page.fill("#search", "no-such-word-anywhere-xyzzy");
    await page.waitForFunction(() => document.querySelectorAll("section.case:not([hidden])").length === 0);
    result.filters.nonsenseSearch = await visibleCases();
    const firstScenario = await page.locator("section.case").first().getAttribute("data-scenario");
    await page.fill("#search", firstScenario);
    await page.waitForFunction(() => document.querySelectorAll("section.case:not([hidden])").length > 0);
    result.filters.scenarioSearch = await visibleCases();
    await page.fill("#search", "");
    await page.waitForFunction((n) => document.querySelectorAll("section.case:not([hidden])").length === n, result.filters.all);
    // Check filter: the first check that broke somewhere.
    const check = await page.locator("#check-filter option").nth(1);
    if ((await check.count()) > 0) {
      const value = await check.getAttribute("value");
      await page.selectOption("#check-filter", value);
      result.filters.check = { check: value, shown: await visibleCases() };
      result.filters.check.expected = await page.evaluate(
        (c) => Array.from(document.querySelectorAll("section.case")).filter((s) => s.dataset.broken.split(" ").includes(c)).length,
        value
      );
      await page.selectOption("#check-filter", "");
    }

    if (screenshot && screenshotCase) {
      // The sticky filter bar would cover the top of the case.
      await page.addStyleTag({ content: "#filters { position: static; }" });
      const section = page.locator(`section.case[data-scenario="${screenshotCase}"]`).first();
      await section.scrollIntoViewIfNeeded();
      await section.screenshot({ path: screenshot });
      result.screenshot = screenshot;
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
