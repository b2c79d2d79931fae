// Bundles src/ into ../node/dashboard/static/ (committed; the node serves it, the wheel ships it).
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

// DASHBOARD_OUT: another folder (the freshness test builds there and compares).
const out = process.env.DASHBOARD_OUT || new URL("../node/dashboard/static/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: "src/main.js" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  outdir: out,
  legalComments: "linked",
  loader: { ".css": "css" },
  logLevel: "warning",
});
copyFileSync("src/index.html", out.replace(/\/?$/, "/") + "index.html");
