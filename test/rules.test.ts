/**
 * Each rule is written once (the issue "The seam before a third dialect", item 2): the ready
 * states, the precedence guard, the hold predicate and the duration formatter. The SQL fragments
 * are generated from states.ts and checked against it here, on an in-memory SQLite database; the
 * migrations, fixed once applied, are read and must still spell what states.ts says; and src/ is
 * searched so a second spelling of a rule fails this test instead of drifting.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { durationText, elapsedText } from "../src/cleanup/duration-text.js";
import { parseDuration } from "../src/config.js";
import { heldOnlySql, heldSql, notHeldSql } from "../src/db/holds.js";
import { precedenceGuard } from "../src/db/precedence.js";
import { READY_SQL, stateListSql, stateSql } from "../src/db/state-sql.js";
import { ALL_STATES, EXCEPTION_STATES, HISTORY_RESULT_STATES, isReady, mayReplace, READY_STATES, REJECTED } from "../src/states.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const STATES = [...ALL_STATES, REJECTED, "PROGRESS"];

function files(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path, ext);
    return entry.name.endsWith(ext) ? [path] : [];
  });
}

/** Code without its comments, which may show what a rule generates. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|\s)\/\/ .*$/gm, "$1");

const sources = files(join(root, "src"), ".ts").map((path) => ({ path: relative(root, path), text: code(readFileSync(path, "utf8")) }));

/** The files under src/ whose code (comments aside) has `pattern`, with how often. */
function spelledIn(pattern: RegExp): Record<string, number> {
  const found: Record<string, number> = {};
  for (const { path, text } of sources) {
    const n = [...text.matchAll(new RegExp(pattern.source, `${pattern.flags.replace("g", "")}g`))].length;
    if (n > 0) found[path] = n;
  }
  return found;
}

/** The states of an SQL list such as `('SUCCESS', 'FAILURE')`. */
function statesOf(list: string): string[] {
  return [...list.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!);
}

describe("rules are generated from states.ts", () => {
  it("READY_SQL lists exactly the ready states", () => {
    assert.equal(READY_SQL, stateListSql(READY_STATES));
    assert.deepEqual(statesOf(READY_SQL).sort(), [...READY_STATES].sort());
    assert.equal(stateSql("FAILURE"), "'FAILURE'");
    for (const bad of ["it's", "failure", "", "A".repeat(51)]) assert.throws(() => stateSql(bad), /not a state name/);
  });

  it("the SQL fragments agree with states.ts on a real database", () => {
    const db = new Database(":memory:");
    try {
      for (const state of STATES) {
        const ready = db.prepare(`SELECT ? IN ${READY_SQL} AS ok`).get(state) as { ok: number };
        assert.equal(ready.ok === 1, isReady(state), state);
      }
      // The guard against mayReplace, for every pair (and no row at all); a write that may not
      // replace ready rows replaces no ready row.
      const guard = db.prepare(`SELECT ${precedenceGuard("@current", "@incoming", "@replace")} AS ok`);
      for (const current of [null, ...STATES])
        for (const incoming of STATES) {
          const may = (replace: number) => (guard.get({ current, incoming, replace }) as { ok: number }).ok === 1;
          assert.equal(may(1), current === null || mayReplace(current, incoming), `${current} -> ${incoming}`);
          assert.equal(
            may(0),
            current === null || (mayReplace(current, incoming) && !isReady(current)),
            `${current} -> ${incoming}, unready only`,
          );
        }
    } finally {
      db.close();
    }
  });

  it("the three shapes of the hold predicate pick the same rows, a row without a task id never held", () => {
    const db = new Database(":memory:");
    try {
      db.exec(`CREATE TABLE task (id INTEGER PRIMARY KEY, task_id VARCHAR(155) UNIQUE);
        CREATE TABLE task_hold (task_id VARCHAR(155) PRIMARY KEY NOT NULL);
        INSERT INTO task (task_id) VALUES ('a'), ('b'), ('c'), (NULL);
        INSERT INTO task_hold VALUES ('b'), ('gone');`);
      const ids = (where: string) =>
        (db.prepare(`SELECT task_id FROM task WHERE ${where} ORDER BY id`).all() as { task_id: string | null }[]).map((r) => r.task_id);
      assert.deepEqual(ids(heldSql("task_hold", "task.task_id")), ["b"]);
      assert.deepEqual(ids(heldOnlySql("task_hold", "task_id")), ["b"]);
      assert.deepEqual(ids(notHeldSql("task_hold", "task.task_id")), ["a", "c", null]);
      // An outer alias `h` (the history's, in audit queries) is not shadowed by the predicate's own.
      const aliased = db.prepare(`SELECT h.task_id FROM task AS h WHERE ${heldSql("task_hold", "h.task_id")}`).all();
      assert.deepEqual(aliased, [{ task_id: "b" }]);
    } finally {
      db.close();
    }
  });
});

