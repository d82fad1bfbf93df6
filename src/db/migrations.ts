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
      statements: text.split("--> statement-breakpoint").map((s) => s.trim()).filter((s) => s.length > 0),
    };
  });
}

/** Migrations whose tag is not yet recorded, in journal order. */
export function pendingOf(all: Migration[], appliedTags: ReadonlySet<string>): Migration[] {
  return all.filter((m) => !appliedTags.has(m.tag));
}
