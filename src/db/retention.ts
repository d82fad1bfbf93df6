/**
 * Retention rules and holds in SQL, written once for every dialect with drizzle's `sql`
 * template (the glob match is the one fragment that differs). A rule governs the rows it matches
 * that no more specific rule matches; src/cleanup/retention.ts ranks the rules.
 */
import { sql, type SQL } from "drizzle-orm";
import type { AuditFragments } from "./audit.js";
import type { DeleteByRuleParams, RulePredicate } from "./types.js";
import { notHeldSql } from "./holds.js";
import { toNaiveUtc } from "./naive-utc.js";
import type { Tables } from "./tables.js";

/** A rule's criteria as a boolean that is false (never NULL) on rows with NULL columns. */
export function ruleMatch(rule: RulePredicate, f: AuditFragments): SQL {
  const parts: SQL[] = [];
  if (rule.states) parts.push(sql`(status IS NOT NULL AND status IN ${rule.states})`);
  if (rule.name !== undefined) parts.push(sql`(name IS NOT NULL AND ${f.glob(sql`name`, rule.name)})`);
  if (rule.queue !== undefined) parts.push(sql`(queue IS NOT NULL AND ${f.glob(sql`queue`, rule.queue)})`);
  return parts.length === 0 ? sql`1 = 1` : sql.join(parts, sql` AND `);
}

/** The rows a rule governs that expired before `before`, held ones excluded. */
export function governedExpired(t: Tables, f: AuditFragments, p: Omit<DeleteByRuleParams, "limit">): SQL {
  const parts: SQL[] = [sql`date_done < ${toNaiveUtc(p.before)}`, ruleMatch(p.rule, f)];
  for (const other of p.outranked) parts.push(sql`NOT (${ruleMatch(other, f)})`);
  parts.push(sql.raw(notHeldSql(t.hold, `${t.task}.task_id`)));
  return sql.join(parts, sql` AND `);
}

/**
 * One bounded batch, oldest first on the date_done index, named by id (not ctid: see
 * pg/statements.ts) with the predicate repeated outside so only governed rows ever go.
 * `ids` renders the batch subquery the dialect's way.
 */
export function deleteByRule(t: Tables, f: AuditFragments, p: DeleteByRuleParams, ids: (select: SQL) => SQL): SQL {
  const where = governedExpired(t, f, p);
  const select = sql`SELECT id FROM ${sql.raw(t.task)} WHERE ${where} ORDER BY date_done LIMIT ${p.limit}`;
  return sql`DELETE FROM ${sql.raw(t.task)} WHERE ${ids(select)} AND ${where}`;
}

/** The dry run's count for one rule, on the same predicate as its deletes. */
export function countByRule(t: Tables, f: AuditFragments, p: Omit<DeleteByRuleParams, "limit">): SQL {
  return sql`SELECT count(*) AS n FROM ${sql.raw(t.task)} WHERE ${governedExpired(t, f, p)}`;
}

/** Glob to LIKE pattern (PostgreSQL, with the default backslash escape). */
export function globToLike(glob: string): string {
  return [...glob].map((c) => (c === "*" ? "%" : c === "?" ? "_" : c === "%" || c === "_" || c === "\\" ? `\\${c}` : c)).join("");
}

/** Glob to SQLite GLOB pattern: `*` and `?` kept, `[` made literal. */
export function globToSqliteGlob(glob: string): string {
  return glob.replace(/\[/g, "[[]");
}
