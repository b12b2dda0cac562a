import { Encoder } from "@msgpack/msgpack";

// How a Query result goes on the wire, as the stock server does it (src/server.rs:1563-1570,
// src/query.rs:3448-3590): each column's type as the Rust debug form of its Arrow type, and each
// row as a MessagePack map keyed by column name, in column order. The SQL engine is DuckDB, so its
// result types are translated to the Arrow types DataFusion would report for the same query.

/**
 * DuckDB's logical type ids, from the C API's `duckdb_type` enum (duckdb.h), which is stable
 * across releases. Only the ones this file branches on.
 */
const T = {
  BOOLEAN: 1,
  TINYINT: 2,
  SMALLINT: 3,
  INTEGER: 4,
  BIGINT: 5,
  UTINYINT: 6,
  USMALLINT: 7,
  UINTEGER: 8,
  UBIGINT: 9,
  FLOAT: 10,
  DOUBLE: 11,
  TIMESTAMP: 12,
  DATE: 13,
  TIME: 14,
  INTERVAL: 15,
  HUGEINT: 16,
  VARCHAR: 17,
  BLOB: 18,
  DECIMAL: 19,
  TIMESTAMP_S: 20,
  TIMESTAMP_MS: 21,
  TIMESTAMP_NS: 22,
  ENUM: 23,
  LIST: 24,
  STRUCT: 25,
  MAP: 26,
  UUID: 27,
  TIMESTAMP_TZ: 31,
  UHUGEINT: 32,
  ARRAY: 33,
  SQLNULL: 36,
} as const;

/** The parts of a DuckDB logical type this file reads (duck-typed, so nothing loads DuckDB here). */
export interface EngineType {
  readonly typeId: number;
  toString(): string;
  readonly valueType?: EngineType;
  readonly keyType?: EngineType;
  readonly entryNames?: readonly string[];
  readonly entryTypes?: readonly EngineType[];
}

/** How a column's values are written into a row. */
export type CellKind = "string" | "integer" | "float" | "boolean" | "millis" | "display";

export interface ResultColumn {
  readonly name: string;
  /** ColumnInfo.data_type: the Arrow type in Rust debug form. */
  readonly dataType: string;
  readonly kind: CellKind;
}

/** DuckDB names `COUNT(*)` `count_star()`; DataFusion, whose names clients read, `count(*)`. */
export function columnName(engineName: string): string {
  return engineName === "count_star()" ? "count(*)" : engineName;
}

export function resultColumn(name: string, type: EngineType): ResultColumn {
  return { name: columnName(name), dataType: arrowTypeName(type), kind: cellKind(type) };
}

function cellKind(type: EngineType): CellKind {
  switch (type.typeId) {
    case T.VARCHAR:
    case T.UUID:
    case T.ENUM:
      return "string";
    case T.TINYINT:
    case T.SMALLINT:
    case T.INTEGER:
    case T.BIGINT:
    case T.UTINYINT:
    case T.USMALLINT:
    case T.UINTEGER:
    case T.UBIGINT:
    case T.HUGEINT:
    case T.UHUGEINT:
      return "integer";
    case T.FLOAT:
    case T.DOUBLE:
    case T.DECIMAL:
      return "float";
    case T.BOOLEAN:
      return "boolean";
    case T.TIMESTAMP_MS:
      return "millis";
    default:
      return "display";
  }
}

/**
 * The Arrow type DataFusion would report. Deliberate translations: signed integers of any width,
 * including DuckDB's 128-bit SUM results, are Int64 (DataFusion types integer literals and sums
 * as 64-bit), and DECIMAL, which DuckDB gives literals such as `100.0`, is Float64 (DataFusion
 * parses such literals as Float64).
 */
