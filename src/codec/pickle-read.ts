/**
 * A Python pickle reader (protocols 0-5) that never runs code. taskledger has its own because the
 * npm readers hand each global to a resolver and then call it (pickleparser applies `new` and
 * builds dicts by plain assignment, so a "__proto__" key swaps a dict's prototype) or need classes
 * registered and are unmaintained (jpickle, last released 2015); none bounds memory or nesting.
 * This one treats GLOBAL as a name, maps a fixed table of known calls (python-values.ts) and keeps
 * everything else as an inert PythonObject.
 */
import { GlobalRef, PythonObject, UnreadableCallError, applyCall } from "./python-values.js";

/** Thrown for any pickle taskledger cannot read: malformed, truncated, or using an unsupported opcode. */
export class PickleReadError extends Error {
  override readonly name = "PickleReadError";
}

/** At most this many open MARKs, and (pickle.ts) at most this deep a value: deeper would overflow whoever walks it. */
export const PICKLE_MAX_DEPTH = 10_000;
/** Python refuses longer decimal ints too (sys.int_info.default_max_str_digits), so no real pickle has one. */
const MAX_DECIMAL_DIGITS = 4300;
const HIGHEST_PROTOCOL = 5;
/**
 * Calls may copy their arguments (set(list), bytes(bytes)), and one memoized argument can be passed
 * to thousands of calls for a few bytes each: a pickle bomb. Copy work is capped at this many
 * items per input byte, far above what Python's own pickles need (about one).
 */
const CALL_WORK_PER_BYTE = 8;
const CALL_WORK_ALLOWANCE = 65_536;

/** Opcodes by byte, for dispatch and error messages. */
export const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  FLOAT: 0x46,
  INT: 0x49,
  BININT: 0x4a,
  BININT1: 0x4b,
  LONG: 0x4c,
  BININT2: 0x4d,
  NONE: 0x4e,
  PERSID: 0x50,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  BINUNICODE: 0x58,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  EMPTY_DICT: 0x7d,
  APPENDS: 0x65,
  GET: 0x67,
  BINGET: 0x68,
  INST: 0x69,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  EMPTY_LIST: 0x5d,
  OBJ: 0x6f,
  PUT: 0x70,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  EMPTY_TUPLE: 0x29,
  SETITEMS: 0x75,
  BINFLOAT: 0x47,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;

const OP_NAMES = new Map<number, string>(Object.entries(OP).map(([name, code]) => [code, name]));

/** Python 2 module names that Python 3 renames when reading protocol 0-2 (a slice of _compat_pickle). */
const PY2_MODULES = new Map([
  ["__builtin__", "builtins"],
  ["exceptions", "builtins"],
  ["copy_reg", "copyreg"],
]);
const PY2_NAMES = new Map([
  ["exceptions StandardError", "Exception"],
  ["__builtin__ unicode", "str"],
  ["__builtin__ xrange", "range"],
]);

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The parse graph a pickle leaves on its stack at STOP; pickle.ts turns it into the values callers get. */
export interface ParsedPickle {
  root: unknown;
  /** The whole pickle, copied once, for PythonObject.raw. */
  raw: () => Buffer;
}

/** Runs the opcodes of a pickle; throws PickleReadError for anything it cannot read. */
export function parsePickle(bytes: Uint8Array): ParsedPickle {
  const machine = new PickleMachine(bytes);
  return { root: machine.run(), raw: machine.raw };
}

class PickleMachine {
  private pos = 0;
  private opStart = 0;
  private opcode = 0;
  private protocol = 0;
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private callWork = 0;
  private rawCopy: Buffer | undefined;
  readonly raw = (): Buffer => (this.rawCopy ??= Buffer.from(this.bytes));

  constructor(private readonly bytes: Uint8Array) {}

