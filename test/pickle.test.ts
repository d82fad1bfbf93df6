/**
 * The pickle codec against bytes Celery and Python really write: the research dumps, a table
 * pickled by python3 at every protocol, writer output loaded back by python3, hostile pickles
 * that name os.system or eval, and a seeded fuzz loop over broken input.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  PICKLE_MAX_DEPTH,
  PickleReadError,
  PyTuple,
  PythonObject,
  PythonResultRef,
  PythonTimedelta,
  looksLikePickle,
  pickleException,
  pickleGroupResult,
  readPickle,
  writePickle,
} from "../src/codec/pickle.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "pickle");
const PYTHON = ["/usr/bin/python3", "python3"].find((cmd) => spawnSync(cmd, ["--version"]).status === 0);
const noPython = PYTHON === undefined && "no python3 on this machine";
const scratch = mkdtempSync(join(tmpdir(), "taskledger-pickle-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");
const ascii = (text: string): Buffer => Buffer.from(text, "latin1");

function python(script: string, input = ""): string {
  const run = spawnSync(PYTHON!, ["-c", script], { input, encoding: "utf8", env: { ...process.env, PYTHONIOENCODING: "utf-8" } });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

function pyObject(module: string, name: string, args: unknown[], fields: Partial<PythonObject> = {}): PythonObject {
  return Object.assign(new PythonObject(module, name, args, Buffer.alloc(0)), fields);
}

const ref = (kind: "AsyncResult" | "GroupResult", id: string, children: PythonResultRef[] = [], parent: PythonResultRef | null = null) =>
  new PythonResultRef(kind, id, children, parent);

const valueError = { exc_type: "ValueError", exc_message: ["boom"], exc_module: "builtins" };

describe("bytes Celery 5.2.6 stored (shared/research/celery-ddl.md)", () => {
  const { dumps } = JSON.parse(readFileSync(join(FIXTURES, "celery-5.2.6-dumps.json"), "utf8")) as {
    dumps: { name: string; hex: string }[];
  };
  const dump = (name: string): Buffer => hex(dumps.find((entry) => entry.name === name)!.hex);
  const ids = [1, 2, 3].map((n) => ref("AsyncResult", `bbbbbbbb-0000-4000-8000-00000000000${n}`));

  it("reads the 135-byte SUCCESS dict", () => {
    assert.equal(dump("success_dict").length, 135);
    assert.deepEqual(readPickle(dump("success_dict")), { n: 1, payload: "x".repeat(100) });
  });
  it("reads the unframed int 5", () => assert.equal(readPickle(dump("success_int")), 5));
  it("reads the json-serializer FAILURE dict, exc_message a list", () => assert.deepEqual(readPickle(dump("failure_json")), valueError));
  it("reads the pickled ValueError('boom') as the same exception dict", () =>
    assert.deepEqual(readPickle(dump("failure_pickle")), valueError));
  it("reads the STARTED meta", () => assert.deepEqual(readPickle(dump("started")), { pid: 1234, hostname: "celery@host" }));
  it("reads a saved GroupResult as ids, ignoring the pickled backend and its URL", () => {
    assert.deepEqual(readPickle(dump("group_pg")), ref("GroupResult", "cccccccc-0000-4000-8000-000000000001", ids));
  });
  it("recognises every dump as a pickle", () => {
    for (const entry of dumps) assert.ok(looksLikePickle(hex(entry.hex)), entry.name);
    assert.ok(!looksLikePickle(Buffer.from('{"a": 1}')));
    assert.ok(!looksLikePickle(new Uint8Array()));
  });

  it("the generator's fake Celery writes those exact group bytes", { skip: noPython }, () => {
    const line = generated().find((entry) => entry.name === "celery_group_as_in_dump" && entry.protocol === 5);
    assert.equal(line?.hex, dump("group_pg").toString("hex"));
  });
});

describe("groups Debian's Celery 5.2.6 saved", () => {
  interface SavedGroupFixture {
    id: string;
    members: (string | string[])[];
    hex: string;
  }
  const { groups } = JSON.parse(readFileSync(join(FIXTURES, "celery-5.2.6-groups.json"), "utf8")) as {
    groups: Record<string, SavedGroupFixture>;
  };
  const tree = (value: PythonResultRef): unknown[] =>
    value.children.map((child) => (child.kind === "GroupResult" ? tree(child) : child.id));

  it("a group saved after group(...).freeze() restores every member in order, also when Celery pickled them as list(...)", () => {
    assert.deepEqual(Object.keys(groups).sort(), ["chain_group", "frozen_generator", "frozen_list", "nested"]);
    assert.ok(
      hex(groups["frozen_generator"]!.hex).includes(Buffer.from("\x8c\x08builtins\x94\x8c\x04list", "latin1")),
      "the fixture holds the list(...) call",
    );
    for (const [name, group] of Object.entries(groups)) {
      const value = readPickle(hex(group.hex));
      assert.ok(value instanceof PythonResultRef && value.kind === "GroupResult", name);
      assert.equal(value.id, group.id, name);
      assert.ok(value.children.length > 0, name);
      assert.deepEqual(tree(value), group.members, name);
    }
  });

  it("a group whose member list is a call taskledger does not know is unreadable, never empty", () => {
    // The same bytes with builtins.list renamed to a function of the same length that no table knows.
    const bytes = hex(groups["frozen_generator"]!.hex);
    const known = Buffer.from("\x8c\x08builtins\x94\x8c\x04list", "latin1");
    const at = bytes.indexOf(known);
    assert.ok(at > 0);
    const unknown = Buffer.concat([
      bytes.subarray(0, at),
      Buffer.from("\x8c\x08myapp.ut\x94\x8c\x04regn", "latin1"),
      bytes.subarray(at + known.length),
    ]);
    assert.throws(
      () => readPickle(unknown),
      (e: unknown) => e instanceof PickleReadError && /member list of group .* a call to myapp\.ut\.regn/.test(e.message),
    );
  });

  it("a group member that is not a Celery result makes the group unreadable", () => {
    const group = pickleGroupResult("g-x", ["t-1", "t-2"]);
    // Replace the second AsyncResult's class name by one of the same length the reader does not map.
    const name = Buffer.from("AsyncResult", "latin1");
    const first = group.indexOf(name);
    assert.ok(first > 0);
    const renamed = Buffer.from(group);
    Buffer.from("AsyncResulX", "latin1").copy(renamed, first);
    assert.throws(
      () => readPickle(renamed),
      (e: unknown) => e instanceof PickleReadError && /member 0 of group g-x is a call to celery\.result\.AsyncResulX/.test(e.message),
    );
  });
});

interface Generated {
  name: string;
  protocol: number;
  hex: string;
}
let generatedCache: Generated[] | undefined;
function generated(): Generated[] {
  generatedCache ??= python(readFileSync(join(FIXTURES, "make.py"), "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Generated);
  return generatedCache;
}

const date = (iso: string): Date => new Date(iso);

/** What each value in make.py reads as; a function when the answer depends on the protocol. */
const EXPECTED: Record<string, unknown | ((protocol: number) => unknown)> = {
  none: null,
  true: true,
  false: false,
  ints: [0, 1, 255, 256, 65535, 65536, -1, -129, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1)],
  int_2_53: 2n ** 53n,
  int_2_70: 2n ** 70n,
  int_neg_2_70: -(2n ** 70n),
  floats: [1.5, -0, 1e300, -2.5e-300, Infinity, -Infinity],
  nan: NaN,
  strings: ["", "hello", "é€😀", "a\\u0041\\U0001F600\nb", "\x00\r\x1a\\", "\ufeffbom", "x".repeat(300)],
  bytes: [
    Buffer.alloc(0),
    Buffer.from([0, 255]),
    Buffer.concat([Buffer.from([...Array(256).keys()]), Buffer.from([...Array(256).keys()])]),
  ],
  bytearray: Buffer.from([0x61, 0x62, 0, 0xff]),
  nested: { a: [1, [2, 3], { b: null }], c: [], d: [[]] },
  tuples: [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4, 5]],
  sets: [new Set([1, 2, 3]), new Set(["x"]), new Set()],
  int_keys: new Map([
    [1, "a"],
    [2, "b"],
  ]),
  mixed_keys: new Map<unknown, unknown>([
    [1, "a"],
    ["b", 2],
  ]),
  tuple_key: new Map([[[1, 2], "x"]]),
  proto_key: Object.defineProperties(
    {},
    {
      ["__proto__"]: { value: { polluted: true }, enumerable: true, writable: true, configurable: true },
      constructor: { value: 1, enumerable: true, writable: true, configurable: true },
    },
  ),
  shared: [[1], [1]],
  recursive: undefined, // checked for identity below
  datetime_naive: date("2024-01-02T03:04:05.678Z"),
  datetime_utc: date("2024-01-02T03:04:05Z"),
  datetime_plus2: date("2024-01-02T01:04:05Z"),
  datetime_minus0530: date("2024-01-02T08:34:05Z"),
  datetime_paris: date("2024-07-01T10:00:00Z"),
  datetime_year_1: date("0001-01-01T00:00:00Z"),
  date: "2024-01-02",
  time: "01:02:03.000004",
  time_whole: "23:59:59",
  timedelta: new PythonTimedelta(1, 2, 3),
  timedelta_negative: new PythonTimedelta(-1, 0, 0),
  decimal: "1.10",
  uuid: "12345678-1234-5678-1234-567812345678",
  uuid_safe: "00000000-0000-0000-0000-000000000005",
  value_error: valueError,
  key_error: { exc_type: "KeyError", exc_message: ["k"], exc_module: "builtins" },
  // Below protocol 3 Python writes the Python 2 name, exceptions.OSError.
  os_error: (protocol: number) => ({
    exc_type: protocol < 3 ? "OSError" : "FileNotFoundError",
    exc_message: [2, "No such file"],
    exc_module: "builtins",
  }),
  custom_error: { exc_type: "MyError", exc_message: ["x"], exc_module: "__main__" },
  revoked: { exc_type: "TaskRevokedError", exc_message: ["terminated"], exc_module: "celery.exceptions" },
  unpickleable_wrapper: { exc_type: "Boom", exc_message: [1, "two"], exc_module: "myapp.errors" },
  thing: pyObject("__main__", "Thing", [], { state: { a: 1, tags: ["x"] } }),
  thing_class: pyObject("__main__", "Thing", []),
  slotted: pyObject("__main__", "Slotted", [], { state: [null, { x: 1 }] }),
  complex: pyObject("builtins", "complex", [1, 2]),
  ordered_dict: { b: 1, a: 2 },
  defaultdict: { a: [1] },
  counter: { a: 2, b: 1 },
  keyword_only: pyObject("__main__", "KeywordOnly", [1], { kwargs: { x: 2 } }),
  async_result: ref("AsyncResult", "t-1", [], ref("AsyncResult", "t-0")),
  group_result: ref("GroupResult", "g-1", [ref("AsyncResult", "t-1"), ref("AsyncResult", "t-2")]),
  celery_group_as_in_dump: ref(
    "GroupResult",
    "cccccccc-0000-4000-8000-000000000001",
    [1, 2, 3].map((n) => ref("AsyncResult", `bbbbbbbb-0000-4000-8000-00000000000${n}`)),
  ),
  list_call: [1, "a"],
  tuple_call: [1, 2],
  list_of_set_call: [7],
  dict_call: { a: 1, b: [2] },
  dict_empty_call: {},
  str_call: "s",
  group_regen: ref("GroupResult", "g-2", [ref("AsyncResult", "t-1"), ref("AsyncResult", "t-2")]),
  group_nested: ref("GroupResult", "g-3", [ref("GroupResult", "g-4", [ref("AsyncResult", "t-1")]), ref("AsyncResult", "t-2")]),
};