describe("the migrations, fixed once applied, still spell what states.ts says", () => {
  const migrations = (dialect: "pg" | "sqlite") =>
    files(join(root, "migrations", dialect), ".sql").map((path) => ({ path: relative(root, path), text: readFileSync(path, "utf8") }));

  it("PostgreSQL notifies waiters of exactly the ready states", () => {
    const history = migrations("pg").find((m) => m.path.endsWith("0002_history.sql"))!;
    const when = /FOR EACH ROW WHEN \(NEW\.status IN (\([^)]*\))\)/.exec(history.text);
    assert.ok(when, "the notify trigger's WHEN clause was not found in migrations/pg/0002_history.sql");
    assert.deepEqual(statesOf(when[1]!).sort(), [...READY_STATES].sort());
  });

  it("every state list in a migration is the ready states or the history's one list of states that keep a result", () => {
    const lists: { path: string; states: string[] }[] = [];
    for (const { path, text } of [...migrations("pg"), ...migrations("sqlite")])
      for (const m of text.matchAll(/status IN (\('[^)]*\))/g)) lists.push({ path, states: statesOf(m[1]!).sort() });
    const ready = [...READY_STATES].sort();
    const others = lists.filter((l) => JSON.stringify(l.states) !== JSON.stringify(ready));
    assert.ok(others.length > 0);
    // The history triggers keep result and traceback for HISTORY_RESULT_STATES, exception states all.
    for (const l of others) assert.deepEqual(l.states, [...HISTORY_RESULT_STATES].sort(), l.path);
    for (const state of HISTORY_RESULT_STATES) assert.ok(EXCEPTION_STATES.has(state), state);
    for (const { path, text } of [...migrations("pg"), ...migrations("sqlite")])
      for (const m of text.matchAll(/status (?:=|<>) '([A-Z_]+)'/g)) assert.ok(ALL_STATES.has(m[1]!), `${path}: ${m[1]}`);
  });
});

describe("each rule has one source in src/", () => {
  it("no state is quoted as an SQL literal outside state-sql.ts", () => {
    const names = [...ALL_STATES, REJECTED, "IGNORED"].join("|");
    assert.deepEqual(spelledIn(new RegExp(`'(?:${names})'`)), {});
  });

  it("the ready states are listed only in states.ts, and tested as a set elsewhere", () => {
    const ready = "(?:SUCCESS|FAILURE|REVOKED)";
    assert.deepEqual(spelledIn(new RegExp(`\\[\\s*${ready}\\s*,\\s*${ready}\\s*,\\s*${ready}\\s*\\]`)), { "src/states.ts": 1 });
    assert.deepEqual(spelledIn(new RegExp(`=== "${ready}"\\s*\\|\\|[^\\n]*=== "${ready}"`)), {});
    assert.deepEqual(spelledIn(/\bREADY_SQL\s*=/), { "src/db/state-sql.ts": 1 });
  });

  it("the precedence guard is built in one place", () => {
    assert.deepEqual(spelledIn(/NOT IN \$\{READY_SQL\}/), { "src/db/precedence.ts": 1 });
    assert.deepEqual(spelledIn(/export function precedenceGuard\(/), { "src/db/precedence.ts": 1 });
  });

  it("the hold predicate is written only in holds.ts", () => {
    assert.deepEqual(spelledIn(/(?:EXISTS|IN) \(SELECT (?:1|task_id) FROM (?:\$\{[^}]*hold|\S*_hold)/), { "src/db/holds.ts": 2 });
  });

  it("durations are formatted only in duration-text.ts", () => {
    assert.deepEqual(spelledIn(/\[\s*"d"\s*,\s*86_400_000\s*\]/), { "src/cleanup/duration-text.ts": 1 });
    assert.deepEqual(spelledIn(/\bmin \$\{|\} min\b/), { "src/cleanup/duration-text.ts": 1 });
    assert.deepEqual(spelledIn(/function (?:durationText|elapsedText|formatDuration|formatMs)\(/), {
      "src/cleanup/duration-text.ts": 2,
    });
  });
});

describe("durations", () => {
  it("a configured duration is printed exactly, a week as 7d, and reads back", () => {
    const DAY = 86_400_000;
    const cases: [number, string][] = [
      [DAY, "1d"],
      [7 * DAY, "7d"],
      [28 * DAY, "28d"],
      [36 * 3_600_000, "36h"],
      [90 * 60_000, "90m"],
      [30_000, "30s"],
      [1_500, "1500ms"],
      [0, "0ms"],
    ];
    for (const [ms, text] of cases) {
      assert.equal(durationText(ms), text);
      assert.equal(parseDuration(text), ms, text);
    }
  });

  it("a measured time is rounded for reading", () => {
    assert.equal(elapsedText(740.4), "740 ms");
    assert.equal(elapsedText(2_540), "2.5 s");
    assert.equal(elapsedText(184_000), "3 min 4 s");
  });
});
