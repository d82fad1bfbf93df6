import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeJsonText, encodeJsonText } from "../src/codec/json.js";
import { EncodeError } from "../src/index.js";

describe("JSON codec", () => {
  it("writes kombu's markers for dates and bytes, and reads kombu's forms", () => {
    assert.equal(encodeJsonText({ d: new Date("2026-01-01T00:00:00Z") }), '{"d":{"__type__":"datetime","__value__":"2026-01-01T00:00:00.000+00:00"}}');
    assert.equal(encodeJsonText(Buffer.from("hi")), '{"__type__":"base64","__value__":"aGk="}');
    const fromKombu = decodeJsonText('{"a": {"__type__": "bytes", "__value__": "hi"}, "b": {"__type__": "datetime", "__value__": "2026-01-01T00:00:00"}, "c": {"__type__": "decimal", "__value__": "1.10"}, "u": {"__type__": "uuid", "__value__": "abc"}}') as Record<string, unknown>;
    assert.deepEqual(fromKombu["a"], Buffer.from("hi"));
    assert.equal((fromKombu["b"] as Date).toISOString(), "2026-01-01T00:00:00.000Z");
    assert.equal(fromKombu["c"], "1.10");
    assert.equal(fromKombu["u"], "abc");
  });

  it("big integers are plain JSON integers and read back exactly, also inside strings' neighbours", () => {
    const text = encodeJsonText({ big: 12345678901234567890123n, s: "12345678901234567890", n: [-(2n ** 64n)] });
    assert.equal(text, '{"big":12345678901234567890123,"s":"12345678901234567890","n":[-18446744073709551616]}');
    assert.deepEqual(decodeJsonText(text), { big: 12345678901234567890123n, s: "12345678901234567890", n: [-(2n ** 64n)] });
    assert.deepEqual(decodeJsonText('{"x": 1.5e300, "y": 12345678901234567, "z": "\\"q\\"", "w": [true, false, null]}'), { x: 1.5e300, y: 12345678901234567n, z: '"q"', w: [true, false, null] });
  });

  it("the exact parser rejects malformed text like JSON.parse does", () => {
    for (const bad of ['{"a": 12345678901234567890', '[12345678901234567890,]', '{"a" 12345678901234567890}', "12345678901234567890 x"]) {
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