describe("pickles python3 writes, protocols 0-5", { skip: noPython }, () => {
  it("reads every value in test/fixtures/pickle/make.py as expected", () => {
    const names = new Set<string>();
    for (const { name, protocol, hex: text } of generated()) {
      names.add(name);
      assert.ok(name in EXPECTED, `no expectation for ${name}`);
      const value = readPickle(hex(text));
      const label = `${name} at protocol ${protocol}`;
      if (name === "shared") {
        const [first, second] = value as unknown[][];
        assert.equal(first, second, label);
      }
      if (name === "recursive") {
        assert.equal((value as unknown[])[0], value, label);
        continue;
      }
      const expected = EXPECTED[name];
      assert.deepStrictEqual(value, typeof expected === "function" ? expected(protocol) : expected, label);
    }
    assert.deepEqual([...names].sort(), Object.keys(EXPECTED).sort());
  });

  it("covers protocols 0 through 5", () => {
    assert.deepEqual([...new Set(generated().map((entry) => entry.protocol))].sort(), [0, 1, 2, 3, 4, 5]);
  });

  it("keeps the whole pickle on a PythonObject without showing it", () => {
    const { hex: text } = generated().find((entry) => entry.name === "thing" && entry.protocol === 5)!;
    const thing = readPickle(hex(text)) as PythonObject;
    assert.deepEqual(thing.raw, hex(text));
    assert.equal(String(thing), "<python object __main__.Thing>");
    assert.ok(!JSON.stringify(thing).includes("raw"));
  });
});

