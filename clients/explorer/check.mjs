// Loads the explorer served by a live gateway in headless Chromium, runs a query from its
// UI (the execute button) and prints what the result pane shows. Exit 1 if anything fails.
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
  process.stdout.write(JSON.stringify({ shown, failures, external }) + "\n");
} finally {
  await browser.close();
}
