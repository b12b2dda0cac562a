import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ColumnInfo, QueryParameterSchema, QueryRequestSchema, QueryResponse } from "../../gen/silo/v1/silo_pb.js";
import { BinaryReader, BinaryWriter, BIT64, decodeUtf8, LD, readSerializedBytes, readTag, skipField, subEnd, VARINT } from "./wire-fields.js";

// Query: the request encoder and response decoder, checked against silo_pb.ts by
// test/wire/query-wire-codec.test.ts.

function writeQueryParameter(w: BinaryWriter, m: MessageInitShape<typeof QueryParameterSchema>): void {
  w.tag(4, LD).fork();
  const v = m.value;
  // A oneof member is written even when it holds its default (false, 0, ""): that is how the
  // server tells `$1 = 0` from a parameter without a value.
  switch (v?.case) {
    case "boolValue":
      w.tag(1, VARINT).bool(v.value);
      break;
    case "int64Value":
      w.tag(2, VARINT).int64(v.value);
      break;
    case "uint64Value":
      w.tag(3, VARINT).uint64(v.value);
      break;
    case "float64Value":
      w.tag(4, BIT64).double(v.value);
      break;
    case "stringValue":
      w.tag(5, LD).string(v.value);
      break;
    case "bytesValue":
      w.tag(6, LD).bytes(v.value);
      break;
    case "nullValue":
      // QueryNull has no fields: an empty sub-message.
      w.tag(7, LD).bytes(new Uint8Array());
      break;
  }
  w.join();
}

export function encodeQueryRequest(m: MessageInitShape<typeof QueryRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.sql) w.tag(2, LD).string(m.sql);
  if (m.tenant !== undefined) w.tag(3, LD).string(m.tenant);
  for (const p of m.parameters ?? []) writeQueryParameter(w, p);
  return w.finish();
}

function readColumnInfo(r: BinaryReader): ColumnInfo {
  const end = subEnd(r);
  const m: ColumnInfo = { $typeName: "silo.v1.ColumnInfo", name: "", dataType: "" };
  while (r.pos < end) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | LD)) m.name = r.string();
    else if (tag === ((2 << 3) | LD)) m.dataType = r.string();
    else skipField(r, tag);
  }
  return m;
}

export function decodeQueryResponse(bytes: Uint8Array): QueryResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: QueryResponse = { $typeName: "silo.v1.QueryResponse", columns: [], rows: [], rowCount: 0 };
  while (r.pos < r.len) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.columns.push(readColumnInfo(r));
        break;
      case (2 << 3) | LD:
        m.rows.push(readSerializedBytes(r));
        break;
      case (3 << 3) | VARINT:
        m.rowCount = r.int32();
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}
