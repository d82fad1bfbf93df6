/**
 * JavaScript shapes for Python values that have no JSON twin, and the fixed table that turns a
 * pickled call (REDUCE, NEWOBJ, INST, OBJ) into one of them. The table only compares module and
 * name strings: nothing is imported, looked up or called, so a pickle naming `os.system` gets
 * back an inert PythonObject.
 */

/** A tuple for the pickle writer: JavaScript arrays are written as lists. */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** What GLOBAL and STACK_GLOBAL push: the name of a Python object, never the object. */
export class GlobalRef {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** A Python object taskledger has no mapping for, kept as its class name and constructor data. */
export class PythonObject {
  /** What BUILD gave it: usually the instance __dict__, or (dict, slots) for classes with __slots__. */
  state: unknown = null;
  /** Keyword arguments from NEWOBJ_EX, or null. */
  kwargs: unknown = null;
  /** Items appended by APPEND(S) or ADDITEMS, when the object is a list or set subclass. */
  listItems: unknown[] | null = null;
  /** Items set by SETITEM(S), when the object is a dict subclass (a plain object or Map). */
  dictItems: unknown = null;
  /** The whole pickle, so a listing can keep it. Not enumerable: one copy per object would flood JSON and inspection. */
  declare readonly raw: Buffer;

  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: unknown[],
    raw: Buffer,
  ) {
    Object.defineProperty(this, "raw", { value: raw, enumerable: false });
  }

  toString(): string {
    return `<python object ${this.module}.${this.name}>`;
  }
}

/** A Python datetime.timedelta, already normalised by Python (0 <= seconds < 86400, 0 <= microseconds < 1e6). */
export class PythonTimedelta {
  constructor(
    readonly days: number,
    readonly seconds: number,
    readonly microseconds: number,
  ) {}

  toMilliseconds(): number {
    return (this.days * 86_400 + this.seconds) * 1000 + this.microseconds / 1000;
  }
}

/** A pickled Celery AsyncResult or GroupResult, reduced to ids; the pickled backend and app are dropped. */
export class PythonResultRef {
  constructor(
    readonly kind: "AsyncResult" | "GroupResult",
    readonly id: string,
    readonly children: PythonResultRef[],
    readonly parent: PythonResultRef | null,
  ) {}
}

/** Celery's JSON form of an exception, which is also what taskledger's exception codec reads. */
export interface PickledException {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string;
}

/** Python built-in exception classes whose names the suffix rule below would miss or that deserve no doubt. */
const BUILTIN_EXCEPTIONS = new Set([
  "BaseException",
  "Exception",
  "ArithmeticError",
  "AssertionError",
  "AttributeError",
  "BlockingIOError",
  "BrokenPipeError",
  "BufferError",
  "ChildProcessError",
  "ConnectionAbortedError",
  "ConnectionError",
  "ConnectionRefusedError",
  "ConnectionResetError",
  "EOFError",
  "EnvironmentError",
  "FileExistsError",
  "FileNotFoundError",
  "FloatingPointError",
  "GeneratorExit",
  "IOError",
  "ImportError",
  "IndentationError",
  "IndexError",
  "InterruptedError",
  "IsADirectoryError",
  "KeyError",
  "KeyboardInterrupt",
  "LookupError",
  "MemoryError",
  "ModuleNotFoundError",
  "NameError",
  "NotADirectoryError",
  "NotImplementedError",
  "OSError",
  "OverflowError",
  "PermissionError",
  "ProcessLookupError",
  "RecursionError",
  "ReferenceError",
  "RuntimeError",
  "StopAsyncIteration",
  "StopIteration",
  "SyntaxError",
  "SystemError",
  "SystemExit",
  "TabError",
  "TimeoutError",
  "TypeError",
  "UnboundLocalError",
  "UnicodeDecodeError",
  "UnicodeEncodeError",
  "UnicodeError",
  "UnicodeTranslateError",
  "ValueError",
  "ZeroDivisionError",
  "Warning",
  "UserWarning",
  "DeprecationWarning",
  "RuntimeWarning",
]);
/** Every class these modules define is an exception (Retry, Ignore, Reject, Terminated, ...). */
const EXCEPTION_MODULES = new Set(["celery.exceptions", "billiard.exceptions"]);
const EXCEPTION_NAME = /(Error|Exception|Warning|Exit)$/;