export function arrowTypeName(type: EngineType): string {
  switch (type.typeId) {
    case T.BOOLEAN:
      return "Boolean";
    // No table has a signed column narrower than Int64, so DuckDB's narrower signed results come
    // from literals and arithmetic (`1`, `priority * 2`), which DataFusion types as Int64.
    case T.TINYINT:
    case T.SMALLINT:
    case T.INTEGER:
    case T.BIGINT:
    case T.HUGEINT:
      return "Int64";
    case T.UTINYINT:
      return "UInt8";
    case T.USMALLINT:
      return "UInt16";
    case T.UINTEGER:
      return "UInt32";
    case T.UBIGINT:
    case T.UHUGEINT:
      return "UInt64";
    case T.FLOAT:
      return "Float32";
    case T.DOUBLE:
    case T.DECIMAL:
      return "Float64";
    case T.VARCHAR:
    case T.UUID:
    case T.ENUM:
      return "Utf8";
    case T.BLOB:
      return "Binary";
    case T.DATE:
      return "Date32";
    case T.TIME:
      return "Time64(Microsecond)";
    case T.INTERVAL:
      return "Interval(MonthDayNano)";
    case T.TIMESTAMP:
      return "Timestamp(Microsecond, None)";
    case T.TIMESTAMP_S:
      return "Timestamp(Second, None)";
    case T.TIMESTAMP_MS:
      return "Timestamp(Millisecond, None)";
    case T.TIMESTAMP_NS:
      return "Timestamp(Nanosecond, None)";
    case T.TIMESTAMP_TZ:
      return 'Timestamp(Microsecond, Some("UTC"))';
    case T.SQLNULL:
      return "Null";
    case T.LIST:
    case T.ARRAY:
      return `List(${field("item", type.valueType, true)})`;
    case T.MAP:
      return `Map(${field("entries", undefined, false, `Struct([${field("keys", type.keyType, false)}, ${field("values", type.valueType, true)}])`)}, false)`;
    case T.STRUCT: {
      const names = type.entryNames ?? [];
      const types = type.entryTypes ?? [];
      return `Struct([${names.map((n, i) => field(n, types[i], true)).join(", ")}])`;
    }
    default:
      return type.toString();
  }
}

function field(name: string, type: EngineType | undefined, nullable: boolean, dataType?: string): string {
  const dt = dataType ?? (type === undefined ? "Null" : arrowTypeName(type));
  return `Field { name: ${JSON.stringify(name)}, data_type: ${dt}, nullable: ${nullable}, metadata: {} }`;
}

// ---------------------------------------------------------------------------------------------
// Rows

const plain = new Encoder({ useBigInt64: true });
const floats = new Encoder({ forceIntegerToFloat: true });

/** One row as a MessagePack map, keys in column order (MessagePack maps keep insertion order). */
export function encodeRow(columns: readonly ResultColumn[], cells: readonly unknown[]): Uint8Array {
  const parts: Uint8Array[] = [mapHeader(columns.length)];
  let size = parts[0]!.length;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    const key = plain.encode(column.name);
    const value = encodeCell(column.kind, cells[i]);
    parts.push(key, value);
    size += key.length + value.length;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  if (n < 0x10000) return Uint8Array.of(0xde, n >>> 8, n & 0xff);
  return Uint8Array.of(0xdf, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function encodeCell(kind: CellKind, cell: unknown): Uint8Array {
  if (cell === null || cell === undefined) return plain.encode(null);
  switch (kind) {
    case "string":
      return plain.encode(typeof cell === "string" ? cell : String(cell));
    case "integer":
      return plain.encode(integer(cell));
    case "float":
      return floats.encode(typeof cell === "number" ? cell : Number(String(cell)));
    case "boolean":
      return plain.encode(Boolean(cell));
    case "millis": {
      const millis = (cell as { millis?: bigint }).millis;
      return plain.encode(millis === undefined ? displayString(cell) : integer(millis));
    }
    default:
      return plain.encode(displayString(cell));
  }
}

/** A JavaScript number when it is exact, else a 64-bit bigint. */
function integer(value: unknown): number | bigint | string {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") {
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    if (value >= -(2n ** 63n) && value < 2n ** 64n) return value;
    return value.toString();
  }
  return String(value);
}

/**
 * Arrow's display form for values MessagePack has no type for here: lists `[a, b]`, maps and
 * structs `{k: v}`, binary as hex, anything else as the engine's own text.
 */
export function displayString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "object") return String(value);
  const v = value as { items?: unknown[]; entries?: unknown; bytes?: Uint8Array };
  if (Array.isArray(v.items)) return `[${v.items.map(displayString).join(", ")}]`;
  if (Array.isArray(v.entries)) {
    return `{${(v.entries as { key: unknown; value: unknown }[]).map((e) => `${displayString(e.key)}: ${displayString(e.value)}`).join(", ")}}`;
  }
  if (v.entries !== undefined && typeof v.entries === "object") {
    return `{${Object.entries(v.entries as Record<string, unknown>).map(([k, x]) => `${k}: ${displayString(x)}`).join(", ")}}`;
  }
  if (v.bytes instanceof Uint8Array) return [...v.bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return String(value);
}
