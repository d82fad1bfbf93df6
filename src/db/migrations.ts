/**
 * Reads the drizzle-kit migration folders (journal + SQL files) shipped in the package. Applying
 * them is per dialect (./pg/migrate.ts, ./sqlite/migrate.ts), each under its own lock.
 *
 * taskledger records applied migrations in its own table, taskledger_migrations, never in
 * drizzle's __drizzle_migrations: an application that uses drizzle for its own schema on the same
 * database must not have its history mixed with ours. Each set of table names has its own record
 * (tables.ts, migrationsTableName), so two sets live in one database or schema.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MigrationError } from "../errors.js";
import type { Dialect } from "./driver.js";
import { CELERY_TABLES, type Tables } from "./tables.js";

export interface Migration {
  tag: string;
  hash: string;
  createdAt: number;
  statements: string[];
}

const folders: Record<Dialect, URL> = {
  // src/db/ and dist/db/ are both two levels below the package root.
  postgresql: new URL("../../migrations/pg/", import.meta.url),
  sqlite: new URL("../../migrations/sqlite/", import.meta.url),
  mysql: new URL("../../migrations/mysql/", import.meta.url),
};

export function readMigrations(dialect: Dialect): Migration[] {
  const folder = folders[dialect];
  let journal: { entries: { tag: string; when: number }[] };
  try {
    journal = JSON.parse(readFileSync(new URL("meta/_journal.json", folder), "utf8"));
  } catch (error) {
    throw new MigrationError(`cannot read the migrations journal in ${fileURLToPath(folder)}: ${(error as Error).message}`);
  }
  return journal.entries.map((entry) => {
    const text = readFileSync(new URL(`${entry.tag}.sql`, folder), "utf8");
    return {
      tag: entry.tag,
      hash: createHash("sha256").update(text).digest("hex"),
      createdAt: entry.when,
      statements: text
        .split("--> statement-breakpoint")
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    };
  });
}

/** Migrations whose tag is not yet recorded, in journal order. */
export function pendingOf(all: Migration[], appliedTags: ReadonlySet<string>): Migration[] {
  return all.filter((m) => !appliedTags.has(m.tag));
}

/**
 * The CREATE TRIGGER statements of the history triggers, from the latest migration that made each
 * (SQLite's update trigger is re-created by 0005_history_order) and rewritten for the configured
 * names: switching history back on runs them again, so the trigger text lives in one place.
 */
export function historyTriggerStatements(dialect: Dialect, tables: Tables): string[] {
  const names = ["tl_history_insert", "tl_history_update"].map((suffix) => `${CELERY_TABLES.task}_${suffix}`);
  const latest = new Map<string, string>();
  for (const statement of readMigrations(dialect).flatMap((m) => m.statements)) {
    const s = statement.replace(/^(?:--[^\n]*\n\s*)+/, ""); // leading comments
    const name = names.find((n) => new RegExp(`^CREATE TRIGGER [\`"]${n}[\`"]`).test(s));
    if (name) latest.set(name, s);
  }
  const statements = names.flatMap((name) => (latest.has(name) ? [tables.rewriteMigration(latest.get(name)!)] : []));
  if (statements.length !== names.length)
    throw new MigrationError(`the history triggers are missing from ${fileURLToPath(folders[dialect])}; reinstall taskledger`);
  return statements;
}