function isExceptionClass(ref: GlobalRef): boolean {
  if (ref.module === "builtins") return BUILTIN_EXCEPTIONS.has(ref.name) || EXCEPTION_NAME.test(ref.name);
  return EXCEPTION_MODULES.has(ref.module) || EXCEPTION_NAME.test(ref.name);
}

type Handler = (args: unknown[]) => unknown;

/**
 * A known call whose arguments cannot be what Python wrote, where keeping an inert PythonObject
 * would silently lose data (a GroupResult whose member list is unreadable would restore empty).
 * The reader turns it into a PickleReadError for the whole value.
 */
export class UnreadableCallError extends Error {
  override readonly name = "UnreadableCallError";
}

/** Handlers return undefined when the arguments are not the shape Python pickles; the caller then keeps a PythonObject. */
const KNOWN_CALLS = new Map<string, Handler>([
  // Containers pickled as a call, e.g. Celery's regen (a frozen group's member list) reduces to list(items).
  ["builtins list", (args) => toArray(args)],
  ["builtins tuple", (args) => toArray(args)],
  ["builtins dict", (args) => toDict(args)],
  ["builtins str", (args) => (args.length === 0 ? "" : typeof args[0] === "string" ? args[0] : undefined)],
  ["builtins set", (args) => toSet(args)],
  ["builtins frozenset", (args) => toSet(args)],
  ["builtins bytes", (args) => (args.length === 0 ? Buffer.alloc(0) : Buffer.isBuffer(args[0]) ? Buffer.from(args[0]) : undefined)],
  // Python 2 pickles bytearray as (unicode, 'latin-1'); Python 3 at protocol < 3 as (bytes,).
  [
    "builtins bytearray",
    (args) => (args.length === 0 ? Buffer.alloc(0) : Buffer.isBuffer(args[0]) ? Buffer.from(args[0]) : encodeText(args)),
  ],
  // How protocols 0-2 spell bytes: _codecs.encode(latin-1 text, 'latin1').
  ["_codecs encode", (args) => encodeText(args)],
  ["builtins getattr", (args) => attributeOf(args)],
  ["collections OrderedDict", (args) => (args.length === 0 ? new Map() : undefined)],
  ["collections defaultdict", () => new Map()],
  ["collections Counter", (args) => (args.length === 0 ? new Map() : args[0] instanceof Map ? new Map(args[0]) : undefined)],
  ["datetime datetime", (args) => toDate(args)],
  ["datetime date", (args) => dateText(args)],
  ["datetime time", (args) => timeText(args)],
  ["datetime timedelta", (args) => toTimedelta(args)],
  ["decimal Decimal", (args) => (typeof args[0] === "string" ? args[0] : undefined)],
  ["uuid UUID", (args) => (typeof args[0] === "string" ? canonicalUuid(args[0]) : undefined)],
  ["celery.result AsyncResult", (args) => resultRef("AsyncResult", args)],
  ["celery.result GroupResult", (args) => resultRef("GroupResult", args)],
  // App-bound results pickle through the app: _unpickle_appattr('AsyncResult', (id, backend, name, app, parent)).
  [
    "celery.app.base _unpickle_appattr",
    (args) => (isResultKind(args[0]) && Array.isArray(args[1]) ? resultRef(args[0], args[1]) : undefined),
  ],
  ["celery.utils.serialization UnpickleableExceptionWrapper", (args) => wrappedException(args)],
]);

/**
 * The value a pickled call stands for: a JavaScript value from the fixed table, Celery's exception
 * dict, or a PythonObject recording the call. `raw` yields the whole pickle for PythonObject.raw.
 */
export function applyGlobal(ref: GlobalRef, args: unknown[], raw: () => Buffer, kwargs: unknown = null): unknown {
  const forwarded = forwardedCall(ref, args, kwargs);
  return forwarded ? construct(forwarded.ref, forwarded.args, raw, forwarded.kwargs) : construct(ref, args, raw, kwargs);
}

