// Bundle the explorer into the gateway's static folder: one JS file and one CSS file, no CDN.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "gateway", "gateway", "static", "explorer");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { explorer: join(here, "src", "index.jsx") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: out,
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".svg": "dataurl" },
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
console.log(`explorer bundled into ${out}`);
