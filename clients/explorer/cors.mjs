// A web page on another origin (a dev server on another port, as with `make up`) calls the
// gateway from headless Chromium: a POST with the headers browser apps send (bearer token,
// Idempotency-Key, Apollo Client's), and a GET. Prints one JSON line of what the page saw.
import http from "node:http";
import { chromium } from "playwright-core";

const gateway = `${process.env.GATEWAY_URL}/graphql`;
const server = http.createServer((request, response) => {
  response.writeHead(200, { "content-type": "text/html" });
  response.end("<!doctype html><title>app</title><p>a front-end app</p>");
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  await page.goto(origin, { waitUntil: "load", timeout: 20000 });
  const seen = await page.evaluate(async ({ gateway, token }) => {
    const post = await fetch(gateway, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
        authorization: `Bearer ${token}`,
        "idempotency-key": "cors-check-1",
        "apollographql-client-name": "parentnet-web",
        "apollographql-client-version": "1.0.0",
        "apollo-require-preflight": "true",
      },
      body: JSON.stringify({ query: "{ viewer { id } cities { slug } }" }),
    });
    const get = await fetch(`${gateway}?query=${encodeURIComponent("{ cities { slug } }")}`);
    return {
      origin: location.origin,
      post: { status: post.status, body: await post.json() },
      get: { status: get.status, body: await get.json() },
    };
  }, { gateway, token: process.env.TOKEN });
  process.stdout.write(JSON.stringify(seen) + "\n");
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error) }) + "\n");
  process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