interface Call {
  ref: GlobalRef;
  args: unknown[];
  kwargs: unknown;
}

/**
 * The class a helper call only passes its arguments to: copyreg's _reconstructor, __newobj__ and
 * __newobj_ex__ (protocols 0-1), and getattr(cls, '__new__') (protocol 2's NEWOBJ_EX). Resolved
 * one level only, so a chain of helpers cannot recurse.
 */
function forwardedCall(ref: GlobalRef, args: unknown[], kwargs: unknown): Call | null {
  const cls = args[0];
  if (!(cls instanceof GlobalRef)) return null;
  switch (`${ref.module} ${ref.name}`) {
    case "copyreg _reconstructor":
      return { ref: cls, args: args[2] == null ? [] : [args[2]], kwargs: null };
    case "copyreg __newobj__":
      return { ref: cls, args: args.slice(1), kwargs: null };
    case "copyreg __newobj_ex__":
      return Array.isArray(args[1]) ? { ref: cls, args: args[1], kwargs: args[2] ?? null } : null;
    default:
      return ref.name.endsWith(".__new__") ? { ref: cls, args: args.slice(1), kwargs } : null;
  }
}

function construct(ref: GlobalRef, args: unknown[], raw: () => Buffer, kwargs: unknown): unknown {
  const known = KNOWN_CALLS.get(`${ref.module} ${ref.name}`)?.(args);
  if (known !== undefined) return known;
  if (isExceptionClass(ref)) return { exc_type: ref.name, exc_message: args, exc_module: ref.module } satisfies PickledException;
  const object = new PythonObject(ref.module, ref.name, args, raw());
  object.kwargs = kwargs;
  return object;
}

/**
 * What calling `callee` with `args` stands for, or undefined when Python could not call it (a
 * number, a list, ...). Besides globals, a functools.partial object is callable: protocol 2 wraps
 * getattr(SomeClass, '__new__') in one for classes with keyword-only constructor arguments.
 */
export function applyCall(callee: unknown, args: unknown[], raw: () => Buffer, kwargs: unknown = null): unknown {
  if (callee instanceof GlobalRef) return applyGlobal(callee, args, raw, kwargs);
  if (!(callee instanceof PythonObject)) return undefined;
  if (callee.module === "functools" && callee.name === "partial") {
    // partial's BUILD state is (func, args, keywords, __dict__).
    const [func = callee.args[0], bound = [], keywords = null] = Array.isArray(callee.state) ? callee.state : [];
    if (func instanceof GlobalRef && Array.isArray(bound)) return applyGlobal(func, [...bound, ...args], raw, keywords ?? kwargs);
  }
  const object = new PythonObject(callee.module, callee.name, args, raw());
  object.kwargs = kwargs;
  return object;
}