describe("Python 2 era opcodes", () => {
  it("reads STRING, BINSTRING and SHORT_BINSTRING as latin-1 text", () => {
    assert.equal(readPickle(ascii("S'a\\n\\x00\\'\\\\\\101\\q'\np0\n.")), "a\n\x00'\\A\\q");
    assert.equal(readPickle(ascii('S"caf\\xe9"\n.')), "café");
    assert.equal(readPickle(ascii("T\x03\x00\x00\x00abc.")), "abc");
    assert.equal(readPickle(ascii("\x80\x02U\x02\xff\x00.")), "\xff\x00");
  });
  it("reads text INT, LONG, FLOAT, bools and memo", () => {
    assert.deepEqual(readPickle(ascii("(I01\nI00\nI-7\nL123456789012345678901234567890L\nF-1.25\nFnan\ntp0\n(g0\nl.")), [
      [true, false, -7, 123456789012345678901234567890n, -1.25, NaN],
    ]);
  });
  it("reads a Python 2 datetime, whose state is a str", () => {
    const state = String.fromCharCode(0x07, 0xe8, 1, 2, 3, 4, 5, 0x0a, 0x5b, 0xf5);
    assert.deepEqual(readPickle(ascii(`\x80\x02cdatetime\ndatetime\nq\x00U\x0a${state}\x85R.`)), date("2024-01-02T03:04:05.678Z"));
  });
  it("renames Python 2 modules below protocol 3, as Python does", () => {
    assert.deepEqual(readPickle(ascii("\x80\x02cexceptions\nKeyError\nX\x01\x00\x00\x00k\x85R.")), {
      exc_type: "KeyError",
      exc_message: ["k"],
      exc_module: "builtins",
    });
    assert.deepEqual(readPickle(ascii("\x80\x02c__builtin__\nset\n]K\x01a\x85R.")), new Set([1]));
    assert.deepEqual(readPickle(ascii("\x80\x03c__builtin__\nset\n]K\x01a\x85R.")), pyObject("__builtin__", "set", [[1]]));
  });
});

