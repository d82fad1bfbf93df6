import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeJsonText, encodeJsonText } from "../src/codec/json.js";
import { EncodeError } from "../src/index.js";

describe("JSON codec", () => {
  it('keeps a "__proto__" key as an ordinary key, and never lets it swap an object\'s prototype (found by fuzzing)', () => {
    const value = JSON.parse(
      '{"__proto__": {"polluted": 1}, "n": 12345678901234567890, "d": {"__type__": "base64", "__value__": ""}}',
    ) as object;
    const text = encodeJsonText(value);
    assert.match(text, /"__proto__"/);
    for (const decoded of [
      decodeJsonText(text),
      decodeJsonText('{"__proto__": {"polluted": 1}, "d": {"__type__": "base64", "__value__": ""}}'),
    ] as Record<string, unknown>[]) {
      assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
      assert.equal((decoded as { polluted?: unknown }).polluted, undefined);
      assert.deepEqual(Object.getOwnPropertyDescriptor(decoded, "__proto__")?.value, { polluted: 1 });
    }
  });

  it("writes kombu's markers for dates and bytes, and reads kombu's forms", () => {
    assert.equal(
      encodeJsonText({ d: new Date("2026-01-01T00:00:00Z") }),
      '{"d":{"__type__":"datetime","__value__":"2026-01-01T00:00:00.000+00:00"}}',
    );
    assert.equal(encodeJsonText(Buffer.from("hi")), '{"__type__":"base64","__value__":"aGk="}');
    const fromKombu = decodeJsonText(
      '{"a": {"__type__": "bytes", "__value__": "hi"}, "b": {"__type__": "datetime", "__value__": "2026-01-01T00:00:00"}, "c": {"__type__": "decimal", "__value__": "1.10"}, "u": {"__type__": "uuid", "__value__": "abc"}}',
    ) as Record<string, unknown>;
    assert.deepEqual(fromKombu["a"], Buffer.from("hi"));
    assert.equal((fromKombu["b"] as Date).toISOString(), "2026-01-01T00:00:00.000Z");
    assert.equal(fromKombu["c"], "1.10");
    assert.equal(fromKombu["u"], "abc");
  });

  it("big integers are plain JSON integers and read back exactly, also inside strings' neighbours", () => {
    const text = encodeJsonText({ big: 12345678901234567890123n, s: "12345678901234567890", n: [-(2n ** 64n)] });
    assert.equal(text, '{"big":12345678901234567890123,"s":"12345678901234567890","n":[-18446744073709551616]}');
    assert.deepEqual(decodeJsonText(text), { big: 12345678901234567890123n, s: "12345678901234567890", n: [-(2n ** 64n)] });
    assert.deepEqual(decodeJsonText('{"x": 1.5e300, "y": 12345678901234567, "z": "\\"q\\"", "w": [true, false, null]}'), {
      x: 1.5e300,
      y: 12345678901234567n,
      z: '"q"',
      w: [true, false, null],
    });
  });

  it("the exact parser rejects malformed text like JSON.parse does", () => {
    for (const bad of ['{"a": 12345678901234567890', "[12345678901234567890,]", '{"a" 12345678901234567890}', "12345678901234567890 x"]) {
      assert.throws(() => decodeJsonText(bad), SyntaxError);
    }
  });

  it("a user string that looks like the internal bigint marker is refused, not misread", () => {
    assert.throws(() => encodeJsonText({ s: "\u0000taskledger-bigint:5" }), EncodeError);
  });

  it("undefined properties are dropped and undefined array items become null, as in JSON", () => {
    assert.equal(encodeJsonText({ a: undefined, b: [undefined, 1] }), '{"b":[null,1]}');
  });
});

describe("decoding stored values never fails with anything but CorruptValueError", () => {
  it("random, truncated and bit-flipped JSON and pickles give typed errors only, and never hang", async () => {
    const { decodeStored } = await import("../src/codec/stored.js");
    const { CorruptValueError } = await import("../src/index.js");
    let seed = 0x2545f491;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const samples = [
      Buffer.from(
        encodeJsonText({
          a: [1, 2n ** 70n, "é", null, true],
          d: new Date(0),
          b: Buffer.from("hi"),
          n: { __type__: "datetime", __value__: "x" },
        }),
      ),
      Buffer.from('{"big": 123456789012345678901234567890, "s": "\\u00e9\\"", "f": -1.5e-300}'),
      Buffer.from("80059525000000000000007d94288c01619468028c016294284b014b02659475", "hex"),
      Buffer.from(
        "8004954b000000000000007d94288c086578635f74797065948c0a56616c75654572726f72948c0b6578635f6d657373616765948c04626f6f6d948594752e",
        "hex",
      ),
    ];
    let typed = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = samples[i % samples.length]!;
      let bytes: Buffer;
      switch (i % 3) {
        case 0:
          bytes = base.subarray(0, Math.floor(random() * base.length));
          break;
        case 1:
          bytes = Buffer.from(base);
          bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
          break;
        default:
          bytes = Buffer.from(
            Array.from({ length: 1 + Math.floor(random() * 64) }, (_, k) =>
              k === 0 && random() < 0.5 ? 0x80 : Math.floor(random() * 256),
            ),
          );
      }
      try {
        decodeStored(bytes, "fuzz", "result");
      } catch (error) {
        assert.ok(error instanceof CorruptValueError, `input ${bytes.toString("hex")} threw ${error}`);
        typed++;
      }
    }
    assert.ok(typed > 1000, "the fuzz inputs should mostly be unreadable");
  });
});
