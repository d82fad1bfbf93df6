/**
 * Expiry on PostgreSQL, one bounded batch per statement: expired rows by date_done, rows a
 * retention rule governs, stale unready rows and expired groups, each with its dry-run count on
 * the same predicate.
 */
import { sql } from "drizzle-orm";
import type { DeleteByRuleParams, DeleteExpiredParams } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import { countByRule, deleteByRule } from "../retention.js";
import type { PgExecutor } from "./executor.js";
import { PG_FRAGMENTS } from "./fragments.js";

export class PgExpiry {
  constructor(private readonly exec: PgExecutor) {}

  async taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    const values = [toNaiveUtc(p.before), p.limit, p.onlyStatuses ?? null, p.exceptStatuses ?? null];
    return (await this.exec.statement("taskDeleteExpired", values)).rowCount ?? 0;
  }

  taskCountExpired(p: Omit<DeleteExpiredParams, "limit">): Promise<number> {
    return this.exec.count("taskCountExpired", [toNaiveUtc(p.before), p.onlyStatuses ?? null, p.exceptStatuses ?? null]);
  }

  taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    // Not prepared: its text varies with the rules; parsing costs little next to a batch.
    return this.exec.affected(deleteByRule(this.exec.tables, PG_FRAGMENTS, p, (select) => sql`id = ANY(ARRAY(${select}))`));
  }

  async taskCountByRule(p: Omit<DeleteByRuleParams, "limit">): Promise<number> {
    return Number((await this.exec.rows(countByRule(this.exec.tables, PG_FRAGMENTS, p)))[0]?.["n"] ?? 0);
  }

  async taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    return (await this.exec.statement("taskDeleteStale", [toNaiveUtc(p.before), p.limit])).rowCount ?? 0;
  }

  taskCountStale(p: { before: Date }): Promise<number> {
    return this.exec.count("taskCountStale", [toNaiveUtc(p.before)]);
  }

  async taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    return (await this.exec.statement("taskStampUnaged", [toNaiveUtc(p.now), p.limit])).rowCount ?? 0;
  }

  async groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    return (await this.exec.statement("groupDeleteExpired", [toNaiveUtc(p.before), p.limit])).rowCount ?? 0;
  }

  groupCountExpired(p: { before: Date }): Promise<number> {
    return this.exec.count("groupCountExpired", [toNaiveUtc(p.before)]);
  }
}