/** A value, what python3 prints for repr() of it after loading writePickle's bytes, and whether it reads back equal. */
const WRITE_TABLE: [string, unknown, string, boolean][] = [
  ["none", null, "None", true],
  ["true", true, "True", true],
  ["false", false, "False", true],
  ["small ints", [0, 255, 256, 65535, 65536, -1, -129], "[0, 255, 256, 65535, 65536, -1, -129]", true],
  ["int32 edges", [2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1], "[2147483647, -2147483648, 2147483648, -2147483649]", true],
  ["safe integer edges", [2 ** 53 - 1, -(2 ** 53 - 1)], "[9007199254740991, -9007199254740991]", true],
  ["floats", [1.5, -0, 1e300, Infinity, -Infinity, NaN], "[1.5, -0.0, 1e+300, inf, -inf, nan]", true],
  ["an unsafe integer stays a float", 2 ** 60, "1.152921504606847e+18", true],
  ["bigints", [2n ** 70n, -(2n ** 70n), -1n, 255n], "[1180591620717411303424, -1180591620717411303424, -1, 255]", false],
  ["a 2100-bit bigint needs LONG4", 2n ** 2100n, String(2n ** 2100n), true],
  ["strings", ["", "hello", "é€😀", "quote'\"\\", "\ufeffbom"], `['', 'hello', 'é€😀', 'quote\\'"\\\\', '\\ufeffbom']`, true],
  ["a long string", "y".repeat(300), `'${"y".repeat(300)}'`, true],
  ["bytes", [Buffer.from([0, 255]), Buffer.alloc(0), new Uint8Array([1, 2])], "[b'\\x00\\xff', b'', b'\\x01\\x02']", false],
  ["long bytes", Buffer.alloc(300, 0x41), `b'${"A".repeat(300)}'`, true],
  ["nested lists", [1, [2, []]], "[1, [2, []]]", true],
  [
    "tuples",
    [new PyTuple([]), new PyTuple([1]), new PyTuple([1, 2]), new PyTuple([1, 2, 3]), new PyTuple([1, 2, 3, 4])],
    "[(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)]",
    false,
  ],
  ["a plain object", { a: 1, "b c": [null], __proto__x: true }, "{'a': 1, 'b c': [None], '__proto__x': True}", true],
  ["an empty object", {}, "{}", true],
  [
    "a Map with mixed keys",
    new Map<unknown, unknown>([
      [1, "x"],
      ["y", 2],
      [new PyTuple([1, 2]), "t"],
    ]),
    "{1: 'x', 'y': 2, (1, 2): 't'}",
    false,
  ],
  ["a Map with string keys", new Map([["k", 1]]), "{'k': 1}", false],
  ["sets", [new Set([1, 2, 3]), new Set()], "[{1, 2, 3}, set()]", true],
  ["a Date", new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), "datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)", true],
  ["a Date in year 1", date("0001-01-01T00:00:00Z"), "datetime.datetime(1, 1, 1, 0, 0)", true],
];

