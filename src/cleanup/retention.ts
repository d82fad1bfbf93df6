/**
 * Retention as rules: each rule matches rows by state, task-name glob and queue glob, and
 * keeps them for a duration or forever. A row is governed by the most specific rule that matches
 * it (most criteria; then the longest literal text in its globs; then the earlier rule), and the
 * catch-all rule (no criteria) is `expires`. The same ranking decides the deletes (./cleaner.ts,
 * in SQL) and `--explain` (here, in JS), so the two cannot disagree.
 */
import { readFileSync } from "node:fs";
import { parseRetention, type Duration } from "../config.js";
import { ConfigError } from "../errors.js";
import type { RulePredicate } from "../db/driver.js";
import { durationText } from "./duration-text.js";
import type { RetentionRule } from "./options.js";
import { checkRuleStates, readCustomStates } from "./rule-states.js";

export type { RetentionRule };

/** A validated rule: its criteria, its retention in ms (null = forever), and how to print it. */
export interface RankedRule extends RulePredicate {
  keepMs: number | null;
  /** As the CLI spells it: `name=billing.*,state=FAILURE=400d`; `default=1d` for the catch-all. */
  label: string;
}

const RULE_KEYS = new Set(["state", "name", "queue", "keep"]);
const GLOB = /^[^\0]{1,155}$/;

/** A rule's keep (or a policy's expires) in ms, null for forever (see parseRetention). */
function keepMsOf(value: unknown, where: string, field: "keep" | "expires"): number | null {
  if (value !== null && typeof value !== "string" && typeof value !== "number")
    throw new ConfigError(where, `${field} must be a duration like "30d" or "forever", got ${JSON.stringify(value)}`);
  return parseRetention(value, field === "keep" ? `${where}.keep` : where);
}

function labelOf(rule: RulePredicate, keepMs: number | null, keepText: string): string {
  const parts: string[] = [];
  if (rule.states) parts.push(`state=${rule.states.join("|")}`);
  if (rule.name !== undefined) parts.push(`name=${rule.name}`);
  if (rule.queue !== undefined) parts.push(`queue=${rule.queue}`);
  return `${parts.length === 0 ? "default" : parts.join(",")}=${keepMs === null ? "forever" : keepText}`;
}

/**
 * Validates one rule; `where` names it in errors (e.g. `retention.json rules[2]`). Its states must
 * be Celery's or among `customStates` (uppercased, see ./rule-states.ts).
 */
export function validateRule(raw: unknown, where: string, customStates: readonly string[] = []): RankedRule {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(where, `a rule is an object like {"name": "billing.*", "keep": "400d"}, got ${JSON.stringify(raw)}`);
  const rule = raw as Record<string, unknown>;
  for (const key of Object.keys(rule)) {
    if (!RULE_KEYS.has(key)) throw new ConfigError(where, `unknown field "${key}"; a rule has state, name, queue and keep`);
  }
  if (!("keep" in rule))
    throw new ConfigError(where, `keep is missing; say how long matching rows stay, e.g. "keep": "90d" or "keep": "forever"`);
  const predicate: RulePredicate = {};
  if (rule["state"] !== undefined) {
    const states = (Array.isArray(rule["state"]) ? rule["state"] : [rule["state"]]) as unknown[];
    if (states.length === 0 || states.some((s) => typeof s !== "string" || !/^[A-Za-z_]{1,50}$/.test(s))) {
      throw new ConfigError(where, `state must be a state name like "FAILURE" (or a list of them), got ${JSON.stringify(rule["state"])}`);
    }
    predicate.states = (states as string[]).map((s) => s.toUpperCase());
    checkRuleStates(predicate.states, customStates, where);
  }
  for (const key of ["name", "queue"] as const) {
    const value = rule[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || !GLOB.test(value))
      throw new ConfigError(where, `${key} must be a glob of 1 to 155 characters like "billing.*", got ${JSON.stringify(value)}`);
    predicate[key] = value;
  }
  const keepMs = keepMsOf(rule["keep"], where, "keep");
  return { ...predicate, keepMs, label: labelOf(predicate, keepMs, String(rule["keep"])) };
}

function literalLength(glob: string | undefined): number {
  return glob === undefined ? 0 : glob.replace(/[*?]/g, "").length;
}

function criteria(rule: RulePredicate): number {
  return (rule.states ? 1 : 0) + (rule.name !== undefined ? 1 : 0) + (rule.queue !== undefined ? 1 : 0);
}

/**
 * Most specific first: more criteria, then more literal characters in the globs, then the earlier
 * rule (Array.prototype.sort is stable). The catch-all comes last.
 */
export function rankRules(rules: readonly RankedRule[]): RankedRule[] {
  return [...rules].sort(
    (a, b) => criteria(b) - criteria(a) || literalLength(b.name) + literalLength(b.queue) - literalLength(a.name) - literalLength(a.queue),
  );
}

/** A glob as a JS RegExp, anchored, with the same meaning as the SQL match in src/db/retention.ts. */
function globRegExp(glob: string): RegExp {
  const body = [...glob].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
  return new RegExp(`^${body}$`, "su");
}

