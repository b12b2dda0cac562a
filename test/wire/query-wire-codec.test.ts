// The hand-written Query codec (src/core/wire/query-messages.ts) against the generated protobuf-es
// code, the source of truth: our QueryRequest decodes with the generated fromBinary to the same
// message, and a QueryResponse the generated toBinary writes decodes with ours to the same message.
import { create, equals, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { QueryParameterSchema, QueryRequestSchema, QueryResponseSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { decodeQueryResponse, encodeQueryRequest } from "../../src/core/wire/query-messages.js";

let seed = 0x9e3779b9;
function rand(): number {
  // mulberry32: deterministic, so a failure reproduces.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)] as T;
const STRINGS = ["", "a", "SELECT * FROM jobs WHERE tenant = $1", "ünïcødé 日本語 🚀", "x".repeat(300), "line\nbreak\0nul"];
const bytes = (): Uint8Array => Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));

type ParameterInit = MessageInitShape<typeof QueryParameterSchema>;

/** Every oneof case, each with its default value too: a set member must be written even then. */
const PARAMETERS: ParameterInit[] = [
  {},
  { value: { case: "boolValue", value: false } },
  { value: { case: "boolValue", value: true } },
  { value: { case: "int64Value", value: 0n } },
  { value: { case: "int64Value", value: -(2n ** 63n) } },
  { value: { case: "int64Value", value: 2n ** 63n - 1n } },
  { value: { case: "uint64Value", value: 0n } },
  { value: { case: "uint64Value", value: 2n ** 64n - 1n } },
  { value: { case: "float64Value", value: 0 } },
  { value: { case: "float64Value", value: -1.5e-300 } },
  { value: { case: "stringValue", value: "" } },
  { value: { case: "stringValue", value: "prod-🚀" } },
  { value: { case: "bytesValue", value: new Uint8Array() } },
  { value: { case: "bytesValue", value: Uint8Array.of(0, 255, 7) } },
  { value: { case: "nullValue", value: {} } },
];

function withUnknownFields(message: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  w.tag(900, WireType.Varint).uint64(12345678901234n);
  w.tag(901, WireType.LengthDelimited).string("from the future");
  w.tag(903, WireType.Bit64).fixed64(9n);
  const extra = w.finish();
  const out = new Uint8Array(extra.length * 2 + message.length);
  out.set(extra, 0);
  out.set(message, extra.length);
  out.set(extra, extra.length + message.length);
  return out;
}

describe("the hand-written Query codec", () => {
  it("encodes QueryRequest as the generated code decodes it: every bind value case, optional tenant, no parameters", () => {
    const cases: MessageInitShape<typeof QueryRequestSchema>[] = [
      {},
      { shard: "00000000-0000-0000-0000-000000000001", sql: "SELECT 1", tenant: "" },
      { shard: "s", sql: "SELECT id FROM jobs WHERE tenant = $1 AND id = $2", tenant: "tenant-a", parameters: PARAMETERS },
    ];
    for (let i = 0; i < 60; i++) {
      cases.push({
        shard: pick(STRINGS),
        sql: pick(STRINGS),
        ...(rand() < 0.5 ? { tenant: pick(STRINGS) } : {}),
        parameters: Array.from({ length: Math.floor(rand() * 6) }, () => pick(PARAMETERS)),
      });
    }
    for (const init of cases) {
      const expected = create(QueryRequestSchema, init);
      const decoded = fromBinary(QueryRequestSchema, encodeQueryRequest(init));
      expect(equals(QueryRequestSchema, decoded, expected), JSON.stringify(init, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))).toBe(true);
    }
  });

  it("decodes QueryResponse with columns, MessagePack rows and row_count, skipping fields it does not know", () => {
    const cases: MessageInitShape<typeof QueryResponseSchema>[] = [
      {},
      { rowCount: 0, columns: [{ name: "count(*)", dataType: "Int64" }] },
      {
        columns: [
          { name: "id", dataType: "Utf8" },
          { name: "metadata", dataType: 'Map(Field { name: "entries" ... }, false)' },
        ],
        rows: [{ encoding: { case: "msgpack", value: Uint8Array.of(0x81, 0xa2, 0x69, 0x64, 0xa1, 0x61) } }, { encoding: { case: undefined } }, {}],
        rowCount: 2 ** 31 - 1,
      },
    ];
    for (let i = 0; i < 60; i++) {
      cases.push({
        columns: Array.from({ length: Math.floor(rand() * 5) }, () => ({ name: pick(STRINGS), dataType: pick(STRINGS) })),
        rows: Array.from({ length: Math.floor(rand() * 5) }, () => ({ encoding: { case: "msgpack" as const, value: bytes() } })),
        rowCount: Math.floor(rand() * 1000) - (rand() < 0.1 ? 2000 : 0),
      });
    }
    for (const init of cases) {
      const expected = create(QueryResponseSchema, init);
      const wire = toBinary(QueryResponseSchema, expected);
      expect(equals(QueryResponseSchema, decodeQueryResponse(wire), expected)).toBe(true);
      expect(equals(QueryResponseSchema, decodeQueryResponse(withUnknownFields(wire)), expected)).toBe(true);
    }
  });

  it("rejects a truncated QueryResponse instead of returning part of it", () => {
    const wire = toBinary(QueryResponseSchema, create(QueryResponseSchema, { columns: [{ name: "id", dataType: "Utf8" }], rowCount: 1 }));
    expect(() => decodeQueryResponse(wire.subarray(0, wire.length - 3))).toThrow();
  });
});
