// Bundles the web view's static files into the package at build time (no CDN, works
// offline): the page script and styles from src/web/assets, uPlot's dist files from node_modules.
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const target = new URL("../dist/web/assets/", import.meta.url);
mkdirSync(target, { recursive: true });
const source = new URL("../src/web/assets/", import.meta.url);
for (const name of readdirSync(source)) copyFileSync(new URL(name, source), new URL(name, target));
for (const file of ["uplot/dist/uPlot.iife.min.js", "uplot/dist/uPlot.min.css"]) {
  copyFileSync(require.resolve(file), new URL(file.split("/").pop(), target));
}
