// encodePayload names the first value MessagePack cannot carry, with its path, before encoding.
import { describe, expect, it } from "vitest";
import { encodePayload, SiloValidationError } from "../../src/index.js";

const circular: Record<string, unknown> = { a: [1, 2] };
(circular.a as unknown[]).push({ back: circular });
let deep: unknown = 1;
for (let i = 0; i < 101; i++) deep = { k: deep };

const cases: Array<[string, unknown, string]> = [
  ["a function", () => 1, "payload is a function, which MessagePack cannot encode"],
  ["a symbol", Symbol("s"), "payload is a symbol, which MessagePack cannot encode"],
  ["a function deep in arrays and objects", { a: { b: [1, 2, () => 3] } }, "payload.a.b[2] is a function, which MessagePack cannot encode"],
  ["a symbol under a key with a space", [0, { "weird key": Symbol() }], "payload[1].weird key is a symbol, which MessagePack cannot encode"],
  ["a circular reference", circular, "payload.a[2].back contains a circular reference"],
  ["a Map inside an object", { m: new Map() }, "payload.m is a Map; use a plain object or array"],
  ["a Set inside an array", [new Set()], "payload[0] is a Set; use a plain object or array"],
  ["a Promise", { p: Promise.resolve() }, "payload.p is a Promise; use a plain object or array"],
  ["a class instance with a function field", new (class { x = 1; f = () => 1 })(), "payload.f is a function, which MessagePack cannot encode"],
  ["101 levels of objects", deep, "MessagePack cannot encode it (Too deep objects in depth 101)"],
];

describe("encodePayload", () => {
  it.each(cases)("rejects %s with a SiloValidationError naming where it is", (_label, value, message) => {
    let caught: unknown;
    try {
      encodePayload(value, "payload");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SiloValidationError);
    expect((caught as SiloValidationError).field).toBe("payload");
    expect((caught as Error).message).toBe(`invalid payload: ${message}`);
  });

  it("encodes Dates, bytes, bigints and undefined fields, and skips inherited properties", () => {
    const value = Object.assign(Object.create({ inherited: () => 1 }) as object, { own: 1, gone: undefined, at: new Date(0), b: new Uint8Array(2), n: 5n });
    expect(Buffer.from(encodePayload(value)).toString("hex")).toBe("84a36f776e01a26174d6ff00000000a162c4020000a16ecf0000000000000005");
  });
});
