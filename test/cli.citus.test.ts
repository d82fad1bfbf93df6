/**
 * The CLI suite through a Citus coordinator (TASKLEDGER_TEST_CITUS_URL): every database the suite
 * gets is migrated and distributed (`migrate --distribute`) first.
 */
import { cliSuite } from "./cli/suite.js";
import type { Harness } from "./helpers/harness.js";
import { citusSkip, createCitusDatabase } from "./helpers/citus.js";
import { queryDatabase, type TestDatabase } from "./helpers/pg.js";

const databases: TestDatabase[] = [];
const RAW_COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);
const harness = {
  dialect: "postgresql",
  citus: true,
  freshUrl: async (label: string) => {
    const db = await createCitusDatabase(label);
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

cliSuite(harness, await citusSkip(), {
  withPassword: (url) => {
    const parsed = new URL(url);
    parsed.password = "hunter2";
    return parsed.toString();
  },
});
