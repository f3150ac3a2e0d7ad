// Loads the explorer served by a live gateway in headless Chromium, runs a query from its
// UI (the execute button), opens Docs on the Outing type and asks the editor to autocomplete,
// and prints what it saw. Exit 1 if anything fails.
import { chromium } from "playwright-core";

const url = `${process.env.GATEWAY_URL}/graphql?q=${encodeURIComponent("{ cities { slug } }")}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  const failures = [];
  page.on("pageerror", (error) => failures.push(String(error)));
  page.on("requestfailed", (request) => failures.push(`${request.url()} ${request.failure()?.errorText}`));
  await page.goto(url, { waitUntil: "load", timeout: 20000 });
  await page.waitForSelector(".graphiql-container", { timeout: 20000 });
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(() => document.querySelector(".result-window")?.innerText.includes("paris"), null, {
    timeout: 20000,
  });
  // CodeMirror renders indentation as no-break spaces.
  const shown = (await page.evaluate(() => document.querySelector(".result-window").innerText)).replace(/\u00a0/g, " ");
  const external = await page.evaluate(() =>
    performance.getEntriesByType("resource").map((r) => r.name).filter((name) => !name.startsWith(location.origin)),
  );
  // Docs: needs the schema, i.e. the standard introspection query passing the gateway's limits.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  await page.fill(".graphiql-doc-explorer-search-input input", "Outing");
  await page.locator('[role="option"]', { hasText: /^Outing$/ }).click({ timeout: 20000 });
  await page.waitForSelector(".graphiql-doc-explorer-field-name", { timeout: 20000 });
  const docs = await page.evaluate(() => ({
    title: document.querySelector(".graphiql-doc-explorer-title")?.innerText,
    fields: [...document.querySelectorAll(".graphiql-doc-explorer-field-name")].map((e) => e.innerText),
  }));
  // Autocomplete: type the start of a field in the query editor and read the hints offered.
  await page.click(".graphiql-query-editor .CodeMirror");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type("{ citi");
  await page.waitForSelector(".CodeMirror-hints li", { timeout: 20000 });
  const hints = await page.evaluate(() => [...document.querySelectorAll(".CodeMirror-hints li")].map((e) => e.innerText));
  process.stdout.write(JSON.stringify({ shown, failures, external, docs, hints }) + "\n");
} finally {
  await browser.close();
}
