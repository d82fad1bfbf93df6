/** SQLite for tests: real files in a fresh temp directory per suite. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir {
  path: string;
  file(name: string): string;
  remove(): void;
}

export function tempDir(label: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `taskledger-${label}-`));
  let counter = 0;
  return {
    path,
    file: (name) => join(path, `${++counter}-${name}`),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