const LOAD_SCRIPT = `
import pickle, pickletools, sys, types
allowed = {("_codecs", "encode"), ("__builtin__", "set"), ("builtins", "set"), ("datetime", "datetime"),
           ("celery.result", "GroupResult"), ("celery.result", "AsyncResult")}
result = types.ModuleType("celery.result")
class AsyncResult:
    def __init__(self, id): self.id = id
    def __repr__(self): return f"AsyncResult({self.id!r})"
class GroupResult:
    def __init__(self, id, results): self.id, self.results = id, results
    def __repr__(self): return f"GroupResult({self.id!r}, {self.results!r})"
for cls in (AsyncResult, GroupResult):
    cls.__module__ = "celery.result"
    setattr(result, cls.__name__, cls)
sys.modules["celery"] = types.ModuleType("celery")
sys.modules["celery.result"] = result
class OnlyKnown(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in allowed: raise pickle.UnpicklingError(f"refused {module}.{name}")
        return super().find_class(module, name)
import io
for line in sys.stdin.read().split():
    data = bytes.fromhex(line)
    top = max(op.proto for op, _, _ in pickletools.genops(data))
    print(f"{top} {OnlyKnown(io.BytesIO(data)).load()!r}")
`;

describe("writePickle", () => {
  for (const protocol of [2, 4] as const) {
    it(`writes protocol ${protocol} that python3 loads with only standard constructors`, { skip: noPython }, () => {
      const lines = python(LOAD_SCRIPT, WRITE_TABLE.map(([, value]) => writePickle(value, { protocol }).toString("hex")).join("\n"))
        .trim()
        .split("\n");
      WRITE_TABLE.forEach(([name, , repr], i) => {
        const [top, ...rest] = lines[i]!.split(" ");
        assert.equal(rest.join(" "), repr, name);
        assert.ok(Number(top) <= protocol, `${name} uses protocol ${top} opcodes`);
      });
    });

    it(`reads its own protocol ${protocol} output back unchanged`, () => {
      for (const [name, value, , roundTrips] of WRITE_TABLE) {
        if (roundTrips) assert.deepStrictEqual(readPickle(writePickle(value, { protocol })), value, name);
      }
      assert.deepStrictEqual(readPickle(writePickle([new PyTuple([1, "a"])], { protocol })), [[1, "a"]]);
      assert.deepStrictEqual(readPickle(writePickle(new Map([[1, Buffer.from("x")]]), { protocol })), new Map([[1, Buffer.from("x")]]));
    });

    it(`pickleGroupResult at protocol ${protocol} unpickles as Celery result objects, with no backend`, { skip: noPython }, () => {
      const bytes = pickleGroupResult("g-1", ["t-1", "t-2"], { protocol });
      const [line] = python(LOAD_SCRIPT, bytes.toString("hex")).trim().split("\n");
      assert.equal(line!.split(" ").slice(1).join(" "), "GroupResult('g-1', [AsyncResult('t-1'), AsyncResult('t-2')])");
      assert.deepEqual(readPickle(bytes), ref("GroupResult", "g-1", [ref("AsyncResult", "t-1"), ref("AsyncResult", "t-2")]));
    });
  }

  it("names AsyncResult once however many results a group has", () => {
    const bytes = pickleGroupResult(
      "g",
      Array.from({ length: 300 }, (_, i) => `t-${i}`),
    );
    assert.equal(bytes.toString("latin1").split("AsyncResult").length - 1, 1);
    assert.equal((readPickle(bytes) as PythonResultRef).children.length, 300);
  });

  it("pickleException writes Celery's failure dict with a tuple exc_message", { skip: noPython }, () => {
    const [line] = python(LOAD_SCRIPT, pickleException("ValueError", "builtins", ["boom", 2]).toString("hex"))
      .trim()
      .split("\n");
    assert.equal(line!.split(" ").slice(1).join(" "), "{'exc_type': 'ValueError', 'exc_message': ('boom', 2), 'exc_module': 'builtins'}");
    assert.deepEqual(readPickle(pickleException("ValueError", "builtins", ["boom"])), valueError);
  });

  it("refuses what Python cannot hold, naming the path", () => {
    const cycle: unknown[] = [];
    cycle.push(cycle);
    class Custom {}
    const cases: [unknown, RegExp][] = [
      [{ rows: [1, 2, 3, () => 1] }, /function at \$\.rows\[3\]/],
      [{ "a b": Symbol("s") }, /symbol at \$\["a b"\]/],
      [[undefined], /undefined at \$\[0\]/],
      [{ loop: cycle }, /cycle at \$\.loop\[0\]/],
      [new Custom(), /Custom at \$/],
      [new Map([[[1], "x"]]), /unhashable array .* at \$\[1\]/],
      [new Set([{}]), /unhashable Object .* at \$\[#0\]/],
      [new Date(NaN), /Date outside years/],
      [["\ud800"], /lone surrogate at \$\[0\]/],
      [new Uint16Array(2), /Uint16Array at \$/],
      [pyObject("m", "n", []), /PythonObject at \$/],
    ];
    for (const [value, message] of cases)
      assert.throws(
        () => writePickle(value),
        (error: Error) => error instanceof TypeError && message.test(error.message),
      );
    let deep: unknown = [];
    for (let i = 0; i < 1500; i++) deep = [deep];
    assert.throws(() => writePickle(deep), /nested deeper than 1000/);
  });
});

/** GLOBAL module name + REDUCE with one string argument: what a malicious pickle runs. */
const callPickle = (module: string, name: string, arg: string): Buffer =>
  ascii(`\x80\x02c${module}\n${name}\nX${u32(arg.length)}${arg}\x85R.`);
const u32 = (n: number): string => String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);

describe("hostile pickles run nothing", () => {
  it("keeps posix.system as an inert PythonObject, where python3 runs it", { skip: noPython }, () => {
    const ranByPython = join(scratch, "python-ran");
    python(
      "import pickle, sys; pickle.loads(bytes.fromhex(sys.stdin.read()))",
      callPickle("posix", "system", `touch ${ranByPython}`).toString("hex"),
    );
    assert.ok(existsSync(ranByPython), "the payload is real: python3 ran it");

    const target = join(scratch, "reader-ran");
    const value = readPickle(callPickle("posix", "system", `touch ${target}`));
    assert.deepEqual(value, pyObject("posix", "system", [`touch ${target}`]));
    assert.ok(!existsSync(target));
  });

  it("keeps every spelling of a call inert", () => {
    const target = join(scratch, "spelled");
    const command = `touch ${target}`;
    const code = `__import__('os').system('${command}')`;
    const cases: [Buffer, PythonObject][] = [
      [callPickle("os", "system", command), pyObject("os", "system", [command])],
      [callPickle("builtins", "eval", code), pyObject("builtins", "eval", [code])],
      [callPickle("builtins", "exec", code), pyObject("builtins", "exec", [code])],
      [callPickle("__builtin__", "__import__", "os"), pyObject("builtins", "__import__", ["os"])],
      [ascii(`(X${u32(command.length)}${command}ios\nsystem\n.`), pyObject("os", "system", [command])],
      [ascii(`\x80\x02(cos\nsystem\nX${u32(command.length)}${command}o.`), pyObject("os", "system", [command])],
      [ascii(`\x80\x04\x8c\x02os\x8c\x06system\x93X${u32(command.length)}${command}\x85\x81.`), pyObject("os", "system", [command])],
      [
        ascii("\x80\x04\x8c\x08builtins\x8c\x07getattr\x93\x8c\x02os\x8c\x06system\x93\x8c\x08__call__\x86R)R."),
        pyObject("os", "system.__call__", []),
      ],
    ];
    for (const [bytes, expected] of cases) assert.deepEqual(readPickle(bytes), expected, bytes.toString("latin1"));
    assert.ok(!existsSync(target));
  });

  it("resolves a chain of copyreg helpers one level only", () => {
    // copyreg.__newobj__(__newobj__, __newobj__, ...): forwarding each level would recurse 20,000 deep.
    const bytes = Buffer.concat([
      ascii("\x80\x02ccopyreg\n__newobj__\nq\x00("),
      Buffer.from("h\x00".repeat(20_000), "latin1"),
      ascii("tR."),
    ]);
    const value = readPickle(bytes) as PythonObject;
    assert.equal(`${value}`, "<python object copyreg.__newobj__>");
    assert.equal(value.args.length, 19_999);
  });

  it("never lets a dict key reach the prototype", () => {
    const value = readPickle(ascii("\x80\x04}\x8c\x09__proto__}\x8c\x05admin\x88ss.")) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>)["admin"], undefined);
  });
});

