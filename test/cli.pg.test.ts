/** The CLI suite on a real PostgreSQL server (see test/cli/suite.ts). */
import { cliSuite } from "./cli/suite.js";
import { secretsSuite } from "./cli/secrets.js";
import { retentionInputSuite } from "./cli/retention-input.js";
import type { Harness } from "./helpers/harness.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "./helpers/pg.js";

const databases: TestDatabase[] = [];
const RAW_COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);
const harness = {
  dialect: "postgresql",
  freshUrl: async (label: string) => {
    const db = await createTestDatabase(label);
    databases.push(db);
    return db.url;
  },
  setRaw: async (url: string, taskId: string, column: string, value: Buffer | string | number | null) => {
    // The named column, checked against a list (it is spliced into the statement).
    if (!RAW_COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
    await queryDatabase(url, `UPDATE celery_taskmeta SET ${column} = $1 WHERE task_id = $2`, [value, taskId]);
  },
  cleanup: async () => {
    await Promise.all(databases.splice(0).map((db) => db.drop()));
  },
} as unknown as Harness;

// These run first: the CLI suite's after() removes what the harness made, their databases too.
secretsSuite(harness, await pgSkip());
retentionInputSuite(harness, await pgSkip());

// The test server trusts local connections, so a password in the URL is accepted and ignored:
// every successful command prints a URL that must come out masked.
cliSuite(harness, await pgSkip(), {
  withPassword: (url) => {
    const parsed = new URL(url);
    parsed.password = "hunter2";
    return parsed.toString();
  },
});
