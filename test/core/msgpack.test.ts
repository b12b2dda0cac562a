// src/core/msgpack.ts must behave exactly like @msgpack/msgpack 3, which it replaced in the
// client for size: `Encoder({ ignoreUndefined: true, useBigInt64: true }).encode` and the
// default `decode`. Every case is run through both, and the bytes, values and errors compared.
import { decode, Decoder, Encoder, ExtData } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { decodeMsgpack, encodeMsgpack } from "../../src/core/msgpack.js";

const reference = new Encoder({ ignoreUndefined: true, useBigInt64: true });

/** What a call gave: its value, or its error's class and message. */
function outcome(run: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: run() };
  } catch (err) {
    return { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
}

/** A small seeded generator, so a failure replays. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

const edgeNumbers = [
  0, -0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, -32, -33, -128, -129, -32768, -32769,
  -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1, 1.5, -1.5, 0.1, 1e308, -1e-308, NaN, Infinity, -Infinity, Number.MIN_VALUE,
];

const strings = [
  "",
  "a",
  "x".repeat(31),
  "x".repeat(32),
  "x".repeat(255),
  "x".repeat(256),
  "x".repeat(65536),
  "é",
  "日本語",
  "😀",
  "a\ud800b",
  "\udc00",
  "\ud800",
  "x".repeat(49) + "\ud800",
  "x".repeat(50) + "\ud800",
  "x".repeat(60) + "\ud83d",
  "ü".repeat(100),
  "😀".repeat(40),
];

const values: Array<[string, unknown]> = [
  ["null", null],
  ["undefined", undefined],
  ["true", true],
  ["false", false],
  ...edgeNumbers.map((n) => [`number ${Object.is(n, -0) ? "-0" : n}`, n] as [string, unknown]),
  ...strings.map((s) => [`string ${JSON.stringify(s.slice(0, 12))} (${s.length} chars)`, s] as [string, unknown]),
  ["bigint 0", 0n],
  ["bigint 2^64-1", 2n ** 64n - 1n],
  ["bigint -2^63", -(2n ** 63n)],
  ["bigint beyond 64 bits", 2n ** 70n + 5n],
  ["a Date", new Date(1_700_000_000_123)],
  ["a Date on a whole second", new Date(1_700_000_000_000)],
  ["a Date before 1970", new Date(-1_234_567)],
  ["a Date beyond 2106", new Date(5_000_000_000_000)],
  ["a Date beyond 2514", new Date(20_000_000_000_000)],
  ["an invalid Date", new Date(NaN)],
  ["bytes", new Uint8Array([1, 2, 3])],
  ["300 bytes", new Uint8Array(300).fill(7)],
  ["70000 bytes", new Uint8Array(70000).fill(9)],
  ["an Int16Array", new Int16Array([1, -1, 300])],
  ["a DataView over part of a buffer", new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2)],
  ["an ArrayBuffer", new ArrayBuffer(4)],
  ["ExtData", new ExtData(7, new Uint8Array([1, 2, 3]))],
  ["ExtData of 16 bytes", new ExtData(-5, new Uint8Array(16))],
  ["an array with a hole and undefined", [1, , undefined, "x"]],
  ["an array of 16", Array.from({ length: 16 }, (_, i) => i)],
  ["an array of 70000", Array.from({ length: 70000 }, (_, i) => i % 300)],
  ["a map with undefined values", { a: 1, b: undefined, c: { d: undefined, e: [null] } }],
  ["a map of 16 keys", Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]))],
  ["a class instance", new (class Point { x = 1; y = 2 })()],
  ["a map with numeric-looking keys", { 1: "one", "01": "zero-one", "": "empty" }],
  ["nested 99 deep", nested(99)],
  ["nested 100 deep", nested(100)],
  ["nested 101 deep", nested(101)],
  ["a function", () => 1],
  ["a symbol", Symbol("s")],
];

describe("msgpack.ts encodes exactly like @msgpack/msgpack", () => {
  it.each(values)("%s", (_label, value) => {
    const ours = outcome(() => encodeMsgpack(value));
    expect(ours).toEqual(outcome(() => reference.encode(value)));
  });

  it("encodes 2,000 random JSON-like values to the same bytes", () => {
    const next = random(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const gen = (depth: number): unknown => {
      const r = next();
      if (depth > 2 || r < 0.5) {
        return pick<() => unknown>([
          () => pick(edgeNumbers),
          () => Math.floor((next() - 0.5) * 2 ** (next() * 60)),
          () => pick(strings).slice(0, 300),
          () => String.fromCharCode(...Array.from({ length: Math.floor(next() * 80) }, () => Math.floor(next() * 0x10000))),
          () => pick([null, undefined, true, false]),
          () => BigInt(Math.floor((next() - 0.5) * 2 ** 62)),
          () => new Date(Math.floor((next() - 0.3) * 4e13)),
          () => new Uint8Array(Math.floor(next() * 40)).map(() => next() * 256),
        ])();
      }
      if (r < 0.75) return Array.from({ length: Math.floor(next() * 20) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 20) }, () => [pick(strings).slice(0, 20) + next().toString(36).slice(2, 5), gen(depth + 1)]));
    };
    for (let i = 0; i < 2000; i++) {
      const value = gen(0);
      const [ours, theirs] = [encodeMsgpack(value), reference.encode(value)];
      if (Buffer.compare(ours, theirs) !== 0) expect({ value, ours: [...ours] }).toEqual({ value, ours: [...theirs] });
    }
  });

  it("returns a fresh array each time, not a view of its buffer", () => {
    const a = encodeMsgpack("first");
    encodeMsgpack("second");
    expect(decodeMsgpack(a)).toBe("first");
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(a.length);
  });

  it("encodes a value whose getter encodes another value in between", () => {
    const inner = { x: "inner" };
    const value = {
      a: "before",
      get b() {
        return encodeMsgpack(inner);
      },
      c: "after",
    };
    expect(encodeMsgpack(value)).toEqual(reference.encode(value));
  });
});

describe("msgpack.ts decodes exactly like @msgpack/msgpack", () => {
  it.each(values.filter(([, v]) => "value" in outcome(() => reference.encode(v))))("what it encoded from %s", (_label, value) => {
    const bytes = reference.encode(value);
    expect(outcome(() => decodeMsgpack(bytes))).toEqual(outcome(() => decode(bytes)));
  });

  const crafted: Array<[string, number[]]> = [
    ["the unused type byte 0xc1", [0xc1]],
    ["no bytes", []],
    ["an extra byte", [0x01, 0x02]],
    ["a truncated uint16", [0xcd, 0x01]],
    ["a truncated str8 header", [0xd9]],
    ["a str8 longer than the bytes", [0xd9, 0x05, 0x61]],
    ["a bin8 longer than the bytes", [0xc4, 0x05, 0x61]],
    ["a fixext1 without its type", [0xd4]],
    ["a timestamp of 3 bytes", [0xc7, 0x03, 0xff, 0, 0, 0]],
    ["a timestamp of 12 bytes", [0xc7, 0x0c, 0xff, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]],
    ["an unknown extension", [0xd5, 0x05, 0x01, 0x02]],
    ["a uint64", [0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 1]],
    ["a negative int64", [0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]],
    ["a float32", [0xca, 0x3f, 0xc0, 0, 0]],
    ["a __proto__ key", [0x81, 0xa9, ...Buffer.from("__proto__"), 0x01]],
    ["a null key", [0x81, 0xc0, 0x01]],
    ["an array key", [0x81, 0x91, 0x01, 0x01]],
    ["a float key", [0x81, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x01]],
    ["invalid UTF-8 in a short string", [0xa4, 0xc3, 0x28, 0xff, 0x80]],
    ["a 2-byte lead at the end of a string", [0x92, 0xa1, 0xc3, 0xa1, 0x41]],
    ["a 4-byte sequence beyond U+10FFFF", [0xa4, 0xf7, 0xbf, 0xbf, 0xbf]],
    ["invalid UTF-8 in a long string", [0xd9, 0xd2, ...new Array(210).fill(0xff)]],
    ["a BOM at the start of a long string", [0xd9, 0xd2, 0xef, 0xbb, 0xbf, ...new Array(207).fill(0x61)]],
    ["an array32 claiming more than is there", [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ["empty array16 and map32", [0x92, 0xdc, 0, 0, 0xdf, 0, 0, 0, 0]],
  ];

  it.each(crafted)("%s", (_label, bytes) => {
    const input = new Uint8Array(bytes);
    expect(outcome(() => decodeMsgpack(input))).toEqual(outcome(() => decode(input)));
  });

  it("decodes 100,000 levels of nesting, as the library does (no recursion)", () => {
    const bytes = new Uint8Array(100_001).fill(0x91);
    bytes[100_000] = 0x01;
    const depthOf = (v: unknown): number => {
      let depth = 0;
      for (; Array.isArray(v) && v.length === 1; depth++) v = v[0];
      return v === 1 ? depth : -1;
    };
    expect(depthOf(decodeMsgpack(bytes))).toBe(100_000);
    expect(depthOf(decode(bytes))).toBe(100_000);
  });

  // The library caches map keys of up to 16 bytes by their bytes, but decodes a key whose last
  // UTF-8 sequence is cut short by reading past it: such a key then depends on what was decoded
  // before. Ours reads it the uncached way every time, so the random keys are compared with
  // caching off.
  const uncached = new Decoder({ keyDecoder: null });

  it("agrees on 20,000 random and mutated byte strings, values and errors alike", () => {
    const next = random(7);
    const seeds = values
      .map(([, v]) => outcome(() => reference.encode(v)))
      .flatMap((o) => ("value" in o && (o.value as Uint8Array).length < 5000 ? [o.value as Uint8Array] : []));
    for (let i = 0; i < 20_000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = new Uint8Array(Math.floor(next() * 24)).map(() => next() * 256);
      } else {
        bytes = seeds[Math.floor(next() * seeds.length)]!.slice();
        for (let k = 0; k < 1 + next() * 3 && bytes.length > 0; k++) bytes[Math.floor(next() * bytes.length)] = next() * 256;
        if (next() < 0.3) bytes = bytes.subarray(0, Math.floor(next() * bytes.length));
      }
      const ours = outcome(() => decodeMsgpack(bytes));
      const theirs = outcome(() => uncached.decode(bytes));
      if (JSON.stringify(ours, replacer) !== JSON.stringify(theirs, replacer)) expect({ bytes: [...bytes], ours }).toEqual({ bytes: [...bytes], ours: theirs });
    }
  });

  it("returns binary values as views into the input, like the library", () => {
    const input = new Uint8Array([0xc4, 0x02, 0x0a, 0x0b]);
    const bin = decodeMsgpack(input) as Uint8Array;
    expect(bin.buffer).toBe(input.buffer);
    expect([...bin]).toEqual([0x0a, 0x0b]);
  });
});

/** JSON for comparing decoded values quickly: typed arrays, bigints, Dates and NaN made distinct. */
function replacer(this: unknown, key: string, v: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return { bytes: [...raw] };
  if (raw instanceof Date) return { date: String(raw.getTime()) };
  if (raw instanceof ExtData) return { ext: raw.type, data: [...(raw.data as Uint8Array)] };
  if (typeof raw === "number" && !Number.isFinite(raw)) return { number: String(raw) };
  if (Object.is(raw, -0)) return { number: "-0" };
  if (Array.isArray(raw)) return Array.from(raw, (x) => (x === undefined ? { hole: true } : x));
  if (raw !== null && typeof raw === "object" && Object.getPrototypeOf(raw) === Object.prototype) {
    return { map: Object.entries(raw as Record<string, unknown>) };
  }
  return v;
}
