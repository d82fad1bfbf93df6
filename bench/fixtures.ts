/**
 * Databases as the scenarios see them: one handle type over a PostgreSQL database or a SQLite
 * file, fresh empty ones with taskledger's or Celery's tables, and big pre-filled templates that
 * each destructive round (cleanup) copies, so every round starts from byte-identical data.
 */
import { openBackend } from "../src/index.js";
import { CeleryProcess } from "./celery.js";
import { NodeChild } from "./child.js";
import { copyPg, copySqlite, createPg, createSqlite, dropPg, dropSqlite, type PgDatabase, type SqliteDatabase } from "./databases.js";
import { fillPg, type Shape, type TableKind } from "./fill.js";
import { fmt, out } from "./lib.js";

export type Dialect = "postgresql" | "sqlite";

export const DIALECT_LABEL: Record<Dialect, string> = { postgresql: "PostgreSQL", sqlite: "SQLite" };

export interface DbHandle {
  dialect: Dialect;
  /** What taskledger (and the raw driver) opens. */
  url: string;
  /** What Celery opens. */
  celeryUrl: string;
  /** The SQLite file, for the raw driver. */
  file?: string;
  copy(label: string): Promise<DbHandle>;
  drop(): Promise<void>;
}

function pgHandle(db: PgDatabase): DbHandle {
  return {
    dialect: "postgresql",
    url: db.url,
    celeryUrl: db.celeryUrl,
    copy: async (label) => pgHandle(await copyPg(db, label)),
    drop: () => dropPg(db),
  };
}

function sqliteHandle(db: SqliteDatabase): DbHandle {
  return {
    dialect: "sqlite",
    url: db.url,
    celeryUrl: db.celeryUrl,
    file: db.file,
    copy: async (label) => sqliteHandle(copySqlite(db, label)),
    drop: async () => dropSqlite(db),
  };
}

/** A new database with empty tables: taskledger's (by its migrations) or Celery's (by Celery). */
export async function emptyDatabase(dialect: Dialect, kind: TableKind, label: string): Promise<DbHandle> {
  const handle = dialect === "postgresql" ? pgHandle(await createPg(label)) : sqliteHandle(createSqlite(label));
  if (kind === "taskledger") {
    await (await openBackend({ url: handle.url })).close();
  } else {
    const celery = await CeleryProcess.start(handle.celeryUrl);
    try {
      await celery.call({ op: "prepare" });
    } finally {
      await celery.close();
    }
  }
  return handle;
}

export type ShapeName = "most" | "onePct" | "small";

export function shapes(quick: boolean): Record<ShapeName, Shape> {
  return quick
    ? { most: { live: 10_000, expired: 100_000 }, onePct: { live: 990_000, expired: 10_000 }, small: { live: 10_000, expired: 0 } }
    : { most: { live: 100_000, expired: 1_000_000 }, onePct: { live: 9_900_000, expired: 100_000 }, small: { live: 10_000, expired: 0 } };
}

export function describeShape(shape: Shape): string {
  return `${fmt(shape.expired)} expired among ${fmt(shape.live + shape.expired)} rows`;
}

export interface TemplateSpec {
  dialect: Dialect;
  kind: TableKind;
  name: ShapeName;
}

/** Filled templates, built once per run on first use and reused by every scenario that needs them. */
export class Fixtures {
  private readonly cache = new Map<string, Promise<DbHandle>>();

  constructor(private readonly quick: boolean) {}

  shape(name: ShapeName): Shape {
    return shapes(this.quick)[name];
  }

  /**
   * Builds the templates the coming scenarios need, two at a time (the machine has two cores;
   * PostgreSQL fills run in the server, SQLite fills in child processes), biggest first.
   */
  async prepare(specs: TemplateSpec[]): Promise<void> {
    const rows = (s: TemplateSpec) => this.shape(s.name).live + this.shape(s.name).expired;
    const queue = [...specs].sort((a, b) => rows(b) - rows(a));
    const worker = async () => {
      for (let spec = queue.shift(); spec; spec = queue.shift()) await this.template(spec.dialect, spec.kind, spec.name);
    };
    await Promise.all([worker(), worker()]);
  }

  template(dialect: Dialect, kind: TableKind, name: ShapeName): Promise<DbHandle> {
    const key = `${dialect}_${kind}_${name}`;
    let template = this.cache.get(key);
    if (!template) {
      template = (async () => {
        const shape = this.shape(name);
        const started = performance.now();
        const handle = await emptyDatabase(dialect, kind, `t_${kind === "taskledger" ? "tl" : "cel"}_${name.toLowerCase()}`);
        if (dialect === "postgresql") await fillPg(handle.url, kind, shape);
        else {
          const filler = new NodeChild("fill-sqlite.ts", [handle.file!, kind, String(shape.live), String(shape.expired)]);
          try {
            if ((await filler.next()) !== "done") throw new Error("the SQLite fill failed");
          } finally {
            await filler.close();
          }
        }
        out.progress(
          `filled ${DIALECT_LABEL[dialect]} ${kind} template "${name}" (${describeShape(shape)}) in ${fmt((performance.now() - started) / 1000, 1)} s`,
        );
        return handle;
      })();
      this.cache.set(key, template);
    }
    return template;
  }
}