  run(): unknown {
    // Every opcode consumes at least one byte, so this loop runs at most bytes.length times.
    while (this.pos < this.bytes.length) {
      this.opStart = this.pos;
      this.opcode = this.bytes[this.pos++]!;
      if (this.opcode === OP.STOP) return this.pop();
      this.step(this.opcode);
    }
    throw new PickleReadError(`pickle ends without STOP at offset ${this.pos} (truncated)`);
  }

  private fail(message: string): PickleReadError {
    const name = OP_NAMES.get(this.opcode) ?? `0x${this.opcode.toString(16).padStart(2, "0")}`;
    return new PickleReadError(`${message} (opcode ${name} at offset ${this.opStart})`);
  }

  private step(op: number): void {
    switch (op) {
      case OP.PROTO: {
        this.protocol = this.u8();
        if (this.protocol > HIGHEST_PROTOCOL) throw this.fail(`unsupported pickle protocol ${this.protocol}`);
        return;
      }
      case OP.FRAME:
        return this.checkFits(this.u64()); // frames only help buffered readers; this one has every byte
      case OP.MARK:
        if (this.marks.length >= PICKLE_MAX_DEPTH) throw this.fail(`more than ${PICKLE_MAX_DEPTH} nested MARKs`);
        return void this.marks.push(this.stack.length);
      case OP.POP:
        if (this.stack.length > this.base()) this.stack.pop();
        else this.popMark(); // Python pops the mark itself when the level is empty
        return;
      case OP.POP_MARK:
        return void this.popMark();
      case OP.DUP:
        return this.push(this.top());
      case OP.NONE:
        return this.push(null);
      case OP.NEWTRUE:
        return this.push(true);
      case OP.NEWFALSE:
        return this.push(false);
      case OP.INT: {
        const text = this.textLine();
        return this.push(text === "01" ? true : text === "00" ? false : this.decimal(text));
      }
      case OP.BININT:
        return this.push(this.view(4).getInt32(0, true));
      case OP.BININT1:
        return this.push(this.u8());
      case OP.BININT2:
        return this.push(this.view(2).getUint16(0, true));
      case OP.LONG:
        return this.push(this.decimal(this.textLine().replace(/L$/, "")));
      case OP.LONG1:
        return this.push(twosComplement(this.take(this.u8())));
      case OP.LONG4:
        return this.push(twosComplement(this.take(this.view(4).getInt32(0, true))));
      case OP.FLOAT:
        return this.push(this.floatText(this.textLine()));
      case OP.BINFLOAT:
        return this.push(this.view(8).getFloat64(0, false));
      case OP.STRING:
        return this.push(this.quotedString(this.lineBytes()));
      case OP.BINSTRING:
        return this.push(latin1(this.take(this.view(4).getInt32(0, true))));
      case OP.SHORT_BINSTRING:
        return this.push(latin1(this.take(this.u8())));
      case OP.UNICODE:
        return this.push(this.rawUnicodeEscape(this.lineBytes()));
      case OP.BINUNICODE:
        return this.push(this.utf8(this.take(this.view(4).getUint32(0, true))));
      case OP.SHORT_BINUNICODE:
        return this.push(this.utf8(this.take(this.u8())));
      case OP.BINUNICODE8:
        return this.push(this.utf8(this.take(this.u64())));
      case OP.BINBYTES:
        return this.push(Buffer.from(this.take(this.view(4).getUint32(0, true))));
      case OP.SHORT_BINBYTES:
        return this.push(Buffer.from(this.take(this.u8())));
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        return this.push(Buffer.from(this.take(this.u64())));
      case OP.EMPTY_LIST:
        return this.push([]);
      case OP.APPEND: {
        const item = this.pop();
        return this.appendTo(this.top(), [item]);
      }
      case OP.APPENDS: {
        const items = this.popMark();
        return this.appendTo(this.top(), items);
      }
      case OP.LIST:
        return this.push(this.popMark());
      case OP.EMPTY_TUPLE:
        return this.push([]);
      case OP.TUPLE:
        return this.push(this.popMark());
      case OP.TUPLE1:
        return this.push([this.pop()]);
      case OP.TUPLE2: {
        const b = this.pop();
        const a = this.pop();
        return this.push([a, b]);
      }
      case OP.TUPLE3: {
        const c = this.pop();
        const b = this.pop();
        const a = this.pop();
        return this.push([a, b, c]);
      }
      case OP.EMPTY_DICT:
        return this.push(new Map());
      case OP.DICT: {
        const dict = new Map();
        this.setItems(dict, this.popMark());
        return this.push(dict);
      }
      case OP.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        return this.setItems(this.top(), [key, value]);
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        return this.setItems(this.top(), items);
      }
      case OP.EMPTY_SET:
        return this.push(new Set());
      case OP.ADDITEMS: {
        const items = this.popMark();
        return this.addItems(this.top(), items);
      }
      case OP.FROZENSET:
        return this.push(new Set(this.popMark()));
      case OP.PUT:
        return void this.memo.set(this.index(this.textLine()), this.top());
      case OP.BINPUT:
        return void this.memo.set(this.u8(), this.top());
      case OP.LONG_BINPUT:
        return void this.memo.set(this.view(4).getUint32(0, true), this.top());
      case OP.MEMOIZE:
        return void this.memo.set(this.memo.size, this.top());
      case OP.GET:
        return this.push(this.recall(this.index(this.textLine())));
      case OP.BINGET:
        return this.push(this.recall(this.u8()));
      case OP.LONG_BINGET:
        return this.push(this.recall(this.view(4).getUint32(0, true)));
      case OP.GLOBAL: {
        const module = this.textLine();
        return this.push(this.global(module, this.textLine()));
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== "string" || typeof name !== "string") throw this.fail("STACK_GLOBAL needs two strings");
        return this.push(this.global(module, name));
      }
      case OP.REDUCE: {
        const args = this.pop();
        return this.push(this.call(this.pop(), args));
      }
      case OP.NEWOBJ: {
        const args = this.pop();
        return this.push(this.call(this.pop(), args));
      }
      case OP.NEWOBJ_EX: {
        const kwargs = this.pop();
        const args = this.pop();
        return this.push(this.call(this.pop(), args, kwargs));
      }
      case OP.INST: {
        const module = this.textLine();
        const ref = this.global(module, this.textLine());
        return this.push(this.call(ref, this.popMark()));
      }
      case OP.OBJ: {
        const [cls, ...args] = this.popMark();
        if (cls === undefined) throw this.fail("OBJ without a class");
        return this.push(this.call(cls, args));
      }
      case OP.BUILD: {
        const state = this.pop();
        const target = this.top();
        // Only PythonObject keeps state; a mapped value (an exception dict, a Date) has all it needs.
        if (target instanceof PythonObject) target.state = state;
        return;
      }
      case OP.PERSID:
      case OP.BINPERSID:
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4:
      case OP.NEXT_BUFFER:
      case OP.READONLY_BUFFER:
        throw this.fail("unsupported opcode (persistent ids, extension registry and out-of-band buffers need the writer's own setup)");
      default:
        throw this.fail("unknown opcode");
    }
  }

  // ---- the stack: one array, with marks remembering where each MARKed level starts ----

  private base(): number {
    return this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1]!;
  }

  private push(value: unknown): void {
    this.stack.push(value);
  }

  private pop(): unknown {
    if (this.stack.length <= this.base()) throw this.fail("stack underflow");
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length <= this.base()) throw this.fail("stack underflow");
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) throw this.fail("no MARK to pop");
    return this.stack.splice(mark);
  }

  private recall(index: number): unknown {
    if (!this.memo.has(index)) throw this.fail(`memo has no entry ${index}`);
    return this.memo.get(index);
  }

  private global(module: string, name: string): GlobalRef {
    if (this.protocol < 3) {
      const renamed = PY2_NAMES.get(`${module} ${name}`);
      module = PY2_MODULES.get(module) ?? module;
      name = renamed ?? name;
    }
    return new GlobalRef(module, name);
  }

  private call(callee: unknown, args: unknown, kwargs: unknown = null): unknown {
    if (!Array.isArray(args)) throw this.fail("call arguments are not a tuple");
    this.chargeCall(callee, args);
    let result: unknown;
    try {
      result = applyCall(callee, args, this.raw, kwargs);
    } catch (error) {
      if (error instanceof UnreadableCallError) throw this.fail(error.message);
      throw error;
    }
    if (result === undefined) throw this.fail("call target is not a class or function");
    return result;
  }

  /** Charges what a call may copy: its arguments' items, and a functools.partial's bound arguments. */
  private chargeCall(callee: unknown, args: unknown[]): void {
    const bound = callee instanceof PythonObject && Array.isArray(callee.state) ? callee.state : [];
    let work = 1 + args.length + bound.length;
    for (const part of [...args, ...bound]) work += copySize(part);
    this.callWork += work;
    if (this.callWork > CALL_WORK_PER_BYTE * this.bytes.length + CALL_WORK_ALLOWANCE) {
      throw this.fail("calls copy far more than the pickle holds (a pickle bomb)");
    }
  }

  private appendTo(target: unknown, items: unknown[]): void {
    const list = Array.isArray(target) ? target : target instanceof PythonObject ? (target.listItems ??= []) : null;
    if (!list) throw this.fail("APPEND target is not a list");
    for (const item of items) list.push(item);
  }

  private addItems(target: unknown, items: unknown[]): void {
    if (target instanceof Set) for (const item of items) target.add(item);
    else if (target instanceof PythonObject) for (const item of items) (target.listItems ??= []).push(item);
    else throw this.fail("ADDITEMS target is not a set");
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (items.length % 2 !== 0) throw this.fail("odd number of dict items");
    const dict = target instanceof Map ? target : target instanceof PythonObject ? (target.dictItems ??= new Map()) : null;
    if (!(dict instanceof Map)) throw this.fail("SETITEM target is not a dict");
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  }

  // ---- reading operands; every length is checked against what is left before anything is allocated ----

  private take(length: number): Uint8Array {
    if (length < 0 || length > this.bytes.length - this.pos) throw this.fail(`length ${length} runs past the end`);
    const slice = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  private checkFits(length: number): void {
    if (length > this.bytes.length - this.pos) throw this.fail(`length ${length} runs past the end`);
  }

  private u8(): number {
    return this.take(1)[0]!;
  }

  private view(size: number): DataView {
    const slice = this.take(size);
    return new DataView(slice.buffer, slice.byteOffset, size);
  }

  private u64(): number {
    const view = this.view(8);
    const high = view.getUint32(4, true);
    // Anything at or above 2**53 is longer than any buffer; report it without losing precision.
    if (high >= 0x200000) throw this.fail("length beyond 2**53 runs past the end");
    return high * 2 ** 32 + view.getUint32(0, true);
  }

  /** A protocol-0 text operand: the bytes up to the next newline, which is consumed too. */
  private lineBytes(): Uint8Array {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw this.fail("line without newline");
    const line = this.take(end - this.pos);
    this.pos += 1;
    return line;
  }

  private textLine(): string {
    return this.utf8(this.lineBytes());
  }

  private index(text: string): number {
    if (!/^\d{1,15}$/.test(text)) throw this.fail(`bad memo index ${JSON.stringify(text.slice(0, 20))}`);
    return Number(text);
  }

  private decimal(text: string): number | bigint {
    const trimmed = text.trim();
    if (!/^[+-]?\d+$/.test(trimmed)) throw this.fail("bad integer text");
    if (trimmed.length > MAX_DECIMAL_DIGITS) throw this.fail(`integer text longer than ${MAX_DECIMAL_DIGITS} digits`);
    return narrow(BigInt(trimmed));
  }

  private floatText(text: string): number {
    const trimmed = text.trim().toLowerCase();
    if (/^[+-]?(inf|infinity)$/.test(trimmed)) return trimmed.startsWith("-") ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(trimmed)) return NaN;
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(trimmed)) throw this.fail("bad float text");
    return Number(trimmed);
  }

  private utf8(bytes: Uint8Array): string {
    try {
      return utf8.decode(bytes);
    } catch {
      throw this.fail("invalid UTF-8 (lone surrogates are not supported)");
    }
  }

  /** STRING: a Python 2 str literal with quotes and backslash escapes, read as latin-1 text. */
  private quotedString(line: Uint8Array): string {
    const quote = line[0];
    if (line.length < 2 || (quote !== 0x22 && quote !== 0x27) || line[line.length - 1] !== quote)
      throw this.fail("STRING argument must be quoted");
    const body = line.subarray(1, -1);
    const out = new Uint8Array(body.length);
    let length = 0;
    for (let i = 0; i < body.length; i++) {
      const byte = body[i]!;
      if (byte !== 0x5c) {
        out[length++] = byte;
        continue;
      }
      const next = body[++i];
      if (next === undefined) throw this.fail("trailing backslash in STRING");
      const simple = SIMPLE_ESCAPES.get(next);
      if (simple !== undefined) out[length++] = simple;
      else if (next === 0x0a)
        continue; // backslash-newline is a line continuation
      else if (next === 0x78) {
        // \xhh
        const hex = String.fromCharCode(body[i + 1] ?? 0, body[i + 2] ?? 0);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw this.fail("invalid \\x escape in STRING");
        out[length++] = parseInt(hex, 16);
        i += 2;
      } else if (next >= 0x30 && next <= 0x37) {
        // up to three octal digits
        let value = next - 0x30;
        for (let n = 0; n < 2 && body[i + 1]! >= 0x30 && body[i + 1]! <= 0x37; n++) value = value * 8 + (body[++i]! - 0x30);
        out[length++] = value & 0xff;
      } else {
        out[length++] = 0x5c;
        out[length++] = next;
      }
    }
    return latin1(out.subarray(0, length));
  }

  /** UNICODE: raw-unicode-escape, i.e. latin-1 bytes where an odd run of backslashes before u/U starts an escape. */
  private rawUnicodeEscape(line: Uint8Array): string {
    const pieces: string[] = [];
    let i = 0;
    while (i < line.length) {
      let run = 0;
      while (i < line.length && line[i] === 0x5c) {
        run++;
        i++;
      }
      const marker = line[i];
      if (run % 2 === 1 && (marker === 0x75 || marker === 0x55)) {
        pieces.push("\\".repeat(run - 1));
        const digits = marker === 0x75 ? 4 : 8;
        const hex = latin1(line.subarray(i + 1, i + 1 + digits));
        if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw this.fail("truncated \\uXXXX escape in UNICODE");
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) throw this.fail("\\U escape beyond U+10FFFF in UNICODE");
        pieces.push(String.fromCodePoint(code));
        i += 1 + digits;
      } else {
        if (run > 0) pieces.push("\\".repeat(run));
        const start = i;
        while (i < line.length && line[i] !== 0x5c) i++;
        pieces.push(latin1(line.subarray(start, i)));
      }
    }
    return pieces.join("");
  }
}

const SIMPLE_ESCAPES = new Map([
  [0x5c, 0x5c],
  [0x27, 0x27],
  [0x22, 0x22],
  [0x61, 0x07],
  [0x62, 0x08],
  [0x66, 0x0c],
  [0x6e, 0x0a],
  [0x72, 0x0d],
  [0x74, 0x09],
  [0x76, 0x0b],
]);

function copySize(value: unknown): number {
  if (typeof value === "string" || Array.isArray(value) || value instanceof Uint8Array) return value.length;
  return value instanceof Set || value instanceof Map ? value.size : 0;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** LONG1/LONG4 payload: little-endian two's complement, empty meaning 0. */
function twosComplement(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let hex = "";
  for (let i = bytes.length - 1; i >= 0; i--) hex += bytes[i]!.toString(16).padStart(2, "0");
  let value = BigInt(`0x${hex}`);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
  return narrow(value);
}
