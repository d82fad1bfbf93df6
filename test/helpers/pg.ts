/**
 * PostgreSQL for tests: each suite gets its own database, created from TASKLEDGER_TEST_PG_URL's
 * server and dropped afterwards. Without a server the PostgreSQL suites skip with one line,
 * except under CI=true, where they are mandatory and fail.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const PG_URL = process.env["TASKLEDGER_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

let availability: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL answers, else the reason it does not. */
export function pgUnavailable(): Promise<string | undefined> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return undefined;
    } catch (error) {
      return (error as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

/** The `skip` option for a PostgreSQL suite: false (run), or the one line saying why not. */
export async function pgSkip(): Promise<string | false> {
  const reason = await pgUnavailable();
  if (reason === undefined) return false;
  if (process.env["CI"] === "true") throw new Error(`PostgreSQL is mandatory under CI=true but ${PG_URL} does not answer: ${reason}`);
  const line = `PostgreSQL at ${PG_URL} does not answer (${reason}); PostgreSQL suites skipped`;
  console.log(`# ${line}`);
  return line;
}

export function urlForDatabase(name: string): string {
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database on the test server: empty, or a copy of `template` (a database nobody is
 * connected to; copying one is ~30 ms where migrating an empty one is ~150-250 ms).
 */
export async function createTestDatabase(label: string, template?: string): Promise<TestDatabase> {
  const name = `tl_${label.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;
  await adminQuery(template === undefined ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`);
  return {
    name,
    url: urlForDatabase(name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Runs one statement on a database with a throwaway client. */
export async function queryDatabase<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
