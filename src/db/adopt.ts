/**
 * Adopting tables another writer created (Celery's create_all, any Celery 4.x or 5.x, with or
 * without the extended columns). The first migration creates the tables; where they already
 * exist it is planned instead as the smallest change: the columns they lack (every one
 * nullable), the indexes they lack, the sequences they lack. Nothing existing is altered, so
 * Celery keeps working on the same tables. Used by every dialect's migrator.
 */

/** What the database already has, as the dialect's migrator found it. */
export interface ExistingSchema {
  /** Column names of each existing table, keyed by the table's name as the statements write it. */
  columns: Map<string, Set<string>>;
}

/** The name a CREATE TABLE statement creates, as written in it (quoted, maybe schema-qualified). */
export function createdTable(statement: string): string | undefined {
  return /^CREATE TABLE\s+(?:IF NOT EXISTS\s+)?((?:["`][^"`]+["`]\.)?["`][^"`]+["`])/i.exec(statement.trim())?.[1];
}

/** The table a CREATE [UNIQUE] INDEX statement indexes. */
function indexedTable(statement: string): string | undefined {
  return /\bON\s+((?:["`][^"`]+["`]\.)?["`][^"`]+["`])/i.exec(statement)?.[1];
}

/** Column definitions of a CREATE TABLE statement: [quoted name, type and modifiers]. */
function columnDefinitions(statement: string): [string, string, string][] {
  const body = statement.slice(statement.indexOf("(") + 1, statement.lastIndexOf(")"));
  return body
    .split("\n")
    .map((line) => line.trim().replace(/,$/, ""))
    .flatMap((line) => {
      const match = /^(["`])([^"`]+)\1\s+(.+)$/.exec(line);
      return match ? [[`${match[1]}${match[2]}${match[1]}`, match[2]!, match[3]!] as [string, string, string]] : [];
    });
}

/**
 * The statements that bring existing tables up to the first migration. `statements` are that
 * migration's statements, already rewritten for the configured names.
 */
export function planAdoption(statements: readonly string[], existing: ExistingSchema): string[] {
  const plan: string[] = [];
  for (const statement of statements) {
    const table = createdTable(statement);
    if (table !== undefined) {
      const present = existing.columns.get(table);
      if (!present) {
        plan.push(statement);
        continue;
      }
      for (const [quoted, name, definition] of columnDefinitions(statement)) {
        if (present.has(name)) continue;
        if (/PRIMARY KEY|NOT NULL/i.test(definition)) continue; // only nullable columns are ever added to another writer's table
        plan.push(`ALTER TABLE ${table} ADD COLUMN ${quoted} ${definition}`);
      }
      continue;
    }
    if (/^CREATE SEQUENCE\s/i.test(statement)) {
      plan.push(statement.replace(/^CREATE SEQUENCE\s+(?!IF NOT EXISTS)/i, "CREATE SEQUENCE IF NOT EXISTS "));
      continue;
    }
    if (/^CREATE UNIQUE INDEX\s/i.test(statement)) {
      // An existing table already has Celery's UNIQUE (task_id / taskset_id); a second unique index would only cost writes.
      if (!existing.columns.has(indexedTable(statement) ?? "")) plan.push(statement);
      continue;
    }
    if (/^CREATE INDEX\s/i.test(statement)) {
      plan.push(statement.replace(/^CREATE INDEX\s+(?!IF NOT EXISTS)/i, "CREATE INDEX IF NOT EXISTS "));
      continue;
    }
    plan.push(statement);
  }
  return plan;
}
