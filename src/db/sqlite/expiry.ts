/**
 * Expiry on SQLite, one bounded batch per statement (and so per hold of the write lock): expired
 * rows by date_done, rows a retention rule governs, stale unready rows and expired groups, each
 * with its dry-run count on the same predicate.
 */
import { sql } from "drizzle-orm";
import type { DeleteByRuleParams, DeleteExpiredParams } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import { countByRule, deleteByRule } from "../retention.js";
import type { SqliteExecutor } from "./executor.js";
import { SQLITE_FRAGMENTS } from "./fragments.js";

/** Statuses as the statements take them: one JSON text, expanded with json_each (NULL: no limit). */
function statuses(p: Omit<DeleteExpiredParams, "limit">) {
  return {
    before: toNaiveUtc(p.before),
    only: p.onlyStatuses ? JSON.stringify(p.onlyStatuses) : null,
    except: p.exceptStatuses ? JSON.stringify(p.exceptStatuses) : null,
  };
}

export class SqliteExpiry {
  constructor(private readonly exec: SqliteExecutor) {}

  taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    return this.exec.run(() => this.exec.statements.taskDeleteExpired.run({ ...statuses(p), limit: p.limit }).changes);
  }

  taskCountExpired(p: Omit<DeleteExpiredParams, "limit">): Promise<number> {
    return this.exec.run(() => this.exec.statements.taskCountExpired.pluck().get(statuses(p)) as number);
  }

  taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    return this.exec.run(() => this.exec.changes(deleteByRule(this.exec.tables, SQLITE_FRAGMENTS, p, (select) => sql`id IN (${select})`)));
  }

  async taskCountByRule(p: Omit<DeleteByRuleParams, "limit">): Promise<number> {
    return Number((await this.exec.rows(countByRule(this.exec.tables, SQLITE_FRAGMENTS, p)))[0]?.["n"] ?? 0);
  }

  taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    return this.exec.run(() => this.exec.statements.taskDeleteStale.run({ before: toNaiveUtc(p.before), limit: p.limit }).changes);
  }

  taskCountStale(p: { before: Date }): Promise<number> {
    return this.exec.run(() => this.exec.statements.taskCountStale.pluck().get({ before: toNaiveUtc(p.before) }) as number);
  }

  taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    return this.exec.run(() => this.exec.statements.taskStampUnaged.run({ now: toNaiveUtc(p.now), limit: p.limit }).changes);
  }

  groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    return this.exec.run(() => this.exec.statements.groupDeleteExpired.run({ before: toNaiveUtc(p.before), limit: p.limit }).changes);
  }

  groupCountExpired(p: { before: Date }): Promise<number> {
    return this.exec.run(() => this.exec.statements.groupCountExpired.pluck().get({ before: toNaiveUtc(p.before) }) as number);
  }
}
