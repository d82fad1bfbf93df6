/** The CLI suite on a real MariaDB/MySQL server (see test/cli/suite.ts). */
import { cliSuite } from "./cli/suite.js";
import { retentionInputSuite } from "./cli/retention-input.js";
import type { Harness } from "./helpers/harness.js";
import { createTestDatabase, MYSQL_URL, mysqlSkip, queryDatabase, type TestDatabase } from "./helpers/mysql.js";

const databases: TestDatabase[] = [];
const RAW_COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);
/** A user with a password: unlike PostgreSQL's trust auth, MySQL checks the password it is given. */
const PASSWORD_USER = { user: "taskledger_cli", password: "hunter2" };

const harness = {
  dialect: "mysql",
  freshUrl: async (label: string) => {
    const db = await createTestDatabase(label);
    databases.push(db);
    return db.url;
  },
  setRaw: async (url: string, taskId: string, column: string, value: Buffer | string | number | null) => {
    // The named column, checked against a list (it is spliced into the statement).
    if (!RAW_COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
    await queryDatabase(url, `UPDATE celery_taskmeta SET ${column} = ? WHERE task_id = ?`, [value, taskId]);
  },
  cleanup: async () => {
    await Promise.all(databases.splice(0).map((db) => db.drop()));
  },
} as unknown as Harness;

const skip = await mysqlSkip();
if (!skip) {
  await queryDatabase(MYSQL_URL, "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [PASSWORD_USER.user, PASSWORD_USER.password]);
  await queryDatabase(MYSQL_URL, "GRANT ALL PRIVILEGES ON *.* TO ?@'%'", [PASSWORD_USER.user]);
}

// These run first: the CLI suite's after() removes what the harness made, their databases too.
retentionInputSuite(harness, skip);

// Every successful command prints a URL that must come out masked.
cliSuite(harness, skip, {
  withPassword: (url) => {
    const parsed = new URL(url);
    parsed.username = PASSWORD_USER.user;
    parsed.password = PASSWORD_USER.password;
    return parsed.toString();
  },
});
