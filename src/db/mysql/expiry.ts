/**
 * Expiry on MySQL, one bounded batch per statement: expired rows by date_done, rows a retention
 * rule governs, stale unready rows and expired groups, each with its dry-run count on the same
 * predicate.
 */
import { sql } from "drizzle-orm";
import type { AuditRow } from "../audit-reads.js";
import type { DeleteByRuleParams, DeleteExpiredParams } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import { countByRule, deleteByRule } from "../retention.js";
import type { Tables } from "../tables.js";
import type { MysqlExecutor } from "./executor.js";
import { MYSQL_FRAGMENTS } from "./fragments.js";
import type { MysqlStatements } from "./statements.js";

export class MysqlExpiry {
  constructor(
    private readonly run: MysqlExecutor,
    private readonly sql: MysqlStatements,
    private readonly tables: Tables,
  ) {}

  async taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    const only = p.onlyStatuses ?? [];
    const except = p.exceptStatuses ?? [];
    // An empty "only" list matches nothing, as `status = ANY('{}')` does on PostgreSQL.
    if (p.onlyStatuses && only.length === 0) return 0;
    const result = await this.run.write(this.sql.taskDeleteExpired(only.length, except.length), [
      toNaiveUtc(p.before),
      ...only,
      ...except,
      p.limit,
    ]);
    return result.affectedRows;
  }

  async taskCountExpired(p: Omit<DeleteExpiredParams, "limit">): Promise<number> {
    const only = p.onlyStatuses ?? [];
    const except = p.exceptStatuses ?? [];
    if (p.onlyStatuses && only.length === 0) return 0;
    return this.count(this.sql.taskCountExpired(only.length, except.length), [toNaiveUtc(p.before), ...only, ...except]);
  }

  async taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    // MySQL refuses LIMIT inside IN (subquery) and a subquery on the table being deleted from; a
    // derived table is materialized first, which lifts both.
    const query = deleteByRule(this.tables, MYSQL_FRAGMENTS, p, (select) => sql`id IN (SELECT id FROM (${select}) AS batch)`);
    const { sql: text, params } = this.run.render(query);
    return ((await this.run.query(text, params)) as unknown as { affectedRows: number }).affectedRows;
  }

  async taskCountByRule(p: Omit<DeleteByRuleParams, "limit">): Promise<number> {
    return Number((await this.run.rows<AuditRow>(countByRule(this.tables, MYSQL_FRAGMENTS, p)))[0]?.["n"] ?? 0);
  }

  taskCountStale(p: { before: Date }): Promise<number> {
    return this.count(this.sql.taskCountStale, [toNaiveUtc(p.before)]);
  }

  async taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    return (await this.run.write(this.sql.taskDeleteStale, [toNaiveUtc(p.before), p.limit])).affectedRows;
  }

  async taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    return (await this.run.write(this.sql.taskStampUnaged, [toNaiveUtc(p.now), p.limit])).affectedRows;
  }

  async groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    return (await this.run.write(this.sql.groupDeleteExpired, [toNaiveUtc(p.before), p.limit])).affectedRows;
  }

  groupCountExpired(p: { before: Date }): Promise<number> {
    return this.count(this.sql.groupCountExpired, [toNaiveUtc(p.before)]);
  }

  private async count(text: string, values: unknown[]): Promise<number> {
    return Number((await this.run.execute<{ n: number }>(text, values))[0]?.n ?? 0);
  }
}
