/**
 * The default value codec: JSON as UTF-8 bytes, with kombu's `{"__type__", "__value__"}` markers
 * for what JSON lacks (dates, bytes), so Celery's JSON serializer reads the same values. Big
 * integers are written as plain JSON integers (Python reads them as ints) and read back as bigint.
 */
import { EncodeError } from "../errors.js";
import { VALUE_MAX_DEPTH } from "./depth.js";

// A bigint is first written as this marker string, then the quotes are removed from the JSON
// text; a user string that looks like the marker is rejected so it can never be confused.
const BIGINT_SENTINEL = "\u0000taskledger-bigint:";
const BIGINT_IN_JSON = /"\\u0000taskledger-bigint:(-?\d+)"/g;
// Integers beyond 2^53 have at least 16 digits; only then is the slower exact parser needed.
const LONG_DIGIT_RUN = /\d{16,}/;

/** Encodes to JSON text, validating on the way; throws EncodeError naming the offending path. */
export function encodeJsonText(value: unknown): string {
  const state = { sawBigint: false };
  const prepared = prepare(value, "$", new Set(), state, 0);
  const text = JSON.stringify(prepared);
  return state.sawBigint ? text.replace(BIGINT_IN_JSON, "$1") : text;
}

function prepare(value: unknown, path: string, ancestors: Set<object>, state: { sawBigint: boolean }, depth: number): unknown {
  switch (typeof value) {
    case "string":
      if (value.startsWith(BIGINT_SENTINEL)) throw new EncodeError(path, "the string starts with a reserved marker");
      return value;
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) throw new EncodeError(path, `${value} has no JSON form`);
      return value;
    case "bigint":
      state.sawBigint = true;
      return BIGINT_SENTINEL + value.toString();
    case "undefined":
      return undefined;
    case "function":
    case "symbol":
      throw new EncodeError(path, `a ${typeof value} cannot be stored`);
    case "object":
      break;
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Date) {
    if (Number.isNaN(object.getTime())) throw new EncodeError(path, "an invalid Date cannot be stored");
    return { __type__: "datetime", __value__: object.toISOString().replace("Z", "+00:00") };
  }
  if (object instanceof Uint8Array)
    return { __type__: "base64", __value__: Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString("base64") };
  if (
    object instanceof Map ||
    object instanceof Set ||
    object instanceof WeakMap ||
    object instanceof WeakSet ||
    object instanceof Promise
  ) {
    throw new EncodeError(path, `a ${object.constructor.name} has no JSON form; convert it to an array or a plain object`);
  }
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer)
    throw new EncodeError(path, "only Uint8Array/Buffer binary data can be stored");
  if (ancestors.has(object)) throw new EncodeError(path, "the value contains a cycle");
  // Bounded so a deep value is an EncodeError with its path, never a RangeError.
  if (depth >= VALUE_MAX_DEPTH) throw new EncodeError(path, `the value nests deeper than ${VALUE_MAX_DEPTH} levels`);
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      return object.map((item, index) => {
        const out = prepare(item, `${path}[${index}]`, ancestors, state, depth + 1);
        return out === undefined ? null : out;
      });
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(object)) {
      const prepared = prepare(item, `${path}.${key}`, ancestors, state, depth + 1);
      if (prepared !== undefined) setOwn(out, key, prepared);
    }
    return out;
  } finally {
    ancestors.delete(object);
  }
}

/** Decodes JSON text written by {@link encodeJsonText} or by Celery's JSON serializer. */
export function decodeJsonText(text: string): unknown {
  const parsed = LONG_DIGIT_RUN.test(text) ? parseExactJson(text) : JSON.parse(text);
  return text.includes('"__type__"') ? revive(parsed) : parsed;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 2 && typeof record["__type__"] === "string" && "__value__" in record) {
    const marker = reviveMarker(record["__type__"], record["__value__"]);
    if (marker !== NOT_A_MARKER) return marker;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) setOwn(out, key, revive(record[key]));
  return out;
}

/**
 * Sets a key as data. Plain assignment of "__proto__" swaps the object's prototype and the key
 * vanishes; a Python dict (or a JS object) may well hold that key.
 */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

const NOT_A_MARKER = Symbol("not a marker");

/** kombu's markers: datetime becomes a Date, bytes a Buffer; date, time, decimal and uuid stay text. */
function reviveMarker(type: string, raw: unknown): unknown {
  if (typeof raw !== "string") return NOT_A_MARKER;
  switch (type) {
    case "datetime": {
      // A naive datetime (no offset) is read as UTC, as Celery's timestamps are.
      const hasOffset = /(?:[zZ]|[+-]\d{2}:?\d{2})$/.test(raw);
      const date = new Date(hasOffset ? raw : `${raw}Z`);
      return Number.isNaN(date.getTime()) ? NOT_A_MARKER : date;
    }
    case "bytes":
      return Buffer.from(raw, "utf8");
    case "base64":
      return Buffer.from(raw, "base64");
    case "date":
    case "time":
    case "decimal":
    case "uuid":
      return raw;
    default:
      return NOT_A_MARKER;
  }
}

/**
 * JSON.parse, except that integers outside the safe range become bigint. Used only when the text
 * has a run of 16+ digits, so ordinary results keep the native parser's speed.
 */
function parseExactJson(text: string): unknown {
  let pos = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${pos} in JSON`);
  };
  const skipSpace = () => {
    while (pos < text.length && " \t\n\r".includes(text[pos]!)) pos++;
  };
  const parseValue = (): unknown => {
    skipSpace();
    const ch = text[pos];
    if (ch === "{") {
      pos++;
      const out: Record<string, unknown> = {};
      skipSpace();
      if (text[pos] === "}") return (pos++, out);
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail("expected a key");
        const key = parseString();
        skipSpace();
        if (text[pos++] !== ":") fail("expected ':'");
        setOwn(out, key, parseValue());
        skipSpace();
        const sep = text[pos++];
        if (sep === "}") return out;
        if (sep !== ",") fail("expected ',' or '}'");
      }
    }
    if (ch === "[") {
      pos++;
      const out: unknown[] = [];
      skipSpace();
      if (text[pos] === "]") return (pos++, out);
      for (;;) {
        out.push(parseValue());
        skipSpace();
        const sep = text[pos++];
        if (sep === "]") return out;
        if (sep !== ",") fail("expected ',' or ']'");
      }
    }
    if (ch === '"') return parseString();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(pos, pos + 4096));
    if (!literal) return fail("unexpected token");
    pos += literal[0].length;
    const token = literal[0];
    if (token === "true") return true;
    if (token === "false") return false;
    if (token === "null") return null;
    if (literal[1] === undefined && literal[2] === undefined) {
      const asNumber = Number(token);
      return Number.isSafeInteger(asNumber) ? asNumber : BigInt(token);
    }
    return Number(token);
  };
  const parseString = (): string => {
    const end = findStringEnd(text, pos);
    if (end < 0) fail("unterminated string");
    const raw = text.slice(pos, end + 1);
    pos = end + 1;
    return JSON.parse(raw) as string;
  };
  const value = parseValue();
  skipSpace();
  if (pos !== text.length) fail("unexpected trailing text");
  return value;
}

function findStringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\") i++;
    else if (ch === '"') return i;
  }
  return -1;
}
