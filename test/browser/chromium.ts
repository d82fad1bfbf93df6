/**
 * Debian's Chromium, headless, driven by playwright-core: no browser download.
 * Without /usr/bin/chromium the browser suites skip with one line, except under CI=true, where
 * .ci/run installs the package first and a missing browser fails the run.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = process.env["TASKLEDGER_CHROMIUM"] ?? "/usr/bin/chromium";

/** false (run), or the one line saying why the browser suites skip. */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env["CI"] === "true")
    throw new Error(`Chromium is mandatory under CI=true but ${CHROMIUM} is missing (apt-get install -y chromium)`);
  const line = `${CHROMIUM} not found (apt-get install -y chromium); browser suites skipped`;
  console.log(`# ${line}`);
  return line;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}
