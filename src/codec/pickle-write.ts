/**
 * A small pickle writer for the data Celery rows hold: None, bools, ints, floats, str, bytes,
 * lists, tuples, dicts, sets and naive-UTC datetimes, plus the two Celery shapes taskledger has
 * to hand to Python (a saved GroupResult and a failure dict). Python 3 loads the output without
 * running anything but standard constructors (_codecs.encode, set, datetime, celery.result).
 */
import { OP } from "./pickle-read.js";
import type { ResultTuple } from "../types.js";
import { PyTuple } from "./python-values.js";

export interface PickleWriteOptions {
  /** 4 (the default) is compact; 2 is what Python 2 and every Python 3 read. */
  protocol?: 2 | 4;
}

/** Python's pickler recurses too and stops near 1000 levels; deeper values would risk this stack. */
const MAX_WRITE_DEPTH = 1000;

/** A call of a module-level Python callable, for the Celery helpers below; never accepted from callers. */
class PythonCall {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: unknown[],
  ) {}
}

/** Pickles a JavaScript value; throws TypeError, naming the path (`$.rows[3]`), for anything outside the data subset. */
export function writePickle(value: unknown, options: PickleWriteOptions = {}): Buffer {
  const writer = new PickleWriter(options.protocol ?? 4);
  writer.value(value, "$", 0);
  return writer.finish();
}

/**
 * A GroupResult as Celery's restore_group unpickles it:
 * celery.result.GroupResult(groupId, [celery.result.AsyncResult(id), ...]). Unlike Celery's own
 * pickle it embeds no backend, so no database URL ends up in the row; Python binds the results to
 * its current app.
 */
export function pickleGroupResult(groupId: string, resultIds: string[], options: PickleWriteOptions = {}): Buffer {
  return pickleResultTuple([[groupId, null], resultIds.map((id) => [[id, null], null] as ResultTuple)], options);
}

/**
 * A result tree in as_tuple() form as Celery's own classes: a group is
 * celery.result.GroupResult(id, [members], parent) and a task celery.result.AsyncResult(id),
 * or AsyncResult(id, None, None, None, parent) when it has one. Nested groups stay groups, and
 * the group's parent is kept (Celery's own pickle drops it; its constructor takes it).
 */
export function pickleResultTuple(tuple: ResultTuple, options: PickleWriteOptions = {}): Buffer {
  return writePickle(resultCall(tuple), options);
}

function resultCall([[id, parent], members]: ResultTuple): PythonCall {
  const parentCall = parent ? resultCall(parent) : null;
  if (members !== null)
    return new PythonCall(
      "celery.result",
      "GroupResult",
      parentCall ? [id, members.map(resultCall), parentCall] : [id, members.map(resultCall)],
    );
  return new PythonCall("celery.result", "AsyncResult", parentCall ? [id, null, null, null, parentCall] : [id]);
}

/**
 * A failure as Celery stores it with its default json result_serializer: the dict
 * {'exc_type': ..., 'exc_message': (args...), 'exc_module': ...}, exc_message a tuple.
 */
export function pickleException(excType: string, excModule: string, args: unknown[], options: PickleWriteOptions = {}): Buffer {
  return writePickle({ exc_type: excType, exc_message: new PyTuple(args), exc_module: excModule }, options);
}

class PickleWriter {
  private buffer = Buffer.alloc(256);
  private length = 0;
  private readonly ancestors = new Set<object>();
  private readonly memoizedGlobals = new Map<string, number>();

  constructor(private readonly protocol: 2 | 4) {
    this.bytes([OP.PROTO, protocol]);
  }

  finish(): Buffer {
    this.bytes([OP.STOP]);
    return Buffer.from(this.buffer.subarray(0, this.length));
  }

  value(value: unknown, path: string, depth: number): void {
    if (value === null) return this.bytes([OP.NONE]);
    switch (typeof value) {
      case "boolean":
        return this.bytes([value ? OP.NEWTRUE : OP.NEWFALSE]);
      case "number":
        return this.number(value);
      case "bigint":
        return this.long(value);
      case "string":
        return this.string(value, path);
      case "object":
        break;
      default:
        throw new TypeError(`cannot pickle ${typeof value} at ${path}`);
    }
    if (depth >= MAX_WRITE_DEPTH) throw new TypeError(`cannot pickle values nested deeper than ${MAX_WRITE_DEPTH} levels at ${path}`);
    if (this.ancestors.has(value)) throw new TypeError(`cannot pickle a cycle at ${path}`);
    this.ancestors.add(value);
    this.container(value, path, depth + 1);
    this.ancestors.delete(value);
  }