/** Whether a row with these columns matches the rule's criteria (nulls match no criterion). */
export function ruleMatches(rule: RulePredicate, row: { status: string | null; name: string | null; queue: string | null }): boolean {
  if (rule.states && (row.status === null || !rule.states.includes(row.status))) return false;
  if (rule.name !== undefined && (row.name === null || !globRegExp(rule.name).test(row.name))) return false;
  if (rule.queue !== undefined && (row.queue === null || !globRegExp(rule.queue).test(row.queue))) return false;
  return true;
}

/**
 * The ranked rules of a cleanup: the explicit rules, the per-state `keep` shorthand, and the
 * catch-all from `expires` (null keeps what no rule names). States beyond Celery's must be
 * declared in `customStates`.
 */
export function buildPolicy(
  expiresMs: number | null,
  keep: Readonly<Record<string, Duration | null>> | undefined,
  rules: readonly RetentionRule[] | undefined,
  customStates?: readonly string[],
): RankedRule[] {
  const custom = readCustomStates(customStates, "customStates");
  const explicit = (rules ?? []).map((rule, i) => validateRule(rule, `rules[${i}]`, custom));
  const perState = Object.entries(keep ?? {}).map(([state, value]) =>
    validateRule({ state, keep: value ?? "forever" }, `keep.${state}`, custom),
  );
  const catchAll: RankedRule = { keepMs: expiresMs, label: `default=${expiresMs === null ? "forever" : durationText(expiresMs)}` };
  return [...rankRules([...explicit, ...perState]), catchAll];
}

/** The rule that governs a row: the first match in ranked order. */
export function governingRule(
  ranked: readonly RankedRule[],
  row: { status: string | null; name: string | null; queue: string | null },
): RankedRule {
  return ranked.find((rule) => ruleMatches(rule, row)) ?? ranked[ranked.length - 1]!;
}

/** A policy file as documented in the README ("Retention"); returns its expires, rules and custom states. */
export interface PolicyFile {
  expires?: Duration | "forever" | null;
  rules: RetentionRule[];
  /** States beyond Celery's that the rules may name (uppercased); empty when the file declares none. */
  customStates: string[];
}

/**
 * Reads and validates a JSON policy file; every error names the file and the rule at fault. Its
 * rules may name the file's own customStates and those in `customStates` (from the command line).
 */
export function readPolicyFile(path: string, customStates: readonly string[] = []): PolicyFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError("--policy", `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError("--policy", `${path} is not JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new ConfigError("--policy", `${path}: expected an object like {"expires": "7d", "rules": [...]}`);
  const body = parsed as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== "expires" && key !== "rules" && key !== "customStates" && key !== "$schema")
      throw new ConfigError("--policy", `${path}: unknown field "${key}"; a policy has expires, rules and customStates`);
  }
  if (!Array.isArray(body["rules"])) throw new ConfigError("--policy", `${path}: "rules" must be a list of rules`);
  const rules = body["rules"] as unknown[];
  const declared = readCustomStates(body["customStates"], `${path} customStates`);
  const allowed = [...customStates, ...declared];
  rules.forEach((rule, i) =>
    validateRule(rule, `${path} rules[${i}]${rule && typeof rule === "object" ? ` ${JSON.stringify(rule)}` : ""}`, allowed),
  );
  const policy: PolicyFile = { rules: rules as RetentionRule[], customStates: declared };
  if (body["expires"] !== undefined) {
    const expires = body["expires"];
    keepMsOf(expires, `${path} expires`, "expires");
    policy.expires = expires as Duration | null;
  }
  return policy;
}

/**
 * Reads a CLI --keep entry: `STATE=DURATION`, or criteria `name=GLOB[,state=S][,queue=GLOB]=DURATION`.
 * Its state must be Celery's or one of `customStates`.
 */
export function parseKeepEntry(entry: string, customStates: readonly string[] = []): RetentionRule {
  const text = entry.trim();
  const cut = text.lastIndexOf("=");
  if (cut <= 0 || cut === text.length - 1)
    throw new ConfigError(
      "--keep",
      `expected STATE=DURATION or name=GLOB=DURATION (e.g. FAILURE=90d, 'name=billing.*=400d'), got "${entry}"`,
    );
  const head = text.slice(0, cut);
  const keep = text.slice(cut + 1);
  parseRetention(keep, "--keep"); // a bad duration is named as the option, before any rule is built
  if (!head.includes("=")) {
    if (!/^[A-Za-z_]+$/.test(head))
      throw new ConfigError("--keep", `"${head}" is not a state; expected e.g. FAILURE=90d or name=GLOB=DURATION`);
    checkRuleStates([head.toUpperCase()], customStates, "--keep");
    return { state: head.toUpperCase(), keep };
  }
  const rule: { state?: string; name?: string; queue?: string; keep: string } = { keep };
  for (const part of head.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1);
    if (eq <= 0 || !["state", "name", "queue"].includes(key))
      throw new ConfigError("--keep", `"${part}" in "${entry}": expected state=, name= or queue=`);
    if (key in rule) throw new ConfigError("--keep", `"${entry}" gives ${key} twice`);
    rule[key as "state" | "name" | "queue"] = value;
  }
  if (rule.state !== undefined) checkRuleStates([rule.state.toUpperCase()], customStates, "--keep");
  return rule;
}
