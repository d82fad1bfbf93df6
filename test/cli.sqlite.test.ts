/** The CLI suite on real SQLite files (see test/cli/suite.ts). */
import Database from "better-sqlite3";
import { cliSuite } from "./cli/suite.js";
import { secretsSuite } from "./cli/secrets.js";
import { retentionInputSuite } from "./cli/retention-input.js";
import type { Harness } from "./helpers/harness.js";
import { tempDir } from "./helpers/sqlite.js";

const dir = tempDir("cli");
const RAW_COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);
const harness = {
  dialect: "sqlite",
  freshUrl: async (label: string) => `sqlite:${dir.file(`${label}.db`)}`,
  setRaw: async (url: string, taskId: string, column: string, value: Buffer | string | number | null) => {
    // The named column, checked against a list (it is spliced into the statement).
    if (!RAW_COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
    const db = new Database(url.replace(/^sqlite:/, ""));
    db.prepare(`UPDATE celery_taskmeta SET ${column} = ? WHERE task_id = ?`).run(value, taskId);
    db.close();
  },
  cleanup: async () => dir.remove(),
} as unknown as Harness;

// These run first: the CLI suite's after() removes what the harness made, their databases too.
secretsSuite(harness, false);
retentionInputSuite(harness, false);

// SQLite URLs carry no password; a file path cannot leak one.
cliSuite(harness, false, { withPassword: (url) => url });