  private container(value: object, path: string, depth: number): void {
    if (value instanceof Uint8Array && (Buffer.isBuffer(value) || value.constructor === Uint8Array)) return this.binary(value);
    if (value instanceof Date) return this.date(value, path);
    if (value instanceof PyTuple) return this.tuple(value.items, path, depth);
    if (value instanceof PythonCall) return this.call(value, path, depth);
    if (Array.isArray(value)) {
      this.bytes([OP.EMPTY_LIST]);
      return this.items(value, OP.APPENDS, (item, i) => this.value(item, `${path}[${i}]`, depth));
    }
    if (value instanceof Set) return this.set(value, path, depth);
    if (value instanceof Map) {
      this.bytes([OP.EMPTY_DICT]);
      return this.items([...value], OP.SETITEMS, ([key, item]) => {
        const at = `${path}[${typeof key === "string" ? JSON.stringify(key) : String(key)}]`;
        this.value(key, at, depth); // first, so depth and cycle checks run before hashable() recurses
        this.hashable(key, at);
        this.value(item, at, depth);
      });
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype === Object.prototype || prototype === null) {
      this.bytes([OP.EMPTY_DICT]);
      return this.items(Object.entries(value), OP.SETITEMS, ([key, item]) => {
        this.string(key, path);
        this.value(item, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, depth);
      });
    }
    throw new TypeError(`cannot pickle ${value.constructor?.name ?? "object"} at ${path}`);
  }

  /** MARK, items, closing opcode; empty containers need neither. */
  private items<T>(items: T[], close: number, write: (item: T, index: number) => void): void {
    if (items.length === 0) return;
    this.bytes([OP.MARK]);
    items.forEach(write);
    this.bytes([close]);
  }

