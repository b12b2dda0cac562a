import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ImportAttemptSchema,
  ImportJobRequestSchema,
  ImportJobResult,
  ImportJobsRequestSchema,
  ImportJobsResponse,
  JobStatus,
} from "../../gen/silo/v1/silo_pb.js";
import {
  BinaryReader,
  BinaryWriter,
  decodeUtf8,
  LD,
  readTag,
  skipField,
  subEnd,
  VARINT,
  writeLimits,
  writeRetryPolicy,
  writeSerializedBytes,
  writeStringMap,
} from "./wire-fields.js";

// ImportJobs: request encoder and response decoder, checked against silo_pb.ts by
// test/wire/import-jobs-codec.test.ts.

function writeImportAttempt(w: BinaryWriter, m: MessageInitShape<typeof ImportAttemptSchema>): void {
  w.tag(12, LD).fork();
  if (m.status) w.tag(1, VARINT).int32(m.status);
  if (m.startedAtMs) w.tag(2, VARINT).int64(m.startedAtMs);
  if (m.finishedAtMs) w.tag(3, VARINT).int64(m.finishedAtMs);
  writeSerializedBytes(w, 4, m.result);
  if (m.errorCode !== undefined) w.tag(5, LD).string(m.errorCode);
  writeSerializedBytes(w, 6, m.errorData);
  w.join();
}

function writeImportJob(w: BinaryWriter, m: MessageInitShape<typeof ImportJobRequestSchema>): void {
  w.tag(1, LD).fork();
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.id) w.tag(2, LD).string(m.id);
  if (m.priority) w.tag(3, VARINT).uint32(m.priority);
  if (m.enqueueTimeMs) w.tag(4, VARINT).int64(m.enqueueTimeMs);
  if (m.startAtMs) w.tag(5, VARINT).int64(m.startAtMs);
  writeRetryPolicy(w, 6, m.retryPolicy);
  writeSerializedBytes(w, 7, m.payload);
  writeLimits(w, 8, m.limits);
  if (m.tenant !== undefined) w.tag(9, LD).string(m.tenant);
  writeStringMap(w, 10, m.metadata);
  if (m.taskGroup) w.tag(11, LD).string(m.taskGroup);
  for (const a of m.attempts ?? []) writeImportAttempt(w, a);
  w.join();
}

export function encodeImportJobsRequest(m: MessageInitShape<typeof ImportJobsRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  for (const job of m.jobs ?? []) writeImportJob(w, job);
  return w.finish();
}

function readImportJobResult(r: BinaryReader): ImportJobResult {
  const end = subEnd(r);
  const m: ImportJobResult = { $typeName: "silo.v1.ImportJobResult", id: "", success: false, status: 0 as JobStatus };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.id = r.string();
        break;
      case (2 << 3) | VARINT:
        m.success = r.bool();
        break;
      case (3 << 3) | LD:
        m.error = r.string();
        break;
      case (4 << 3) | VARINT:
        m.status = r.int32() as JobStatus;
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

export function decodeImportJobsResponse(bytes: Uint8Array): ImportJobsResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: ImportJobsResponse = { $typeName: "silo.v1.ImportJobsResponse", results: [] };
  while (r.pos < r.len) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | LD)) m.results.push(readImportJobResult(r));
    else skipField(r, tag);
  }
  return m;
}
