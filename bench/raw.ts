/**
 * The floor: the raw driver (node-postgres, better-sqlite3) running by hand the SQL a careful
 * developer would write for the same job, on taskledger's tables. It does the work the job
 * itself needs (JSON-encode the value, upsert with the "a ready state is never replaced by an
 * unready one" guard, JSON-decode on read) and nothing taskledger adds on top (no NOTIFY for
 * waiters, no retry, no validation, no exception rebuilding, no lineage columns).
 */
import Database from "better-sqlite3";
import pg from "pg";
import { buildStatements } from "../src/db/pg/statements.js";
import { resolveTables } from "../src/db/tables.js";

const TABLES = resolveTables("postgresql");
const EXACT = buildStatements(TABLES);

export interface RawDriver {
  store(taskId: string, value: unknown): Promise<void>;
  /**
   * PostgreSQL only: taskledger's own statements (the no-id-burn CTE upsert) sent
   * by the raw driver, so the ratio to taskledger isolates the library's own overhead.
   */
  storeExact?(taskId: string, value: unknown): Promise<void>;
  storeManyExact?(items: readonly { taskId: string; value: unknown }[]): Promise<number>;
  /** One row by id, its result decoded. */
  read(taskId: string): Promise<unknown>;
  /** All rows in one query, results decoded, keyed by id. */
  readMany(taskIds: readonly string[]): Promise<Map<string, unknown>>;
  /** Many results in one statement (PostgreSQL) or one transaction (SQLite). */
  storeMany(items: readonly { taskId: string; value: unknown }[]): Promise<number>;
  close(): Promise<void>;
}

const READY = "('SUCCESS', 'FAILURE', 'REVOKED')";
const GUARD = `WHERE celery_taskmeta.status NOT IN ${READY} OR excluded.status IN ${READY}`;
const COLUMNS = "task_id, status, result, date_done, traceback, name, args, kwargs, worker, retries, queue";

function naiveNow(): string {
  const iso = new Date().toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
const decode = (bytes: Buffer | null) => (bytes === null ? null : JSON.parse(bytes.toString("utf8")));

const PG_STORE = `
  INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_updated)
  VALUES (nextval('task_id_sequence'), $1, 'SUCCESS', $2, $3, $3)
  ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, result = excluded.result,
    date_done = excluded.date_done, date_updated = excluded.date_updated
  ${GUARD}`;
const PG_STORE_MANY = `
  INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_updated)
  SELECT nextval('task_id_sequence'), i.task_id, 'SUCCESS', i.result, $3::timestamp, $3::timestamp
  FROM unnest($1::varchar[], $2::bytea[]) AS i(task_id, result)
  ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, result = excluded.result,
    date_done = excluded.date_done, date_updated = excluded.date_updated
  ${GUARD}`;

/** One pg.Client, named prepared statements. */
export async function rawPg(url: string): Promise<RawDriver> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    async store(taskId, value) {
      await client.query({ name: "raw_store", text: PG_STORE, values: [taskId, encode(value), naiveNow()] });
    },
    async storeExact(taskId, value) {
      const now = naiveNow();
      await client.query({
        name: "raw_store_exact",
        text: EXACT.taskStore,
        values: [taskId, "SUCCESS", encode(value), now, null, null, null, null, null, null, null, null, null, null, now, false, true],
      });
    },
    async storeManyExact(items) {
      const now = naiveNow();
      const n = items.length;
      const nulls = () => new Array(n).fill(null);
      const r = await client.query({
        name: "raw_store_many_exact",
        text: EXACT.taskStoreMany,
        values: [
          items.map((i) => i.taskId),
          new Array(n).fill("SUCCESS"),
          items.map((i) => encode(i.value)),
          new Array(n).fill(now),
          nulls(),
          nulls(),
          nulls(),
          nulls(),
          nulls(),
          nulls(),
          nulls(),
          nulls(),
          nulls(),
          nulls(),
          new Array(n).fill(now),
          false,
          true,
        ],
      });
      return r.rows[0].written;
    },
    async read(taskId) {
      const { rows } = await client.query({
        name: "raw_read",
        text: `SELECT ${COLUMNS} FROM celery_taskmeta WHERE task_id = $1`,
        values: [taskId],
      });
      const row = rows[0];
      return row ? { ...row, result: decode(row.result) } : undefined;
    },
    async readMany(taskIds) {
      const { rows } = await client.query({
        name: "raw_read_many",
        text: `SELECT ${COLUMNS} FROM celery_taskmeta WHERE task_id = ANY($1::varchar[])`,
        values: [taskIds],
      });
      return new Map(rows.map((row) => [row.task_id as string, { ...row, result: decode(row.result) }]));
    },
    async storeMany(items) {
      const ids = items.map((i) => i.taskId);
      const results = items.map((i) => encode(i.value));
      const r = await client.query({ name: "raw_store_many", text: PG_STORE_MANY, values: [ids, results, naiveNow()] });
      return r.rowCount ?? 0;
    },
    close: () => client.end(),
  };
}

/** One better-sqlite3 connection in WAL mode with synchronous=NORMAL, as taskledger opens it. */
export function rawSqlite(file: string): RawDriver {
  const db = new Database(file);
  db.pragma("busy_timeout = 5000");
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const store = db.prepare(`
    INSERT INTO celery_taskmeta (task_id, status, result, date_done, date_updated) VALUES (?, 'SUCCESS', ?, ?, ?)
    ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, result = excluded.result,
      date_done = excluded.date_done, date_updated = excluded.date_updated
    ${GUARD}`);
  const read = db.prepare(`SELECT ${COLUMNS} FROM celery_taskmeta WHERE task_id = ?`);
  const readMany = db.prepare(`SELECT ${COLUMNS} FROM celery_taskmeta WHERE task_id IN (SELECT value FROM json_each(?))`);
  const storeMany = db.transaction((items: readonly { taskId: string; value: unknown }[]) => {
    const now = naiveNow();
    let written = 0;
    for (const item of items) written += store.run(item.taskId, encode(item.value), now, now).changes;
    return written;
  });
  type Row = { task_id: string; result: Buffer | null };
  return {
    async store(taskId, value) {
      const now = naiveNow();
      store.run(taskId, encode(value), now, now);
    },
    async read(taskId) {
      const row = read.get(taskId) as Row | undefined;
      return row ? { ...row, result: decode(row.result) } : undefined;
    },
    async readMany(taskIds) {
      const rows = readMany.all(JSON.stringify(taskIds)) as Row[];
      return new Map(rows.map((row) => [row.task_id, { ...row, result: decode(row.result) }]));
    },
    async storeMany(items) {
      return storeMany.immediate(items);
    },
    close: async () => {
      db.close();
    },
  };
}
