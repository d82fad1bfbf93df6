/**
 * The page's static files, bundled into the package at build time (no CDN, works offline):
 * scripts/copy-web-assets.mjs copies src/web/assets and uPlot's dist files into dist/web/assets.
 * Run from source (tests through tsx), uPlot is read from node_modules instead.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export interface Asset {
  body: Buffer;
  type: string;
}

const FILES: Record<string, { type: string; module?: string }> = {
  "app.js": { type: "text/javascript; charset=utf-8" },
  "app.css": { type: "text/css; charset=utf-8" },
  "uPlot.iife.min.js": { type: "text/javascript; charset=utf-8", module: "uplot/dist/uPlot.iife.min.js" },
  "uPlot.min.css": { type: "text/css; charset=utf-8", module: "uplot/dist/uPlot.min.css" },
};

/** Reads every asset once; throws when one is missing (a broken build, not a runtime state). */
export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const require = createRequire(import.meta.url);
  for (const [name, info] of Object.entries(FILES)) {
    let body: Buffer;
    try {
      body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    } catch (error) {
      if (!info.module) throw error;
      body = readFileSync(require.resolve(info.module));
    }
    assets.set(name, { body, type: info.type });
  }
  return assets;
}
