import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  CancelJobRequestSchema,
  DeleteJobRequestSchema,
  EnqueueRequestSchema,
  EnqueueResponse,
  ExpediteJobRequestSchema,
  GetJobRequestSchema,
  GetJobResponse,
  GetJobResultRequestSchema,
  GetJobResultResponse,
  JobAttempt,
  JobFailure,
  RestartJobRequestSchema,
} from "../../gen/silo/v1/silo_pb.js";
import {
  BinaryReader,
  BinaryWriter,
  decodeUtf8,
  LD,
  readInt64,
  readLimit,
  readRetryPolicy,
  readSerializedBytes,
  readStringMapEntry,
  readTag,
  skipField,
  subEnd,
  VARINT,
  writeLimits,
  writeRetryPolicy,
  writeSerializedBytes,
  writeStringMap,
} from "./wire-fields.js";

// Job-addressed RPCs (Enqueue, GetJob, GetJobResult, Cancel/Delete/Restart/ExpediteJob): request
// encoders and response decoders, checked against silo_pb.ts by test/wire/silo-wire-codec.test.ts.

export function encodeEnqueueRequest(m: MessageInitShape<typeof EnqueueRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.id) w.tag(2, LD).string(m.id);
  if (m.priority) w.tag(3, VARINT).uint32(m.priority);
  if (m.startAtMs) w.tag(4, VARINT).int64(m.startAtMs);
  writeRetryPolicy(w, 5, m.retryPolicy);
  writeSerializedBytes(w, 6, m.payload);
  writeLimits(w, 7, m.limits);
  if (m.tenant !== undefined) w.tag(8, LD).string(m.tenant);
  writeStringMap(w, 9, m.metadata);
  if (m.taskGroup) w.tag(10, LD).string(m.taskGroup);
  return w.finish();
}

export function decodeEnqueueResponse(bytes: Uint8Array): EnqueueResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: EnqueueResponse = { $typeName: "silo.v1.EnqueueResponse", id: "" };
  while (r.pos < r.len) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | LD)) m.id = r.string();
    else skipField(r, tag);
  }
  return m;
}

export function encodeGetJobRequest(m: MessageInitShape<typeof GetJobRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.id) w.tag(2, LD).string(m.id);
  if (m.tenant !== undefined) w.tag(3, LD).string(m.tenant);
  if (m.includeAttempts) w.tag(4, VARINT).bool(true);
  return w.finish();
}

type JobRef =
  | MessageInitShape<typeof GetJobResultRequestSchema>
  | MessageInitShape<typeof CancelJobRequestSchema>
  | MessageInitShape<typeof DeleteJobRequestSchema>
  | MessageInitShape<typeof RestartJobRequestSchema>
  | MessageInitShape<typeof ExpediteJobRequestSchema>;

/** GetJobResult, CancelJob, DeleteJob, RestartJob and ExpediteJob requests: shard, id, optional tenant. */
export function encodeJobRefRequest(m: JobRef, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.id) w.tag(2, LD).string(m.id);
  if (m.tenant !== undefined) w.tag(3, LD).string(m.tenant);
  return w.finish();
}

function readJobAttempt(r: BinaryReader): JobAttempt {
  const end = subEnd(r);
  const m: JobAttempt = {
    $typeName: "silo.v1.JobAttempt",
    jobId: "",
    attemptNumber: 0,
    taskId: "",
    status: 0,
    startedAtMs: 0n,
  };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.jobId = r.string();
        break;
      case (2 << 3) | VARINT:
        m.attemptNumber = r.uint32();
        break;
      case (3 << 3) | LD:
        m.taskId = r.string();
        break;
      case (4 << 3) | VARINT:
        m.status = r.int32();
        break;
      case (5 << 3) | VARINT:
        m.startedAtMs = readInt64(r);
        break;
      case (6 << 3) | VARINT:
        m.finishedAtMs = readInt64(r);
        break;
      case (7 << 3) | LD:
        m.result = readSerializedBytes(r);
        break;
      case (8 << 3) | LD:
        m.errorCode = r.string();
        break;
      case (9 << 3) | LD:
        m.errorData = readSerializedBytes(r);
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

export function decodeGetJobResponse(bytes: Uint8Array): GetJobResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: GetJobResponse = {
    $typeName: "silo.v1.GetJobResponse",
    id: "",
    priority: 0,
    enqueueTimeMs: 0n,
    limits: [],
    metadata: {},
    status: 0,
    statusChangedAtMs: 0n,
    attempts: [],
    taskGroup: "",
  };
  while (r.pos < r.len) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.id = r.string();
        break;
      case (2 << 3) | VARINT:
        m.priority = r.uint32();
        break;
      case (3 << 3) | VARINT:
        m.enqueueTimeMs = readInt64(r);
        break;
      case (4 << 3) | LD:
        m.payload = readSerializedBytes(r);
        break;
      case (5 << 3) | LD:
        m.retryPolicy = readRetryPolicy(r);
        break;
      case (6 << 3) | LD:
        m.limits.push(readLimit(r));
        break;
      case (7 << 3) | LD:
        readStringMapEntry(r, m.metadata);
        break;
      case (8 << 3) | VARINT:
        m.status = r.int32();
        break;
      case (9 << 3) | VARINT:
        m.statusChangedAtMs = readInt64(r);
        break;
      case (10 << 3) | LD:
        m.attempts.push(readJobAttempt(r));
        break;
      case (11 << 3) | VARINT:
        m.nextAttemptStartsAfterMs = readInt64(r);
        break;
      case (12 << 3) | LD:
        m.taskGroup = r.string();
        break;
      case (13 << 3) | LD:
        m.result = readSerializedBytes(r);
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

export function decodeGetJobResultResponse(bytes: Uint8Array): GetJobResultResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: GetJobResultResponse = {
    $typeName: "silo.v1.GetJobResultResponse",
    id: "",
    status: 0,
    finishedAtMs: 0n,
    result: { case: undefined },
  };
  while (r.pos < r.len) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.id = r.string();
        break;
      case (2 << 3) | VARINT:
        m.status = r.int32();
        break;
      case (3 << 3) | VARINT:
        m.finishedAtMs = readInt64(r);
        break;
      case (4 << 3) | LD:
        m.result = { case: "successData", value: readSerializedBytes(r) };
        break;
      case (5 << 3) | LD: {
        const end = subEnd(r);
        const v: JobFailure = { $typeName: "silo.v1.JobFailure", errorCode: "" };
        while (r.pos < end) {
          const t = readTag(r);
          if (t === ((1 << 3) | LD)) v.errorCode = r.string();
          else if (t === ((2 << 3) | LD)) v.errorData = readSerializedBytes(r);
          else skipField(r, t);
        }
        m.result = { case: "failure", value: v };
        break;
      }
      case (6 << 3) | LD: {
        const end = subEnd(r);
        const v = { $typeName: "silo.v1.JobCancelled" as const, cancelledAtMs: 0n };
        while (r.pos < end) {
          const t = readTag(r);
          if (t === ((1 << 3) | VARINT)) v.cancelledAtMs = readInt64(r);
          else skipField(r, t);
        }
        m.result = { case: "cancelled", value: v };
        break;
      }
      default:
        skipField(r, tag);
    }
  }
  return m;
}

/** CancelJob, DeleteJob, RestartJob, ExpediteJob, ReportOutcome and ReportRefreshOutcome answer with no fields. */
export function checkEmptyResponse(bytes: Uint8Array): void {
  const r = new BinaryReader(bytes, decodeUtf8);
  while (r.pos < r.len) skipField(r, readTag(r));
}