  private number(value: number): void {
    // -0 and unsafe integers stay floats: as ints they would read back as 0 and as a bigint.
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
      this.bytes([OP.BINFLOAT]);
      return this.fixed(8, (view) => view.setFloat64(0, value, false));
    }
    if (value >= 0 && value < 0x100) return this.bytes([OP.BININT1, value]);
    if (value >= 0 && value < 0x10000) return this.bytes([OP.BININT2, value & 0xff, value >> 8]);
    if (value >= -0x80000000 && value <= 0x7fffffff) {
      this.bytes([OP.BININT]);
      return this.fixed(4, (view) => view.setInt32(0, value, true));
    }
    this.long(BigInt(value));
  }

  /** LONG1/LONG4: little-endian two's complement in as few bytes as Python uses. */
  private long(value: bigint): void {
    const magnitude = value < 0n ? -value - 1n : value;
    const size = Math.floor((magnitude === 0n ? 0 : magnitude.toString(2).length) / 8) + 1;
    const unsigned = value < 0n ? value + (1n << BigInt(size * 8)) : value;
    const hex = unsigned.toString(16).padStart(size * 2, "0");
    const payload = Buffer.from(hex, "hex").reverse();
    if (size < 0x100) this.bytes([OP.LONG1, size]);
    else {
      this.bytes([OP.LONG4]);
      this.fixed(4, (view) => view.setInt32(0, size, true));
    }
    this.bytes(payload);
  }

  private string(value: string, path: string): void {
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
      throw new TypeError(`cannot pickle a string with a lone surrogate at ${path}`);
    }
    this.sized(Buffer.from(value, "utf8"), this.protocol >= 4 ? OP.SHORT_BINUNICODE : null, OP.BINUNICODE, OP.BINUNICODE8);
  }

  private binary(value: Uint8Array): void {
    if (this.protocol >= 4) return this.sized(value, OP.SHORT_BINBYTES, OP.BINBYTES, OP.BINBYTES8);
    // Protocol 2 has no bytes opcode: Python 3 itself writes _codecs.encode(latin-1 text, 'latin1').
    this.global("_codecs", "encode");
    this.string(Buffer.from(value.buffer, value.byteOffset, value.length).toString("latin1"), "$");
    this.string("latin1", "$");
    this.bytes([OP.TUPLE2, OP.REDUCE]);
  }

  /** A length-prefixed operand: 1-byte length when a short opcode exists, else 4, else 8. */
  private sized(payload: Uint8Array, short: number | null, long: number, huge: number): void {
    if (short !== null && payload.length < 0x100) this.bytes([short, payload.length]);
    else if (payload.length <= 0xffffffff) {
      this.bytes([long]);
      this.fixed(4, (view) => view.setUint32(0, payload.length, true));
    } else {
      this.bytes([huge]);
      this.fixed(8, (view) => view.setBigUint64(0, BigInt(payload.length), true));
    }
    this.bytes(payload);
  }

  private tuple(items: unknown[], path: string, depth: number): void {
    const write = (item: unknown, i: number): void => this.value(item, `${path}[${i}]`, depth);
    if (items.length === 0) return this.bytes([OP.EMPTY_TUPLE]);
    if (items.length > 3) return this.items(items, OP.TUPLE, write);
    items.forEach(write);
    this.bytes([[OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][items.length - 1]!]);
  }

  private set(value: Set<unknown>, path: string, depth: number): void {
    const write = (item: unknown, i: number): void => {
      this.value(item, `${path}[#${i}]`, depth);
      this.hashable(item, `${path}[#${i}]`);
    };
    if (this.protocol >= 4) {
      this.bytes([OP.EMPTY_SET]);
      return this.items([...value], OP.ADDITEMS, write);
    }
    this.global("__builtin__", "set"); // Python 3 reads Python 2's module name at protocol < 3
    this.bytes([OP.EMPTY_LIST]);
    this.items([...value], OP.APPENDS, write);
    this.bytes([OP.TUPLE1, OP.REDUCE]);
  }

  /** datetime.datetime(state) with Python's 10-byte state, naive UTC as Celery stores dates. */
  private date(value: Date, path: string): void {
    const year = value.getUTCFullYear();
    if (Number.isNaN(value.getTime()) || year < 1 || year > 9999)
      throw new TypeError(`cannot pickle a Date outside years 1-9999 at ${path}`);
    const micro = value.getUTCMilliseconds() * 1000;
    const state = Buffer.from([
      year >> 8,
      year & 0xff,
      value.getUTCMonth() + 1,
      value.getUTCDate(),
      value.getUTCHours(),
      value.getUTCMinutes(),
      value.getUTCSeconds(),
      micro >> 16,
      (micro >> 8) & 0xff,
      micro & 0xff,
    ]);
    this.global("datetime", "datetime");
    this.binary(state);
    this.bytes([OP.TUPLE1, OP.REDUCE]);
  }

  private call(call: PythonCall, path: string, depth: number): void {
    this.global(call.module, call.name);
    this.tuple(call.args, path, depth);
    this.bytes([OP.REDUCE]);
  }

  /** GLOBAL once per pickle, then a memo reference: a group of 100 results names AsyncResult once. */
  private global(module: string, name: string): void {
    const key = `${module}\n${name}\n`;
    const index = this.memoizedGlobals.get(key);
    if (index !== undefined) return this.memoRef(OP.BINGET, OP.LONG_BINGET, index);
    this.bytes([OP.GLOBAL]);
    this.bytes(Buffer.from(key, "utf8"));
    const next = this.memoizedGlobals.size;
    this.memoizedGlobals.set(key, next);
    this.memoRef(OP.BINPUT, OP.LONG_BINPUT, next);
  }

  private memoRef(short: number, long: number, index: number): void {
    if (index < 0x100) return this.bytes([short, index]);
    this.bytes([long]);
    this.fixed(4, (view) => view.setUint32(0, index, true));
  }

  /** Dict keys and set members must be hashable in Python, or loading fails there. */
  private hashable(value: unknown, path: string): void {
    if (value === null || typeof value !== "object") return;
    if (value instanceof Uint8Array || value instanceof Date) return;
    if (value instanceof PyTuple) return value.items.forEach((item, i) => this.hashable(item, `${path}[${i}]`));
    throw new TypeError(
      `cannot use an unhashable ${Array.isArray(value) ? "array" : (value.constructor?.name ?? "object")} as a dict key or set member at ${path}`,
    );
  }

  private fixed(size: number, write: (view: DataView) => void): void {
    const bytes = new Uint8Array(size);
    write(new DataView(bytes.buffer));
    this.bytes(bytes);
  }

  private bytes(bytes: ArrayLike<number>): void {
    if (this.length + bytes.length > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes.length));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
}