/** The canonical string of a pickled uuid.UUID, whose BUILD state is {'int': n}; null for anything else. */
export function uuidFromObject(object: PythonObject): string | null {
  if (object.module !== "uuid" || object.name !== "UUID" || !(object.state instanceof Map)) return null;
  const value = object.state.get("int");
  if ((typeof value !== "number" && typeof value !== "bigint") || !Number.isInteger(Number(value))) return null;
  const n = BigInt(value);
  if (n < 0n || n >= 1n << 128n) return null;
  const hex = n.toString(16).padStart(32, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function canonicalUuid(text: string): string | undefined {
  const hex = text
    .replace(/^urn:uuid:/i, "")
    .replace(/[{}-]/g, "")
    .toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** list(x) and tuple(x) of a list, tuple, set or dict (its keys), as Python iterates them. */
function toArray(args: unknown[]): unknown[] | undefined {
  if (args.length === 0) return [];
  const items = args[0];
  if (Array.isArray(items)) return [...items];
  if (items instanceof Set || items instanceof Map) return [...items.keys()];
  return undefined;
}

/** dict(), dict(mapping) and dict(pairs); dicts stay Maps until pickle.ts knows their key types. */
function toDict(args: unknown[]): Map<unknown, unknown> | undefined {
  if (args.length === 0) return new Map();
  const items = args[0];
  if (items instanceof Map) return new Map(items);
  if (Array.isArray(items) && items.every((pair) => Array.isArray(pair) && pair.length === 2)) {
    return new Map(items.map((pair) => [pair[0], pair[1]] as [unknown, unknown]));
  }
  return undefined;
}

function toSet(args: unknown[]): Set<unknown> | undefined {
  if (args.length === 0) return new Set();
  const items = args[0];
  return Array.isArray(items) || items instanceof Set ? new Set(items) : undefined;
}

function encodeText(args: unknown[]): Buffer | undefined {
  const [text, encoding] = args;
  if (typeof text !== "string" || typeof encoding !== "string") return undefined;
  const name = encoding.toLowerCase().replace(/[-_]/g, "");
  if (name === "latin1" || name === "iso88591") return Buffer.from(text, "latin1");
  if (name === "utf8") return Buffer.from(text, "utf8");
  return undefined;
}

function attributeOf(args: unknown[]): unknown {
  const [owner, attribute] = args;
  if (typeof attribute !== "string") return undefined;
  if (owner instanceof GlobalRef || owner instanceof PythonObject) return new GlobalRef(owner.module, `${owner.name}.${attribute}`);
  return undefined;
}

function isResultKind(value: unknown): value is "AsyncResult" | "GroupResult" {
  return value === "AsyncResult" || value === "GroupResult";
}

// AsyncResult args are (id, backend, task_name, app, parent); GroupResult args are (id, results[, parent]).
function resultRef(kind: "AsyncResult" | "GroupResult", args: unknown[]): PythonResultRef | undefined {
  const id = args[0];
  if (typeof id !== "string") return undefined;
  const children = kind === "GroupResult" ? groupMembers(id, args[1]) : [];
  const parent = kind === "GroupResult" ? args[2] : args[4];
  return new PythonResultRef(kind, id, children, parent instanceof PythonResultRef ? parent : null);
}

/**
 * A GroupResult's members, each an AsyncResult or GroupResult. Anything else (a container or class
 * taskledger cannot read) makes the group unreadable: dropping it would restore a group with
 * fewer members, or none, and join() would return at once.
 */
function groupMembers(groupId: string, results: unknown): PythonResultRef[] {
  if (results == null) return [];
  if (!Array.isArray(results))
    throw new UnreadableCallError(`the member list of group ${groupId} is ${describe(results)}, which taskledger cannot read`);
  return results.map((member, index) => {
    if (member instanceof PythonResultRef) return member;
    throw new UnreadableCallError(`member ${index} of group ${groupId} is ${describe(member)}, not a Celery AsyncResult or GroupResult`);
  });
}

function describe(value: unknown): string {
  if (value instanceof PythonObject || value instanceof GlobalRef) return `a call to ${value.module}.${value.name}`;
  if (value === null) return "None";
  return `a ${Array.isArray(value) ? "list" : value instanceof Map ? "dict" : value instanceof Set ? "set" : typeof value}`;
}

// UnpickleableExceptionWrapper(exc_module, exc_cls_name, exc_args, text) is Celery's stand-in for an exception it could not pickle.
function wrappedException(args: unknown[]): PickledException | undefined {
  const [module, type, excArgs] = args;
  if (typeof module !== "string" || typeof type !== "string") return undefined;
  return { exc_type: type, exc_message: Array.isArray(excArgs) ? excArgs : [excArgs], exc_module: module };
}

function toTimedelta(args: unknown[]): PythonTimedelta | undefined {
  const [days = 0, seconds = 0, microseconds = 0] = args;
  if (typeof days !== "number" || typeof seconds !== "number" || typeof microseconds !== "number") return undefined;
  return new PythonTimedelta(days, seconds, microseconds);
}

/** The pickled state of date, datetime and time: bytes, or latin-1 text when Python 2 wrote it. */
function stateBytes(value: unknown, length: number): Buffer | null {
  const bytes = typeof value === "string" ? Buffer.from(value, "latin1") : value;
  return Buffer.isBuffer(bytes) && bytes.length === length ? bytes : null;
}

// Python sets bit 7 of the month (datetime) or hour (time) byte for fold=1; the wall clock ignores it.
function dateParts(state: Buffer): { year: number; month: number; day: number } | null {
  const year = state[0]! * 256 + state[1]!;
  const month = state[2]! & 0x7f;
  const day = state[3]!;
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= 31 ? { year, month, day } : null;
}

function timeParts(state: Buffer, at: number): { hour: number; minute: number; second: number; micro: number } | null {
  const hour = state[at]! & 0x7f;
  const minute = state[at + 1]!;
  const second = state[at + 2]!;
  const micro = (state[at + 3]! << 16) | (state[at + 4]! << 8) | state[at + 5]!;
  return hour < 24 && minute < 60 && second < 60 && micro < 1_000_000 ? { hour, minute, second, micro } : null;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, "0");

function dateText(args: unknown[]): string | undefined {
  const state = stateBytes(args[0], 4);
  const date = state && dateParts(state);
  return date ? `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}` : undefined;
}

function timeText(args: unknown[]): string | undefined {
  const state = stateBytes(args[0], 6);
  const time = state && timeParts(state, 0);
  if (!time) return undefined;
  const text = `${pad(time.hour)}:${pad(time.minute)}:${pad(time.second)}`;
  return time.micro === 0 ? text : `${text}.${pad(time.micro, 6)}`;
}

// Naive datetimes are UTC, as Celery writes them; JavaScript keeps milliseconds, so microseconds are truncated.
function toDate(args: unknown[]): Date | undefined {
  const state = stateBytes(args[0], 10);
  const date = state && dateParts(state);
  const time = state && timeParts(state, 4);
  if (!date || !time) return undefined;
  const wall = new Date(0);
  wall.setUTCFullYear(date.year, date.month - 1, date.day);
  wall.setUTCHours(time.hour, time.minute, time.second, Math.floor(time.micro / 1000));
  return new Date(wall.getTime() - tzOffsetMs(args[1], wall.getTime()));
}

/** The UTC offset a pickled tzinfo stands for at a wall-clock time; unknown kinds count as UTC. */
function tzOffsetMs(tzinfo: unknown, wallMs: number): number {
  if (!(tzinfo instanceof PythonObject)) return 0;
  const [first, second] = tzinfo.args;
  switch (`${tzinfo.module} ${tzinfo.name}`) {
    case "datetime timezone":
      return first instanceof PythonTimedelta ? first.toMilliseconds() : 0;
    case "pytz _p": // pytz stores (zone, utcoffset seconds, dst seconds, tzname) for DST zones, (zone,) for static ones
      return typeof second === "number" ? second * 1000 : typeof first === "string" ? zoneOffsetMs(first, wallMs) : 0;
    case "dateutil.tz.tz tzoffset":
      return typeof second === "number" ? second * 1000 : second instanceof PythonTimedelta ? second.toMilliseconds() : 0;
    case "zoneinfo ZoneInfo._unpickle":
      return typeof first === "string" ? zoneOffsetMs(first, wallMs) : 0;
    default:
      return 0;
  }
}

/** One formatter per valid IANA zone; there are a few hundred, so the cache stays small. */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

function zoneFormat(zone: string): Intl.DateTimeFormat | null {
  let format = zoneFormats.get(zone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      });
    } catch {
      return null; // not an IANA zone this runtime knows
    }
    zoneFormats.set(zone, format);
  }
  return format;
}

// The wall clock is local time in `zone`; two passes settle the offset across a DST change.
function zoneOffsetMs(zone: string, wallMs: number): number {
  const format = zoneFormat(zone);
  if (!format) return 0;
  const offsetAt = (utcMs: number): number => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(utcMs)) parts[part.type] = Number(part.value);
    const local = new Date(0);
    local.setUTCFullYear(parts["year"] ?? 1970, (parts["month"] ?? 1) - 1, parts["day"] ?? 1);
    local.setUTCHours(parts["hour"] ?? 0, parts["minute"] ?? 0, parts["second"] ?? 0, 0);
    return local.getTime() - (utcMs - (((utcMs % 1000) + 1000) % 1000));
  };
  const guess = offsetAt(wallMs);
  const offset = offsetAt(wallMs - guess);
  return Number.isFinite(offset) ? offset : 0;
}
