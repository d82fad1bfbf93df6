/**
 * What naming a cleanup batch by key (task_id) instead of by ctid costs per batch on an
 * unpartitioned table. Two copies of the same filled table; batches alternate between them (the
 * ctid statement shipped before batches were named by key on one, today's statement on the
 * other), so load from elsewhere on the machine falls on both sides alike. Target: key <= 1.5x
 * ctid per batch.
 *
 *   npx tsx bench/cleanup-by-key.ts [--rows 1000000] [--batch 5000] [--batches 60]
 */
import pg from "pg";
import { openBackend } from "../src/index.js";
import { buildStatements } from "../src/db/pg/statements.js";
import { resolveTables } from "../src/db/tables.js";
import { createPg, dropAll } from "./databases.js";
import { fmt, fmtAuto, median, numberArg } from "./lib.js";

const ROWS = numberArg("rows", 1_000_000);
const BATCH = numberArg("batch", 5_000);
const BATCHES = numberArg("batches", 60);

/** The ctid statement shipped before batches were named by key, kept here as the baseline. */
const CTID_DELETE = `
  DELETE FROM celery_taskmeta WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM celery_taskmeta
    WHERE date_done < $1::timestamp
      AND ($3::varchar[] IS NULL OR status = ANY($3::varchar[]))
      AND ($4::varchar[] IS NULL OR status IS NULL OR NOT (status = ANY($4::varchar[])))
    ORDER BY date_done LIMIT $2::int))`;
const KEY_DELETE = buildStatements(resolveTables("postgresql")).taskDeleteExpired;

async function filled(label: string): Promise<pg.Client> {
  const db = await createPg(label);
  const backend = await openBackend({ url: db.url });
  await backend.close();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  // 90% of the rows expired (a year old, oldest first), the rest fresh; ids as Celery's uuids.
  await client.query(
    `
    INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_updated)
    SELECT g, md5(g::text)::uuid::text, 'SUCCESS', '\\x7b7d'::bytea,
           CASE WHEN g <= $1 * 0.9 THEN now()::timestamp - interval '365 days' + g * interval '1 ms' ELSE now()::timestamp END,
           now()::timestamp
    FROM generate_series(1, $1::int) AS g`,
    [ROWS],
  );
  await client.query("SELECT setval('task_id_sequence', $1)", [ROWS]);
  await client.query("VACUUM ANALYZE celery_taskmeta");
  return client;
}

async function main(): Promise<void> {
  const ctidSide = await filled("bykey_ctid");
  const keySide = await filled("bykey_key");
  try {
    const before = new Date(Date.now() - 86_400_000).toISOString().replace("T", " ").replace("Z", "");
    const times = { ctid: [] as number[], key: [] as number[] };
    const deleted = { ctid: 0, key: 0 };
    for (let i = 0; i < BATCHES; i++) {
      const order = i % 2 === 0 ? (["ctid", "key"] as const) : (["key", "ctid"] as const);
      for (const side of order) {
        const client = side === "ctid" ? ctidSide : keySide;
        const started = process.hrtime.bigint();
        const result = await client.query(side === "ctid" ? CTID_DELETE : KEY_DELETE, [before, BATCH, null, null]);
        times[side].push(Number(process.hrtime.bigint() - started) / 1e6);
        deleted[side] += result.rowCount ?? 0;
      }
    }
    const ratio = median(times.key) / median(times.ctid);
    process.stdout.write(
      [
        `cleanup batch by key vs by ctid: ${fmt(ROWS)} rows (90% expired), ${BATCHES} batches of ${fmt(BATCH)} each side, interleaved`,
        `| statement | median ms per batch | min–max | rows deleted |`,
        `|---|---|---|---|`,
        `| by ctid (before) | ${fmtAuto(median(times.ctid))} | ${fmtAuto(Math.min(...times.ctid))}–${fmtAuto(Math.max(...times.ctid))} | ${fmt(deleted.ctid)} |`,
        `| by id (now) | ${fmtAuto(median(times.key))} | ${fmtAuto(Math.min(...times.key))}–${fmtAuto(Math.max(...times.key))} | ${fmt(deleted.key)} |`,
        `key / ctid = ${ratio.toFixed(2)}x (target <= 1.5x): ${ratio <= 1.5 ? "met" : "NOT met"}`,
        "",
      ].join("\n"),
    );
  } finally {
    await ctidSide.end();
    await keySide.end();
    await dropAll();
  }
}

await main();