describe("malformed pickles throw PickleReadError naming the opcode and offset", () => {
  const rejects = (bytes: Uint8Array, message: RegExp): void => {
    assert.throws(
      () => readPickle(bytes),
      (error: Error) => error instanceof PickleReadError && error.name === "PickleReadError" && message.test(error.message),
      message.source,
    );
  };

  it("rejects truncation, underflow and bad references", () => {
    rejects(new Uint8Array(), /without STOP/);
    rejects(hex("8005 4b"), /opcode BININT1 at offset 2/);
    rejects(hex("8005 2e"), /stack underflow \(opcode STOP at offset 2\)/);
    rejects(hex("8002 68 05 2e"), /memo has no entry 5 \(opcode BINGET/);
    rejects(hex("8002 5d 4b01 65 2e"), /no MARK to pop \(opcode APPENDS/);
    rejects(hex("8002 28 4b01 61 2e"), /stack underflow \(opcode APPEND/);
    rejects(hex("8002 4b01 4b02 75 2e"), /no MARK/);
    rejects(hex("8002 4b01 28 4b01 75 2e"), /odd number of dict items|SETITEM target/);
    rejects(hex("8002 4b01 4b02 85 52 2e"), /not a class or function \(opcode REDUCE/);
  });

  it("rejects lengths that are negative or run past the end without allocating them", () => {
    rejects(hex("8002 54 ffffffff 2e"), /length -1 runs past the end \(opcode BINSTRING/);
    rejects(hex("8002 8b ffffffff 2e"), /length -1/);
    rejects(hex("8004 8e ffffffffffffff7f 2e"), /beyond 2\*\*53/);
    rejects(hex("8004 8e 0000000001000000 2e"), /length 4294967296 runs past the end \(opcode BINBYTES8/);
    rejects(hex("8004 95 ffff000000000000 2e"), /runs past the end \(opcode FRAME/);
    rejects(hex("8004 58 ffffff7f 2e"), /runs past the end/);
  });

  it("rejects unsupported and unknown opcodes", () => {
    rejects(hex("8006 4e 2e"), /unsupported pickle protocol 6/);
    rejects(ascii("Pid\n."), /unsupported opcode .*PERSID/);
    rejects(hex("8002 4e 51 2e"), /unsupported opcode .*BINPERSID/);
    rejects(hex("8002 82 01 2e"), /EXT1/);
    rejects(hex("8005 97 2e"), /NEXT_BUFFER/);
    rejects(hex("8005 4e 98 2e"), /READONLY_BUFFER/);
    rejects(hex("8002 ff 2e"), /unknown opcode \(opcode 0xff at offset 2\)/);
  });

  it("rejects bad text operands", () => {
    rejects(ascii("Iabc\n."), /bad integer text/);
    rejects(ascii(`L${"9".repeat(5000)}L\n.`), /longer than 4300 digits/);
    rejects(ascii("F1.2.3\n."), /bad float text/);
    rejects(ascii("S'abc\n."), /must be quoted/);
    rejects(ascii("S'\\x4'\n."), /invalid \\x escape/);
    rejects(ascii("V\\u12\n."), /truncated \\uXXXX/);
    rejects(ascii("\x80\x02X\x01\x00\x00\x00\xff."), /invalid UTF-8/);
    rejects(ascii("\x80\x04\x8c\x01a\x4b\x01\x93."), /STACK_GLOBAL needs two strings/);
  });

  it(`bounds nesting at ${PICKLE_MAX_DEPTH} levels`, () => {
    const tuples = (levels: number): Buffer => Buffer.concat([hex("8002 4e"), Buffer.alloc(levels, 0x85), hex("2e")]);
    let value = readPickle(tuples(PICKLE_MAX_DEPTH));
    for (let i = 0; i < PICKLE_MAX_DEPTH; i++) value = (value as unknown[])[0];
    assert.equal(value, null);
    rejects(tuples(PICKLE_MAX_DEPTH + 1), /nested deeper than 10000 levels/);
    rejects(Buffer.concat([hex("8002"), Buffer.alloc(PICKLE_MAX_DEPTH + 1, 0x28)]), /more than 10000 nested MARKs/);
  });

  it("stops a pickle bomb that passes one big memoized list to thousands of calls", () => {
    const chunks = [hex("8004 5d 94 28"), Buffer.alloc(10_000, 0x4e), hex("65 30")]; // memo 0: a list of 10,000 Nones
    chunks.push(hex("8c 08 6275696c74696e73 94 8c 03 736574 94 93 94 30")); // memo 3: builtins.set
    chunks.push(hex("5d 28"));
    for (let i = 0; i < 3000; i++) chunks.push(hex("68 03 68 00 85 52 30")); // set(memo 0), dropped: 7 bytes for 10,000 items of work
    chunks.push(hex("65 2e"));
    rejects(Buffer.concat(chunks), /\(a pickle bomb\) \(opcode REDUCE/);
  });

  it("measures depth after the fact, when lists are filled after being nested", () => {
    // Create every list first, then put list i+1 into list i through the memo: no single opcode sees the depth.
    const levels = PICKLE_MAX_DEPTH + 5;
    const chunks = [hex("8004")];
    for (let i = 0; i <= levels; i++) chunks.push(hex("5d 94 30")); // EMPTY_LIST, MEMOIZE, POP
    const get = (i: number): Buffer => Buffer.from([0x6a, i & 0xff, (i >> 8) & 0xff, 0, 0]);
    for (let i = 0; i < levels; i++) chunks.push(get(i), get(i + 1), hex("61 30")); // APPEND, POP
    chunks.push(get(0), hex("2e"));
    rejects(Buffer.concat(chunks), /nested deeper than 10000 levels/);
  });
});

describe("fuzzing with a seeded generator", () => {
  /** mulberry32: small, seedable, good enough to vary bytes. */
  function random(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Returns normally or throws a PickleReadError that a check raised, not one wrapping an engine error. */
  function readOrReject(bytes: Uint8Array): void {
    try {
      readPickle(bytes);
    } catch (error) {
      if (!(error instanceof PickleReadError)) throw error;
      assert.ok(
        !error.message.startsWith("unreadable pickle"),
        `unexpected internal error: ${error.message} for ${Buffer.from(bytes).toString("hex")}`,
      );
    }
  }

  const corpus: Buffer[] = [
    ...JSON.parse(readFileSync(join(FIXTURES, "celery-5.2.6-dumps.json"), "utf8")).dumps.map((entry: { hex: string }) => hex(entry.hex)),
    ...WRITE_TABLE.flatMap(([, value]) => [writePickle(value, { protocol: 2 }), writePickle(value, { protocol: 4 })]),
    pickleGroupResult("g", ["a", "b"]),
    pickleException("E", "m", [1]),
    ascii("(I01\nF1.5\nS'x'\nV\\u20ac\np0\ng0\nL5L\ntcos\nsystem\n(dp1\nS'k'\nNsb."),
  ];
  if (!noPython)
    corpus.push(
      ...generated()
        .filter((_, i) => i % 3 === 0)
        .map((entry) => hex(entry.hex)),
    );

  it("never throws anything but a deliberate PickleReadError across 20,000 broken inputs", () => {
    const next = random(20240601);
    const byte = (): number => Math.floor(next() * 256);
    let runs = 0;
    for (; runs < 6000; runs++) {
      const bytes = new Uint8Array(1 + Math.floor(next() * 48)).map(byte);
      bytes[0] = 0x80;
      readOrReject(bytes);
    }
    for (const pickle of corpus) {
      for (let end = 0; end < pickle.length && runs < 12_000; end += 1 + Math.floor(pickle.length / 80)) {
        readOrReject(pickle.subarray(0, end));
        runs++;
      }
    }
    for (; runs < 20_000; runs++) {
      const mutated = Buffer.from(corpus[Math.floor(next() * corpus.length)]!);
      for (let flips = 1 + Math.floor(next() * 3); flips > 0; flips--) mutated[Math.floor(next() * mutated.length)] = byte();
      readOrReject(mutated);
    }
    assert.equal(runs, 20_000);
  });
});
