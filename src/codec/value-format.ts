/**
 * How values are written to the binary columns. The default writes JSON (taskledger's format,
 * and what Celery 5.7 writes); the Celery-compatible format writes what Celery 5.x reads:
 * `result` as a pickle of the data subset (protocol 4), failures as Celery's pickled exception
 * dict, groups as a pickled celery.result.GroupResult, and args/kwargs as kombu JSON. Reading
 * needs no setting: each row's first byte tells pickle from JSON.
 */
import { EncodeError } from "../errors.js";
import type { StoredException } from "./exception.js";
import { encodeKombuJson } from "./kombu-json.js";
import { encodeJsonText } from "./json.js";
import type { ResultTuple } from "../types.js";
import { pickleException, pickleResultTuple, writePickle } from "./pickle.js";
import { encodeGroupTuple } from "./stored.js";

export interface ValueFormat {
  readonly name: "json" | "celery";
  /**
   * The result column for a plain value, whatever its shape (a SUCCESS result that looks like
   * `{exc_type: …}` is still plain data); null and undefined are SQL NULL, as Celery
   * stores None.
   */
  result(value: unknown): Buffer | null;
  /** The result column for an exception, already in Celery's stored form (src/backend/task-write.ts tags it). */
  exception(stored: StoredException): Buffer;
  /** The args and kwargs columns. */
  args(value: unknown): Buffer | null;
  /** A saved group's result column, from the group's as_tuple() tree. */
  group(tuple: ResultTuple): Buffer;
}

export const JSON_FORMAT: ValueFormat = {
  name: "json",
  result: (value) => (value == null ? null : Buffer.from(encodeJsonText(value), "utf8")),
  exception: (stored) => Buffer.from(encodeJsonText(stored), "utf8"),
  args: (value) => (value == null ? null : Buffer.from(encodeJsonText(value), "utf8")),
  group: (tuple) => encodeGroupTuple(tuple),
};

export const CELERY_FORMAT: ValueFormat = {
  name: "celery",
  result: (value) => (value == null ? null : pickled(() => writePickle(value))),
  exception: (stored) => pickled(() => pickleException(stored.exc_type, stored.exc_module ?? "builtins", stored.exc_message)),
  args: (value) => (value == null ? null : Buffer.from(encodeKombuJson(value), "ascii")),
  group: (tuple) => pickled(() => pickleResultTuple(tuple)),
};

/** The pickle writer's TypeError names the path ("… at $.rows[3]"); callers get an EncodeError. */
function pickled(write: () => Buffer): Buffer {
  try {
    return write();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const path = / at (\$\S*)$/.exec(error.message)?.[1] ?? "$";
    throw new EncodeError(path, error.message.replace(/ at \$\S*$/, ""));
  }
}
