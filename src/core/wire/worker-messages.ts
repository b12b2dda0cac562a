import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  HeartbeatRequestSchema,
  HeartbeatResponse,
  LeaseTaskRequestSchema,
  LeaseTaskResponse,
  LeaseTasksRequestSchema,
  LeaseTasksResponse,
  RefreshFloatingLimitTask,
  ReportOutcomeRequestSchema,
  ReportRefreshOutcomeRequestSchema,
  Task,
} from "../../gen/silo/v1/silo_pb.js";
import {
  BinaryReader,
  BinaryWriter,
  decodeUtf8,
  LD,
  readInt64,
  readLimit,
  readSerializedBytes,
  readStringMapEntry,
  readTag,
  skipField,
  subEnd,
  VARINT,
  writeSerializedBytes,
} from "./wire-fields.js";

// Worker RPCs (LeaseTask, LeaseTasks, Heartbeat, ReportOutcome, ReportRefreshOutcome): request
// encoders and response decoders, checked against silo_pb.ts by test/wire/silo-wire-codec.test.ts.

export function encodeLeaseTaskRequest(m: MessageInitShape<typeof LeaseTaskRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.id) w.tag(2, LD).string(m.id);
  if (m.tenant !== undefined) w.tag(3, LD).string(m.tenant);
  if (m.workerId) w.tag(4, LD).string(m.workerId);
  return w.finish();
}

export function encodeLeaseTasksRequest(m: MessageInitShape<typeof LeaseTasksRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard !== undefined) w.tag(1, LD).string(m.shard);
  if (m.workerId) w.tag(2, LD).string(m.workerId);
  if (m.maxTasks) w.tag(3, VARINT).uint32(m.maxTasks);
  if (m.taskGroup) w.tag(4, LD).string(m.taskGroup);
  return w.finish();
}

export function encodeHeartbeatRequest(m: MessageInitShape<typeof HeartbeatRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.workerId) w.tag(2, LD).string(m.workerId);
  if (m.taskId) w.tag(3, LD).string(m.taskId);
  if (m.tenantId !== undefined) w.tag(4, LD).string(m.tenantId);
  return w.finish();
}

export function encodeReportOutcomeRequest(m: MessageInitShape<typeof ReportOutcomeRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.taskId) w.tag(2, LD).string(m.taskId);
  const o = m.outcome;
  if (o !== undefined) {
    if (o.case === "success") writeSerializedBytes(w, 3, o.value);
    else if (o.case === "failure") {
      w.tag(4, LD).fork();
      if (o.value.code) w.tag(1, LD).string(o.value.code);
      writeSerializedBytes(w, 2, o.value.data);
      w.join();
    } else if (o.case === "cancelled") w.tag(6, LD).bytes(new Uint8Array(0));
  }
  if (m.tenantId !== undefined) w.tag(7, LD).string(m.tenantId);
  return w.finish();
}

export function encodeReportRefreshOutcomeRequest(m: MessageInitShape<typeof ReportRefreshOutcomeRequestSchema>, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  if (m.shard) w.tag(1, LD).string(m.shard);
  if (m.taskId) w.tag(2, LD).string(m.taskId);
  const o = m.outcome;
  if (o !== undefined) {
    if (o.case === "success") {
      w.tag(4, LD).fork();
      if (o.value.newMaxConcurrency) w.tag(1, VARINT).uint32(o.value.newMaxConcurrency);
      w.join();
    } else if (o.case === "failure") {
      w.tag(5, LD).fork();
      if (o.value.code) w.tag(1, LD).string(o.value.code);
      if (o.value.message) w.tag(2, LD).string(o.value.message);
      w.join();
    }
  }
  if (m.tenantId !== undefined) w.tag(6, LD).string(m.tenantId);
  return w.finish();
}

function readTask(r: BinaryReader, end: number): Task {
  const m: Task = {
    $typeName: "silo.v1.Task",
    id: "",
    jobId: "",
    attemptNumber: 0,
    relativeAttemptNumber: 0,
    isLastAttempt: false,
    metadata: {},
    limits: [],
    priority: 0,
    shard: "",
    taskGroup: "",
    leaseMs: 0n,
  };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.id = r.string();
        break;
      case (2 << 3) | LD:
        m.jobId = r.string();
        break;
      case (3 << 3) | LD:
        m.tenantId = r.string();
        break;
      case (4 << 3) | VARINT:
        m.attemptNumber = r.uint32();
        break;
      case (5 << 3) | VARINT:
        m.relativeAttemptNumber = r.uint32();
        break;
      case (6 << 3) | VARINT:
        m.isLastAttempt = r.bool();
        break;
      case (7 << 3) | LD:
        readStringMapEntry(r, m.metadata);
        break;
      case (8 << 3) | LD:
        m.limits.push(readLimit(r));
        break;
      case (9 << 3) | LD:
        m.payload = readSerializedBytes(r);
        break;
      case (10 << 3) | VARINT:
        m.priority = r.uint32();
        break;
      case (11 << 3) | LD:
        m.shard = r.string();
        break;
      case (12 << 3) | LD:
        m.taskGroup = r.string();
        break;
      case (13 << 3) | VARINT:
        m.leaseMs = readInt64(r);
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

function readRefreshTask(r: BinaryReader): RefreshFloatingLimitTask {
  const end = subEnd(r);
  const m: RefreshFloatingLimitTask = {
    $typeName: "silo.v1.RefreshFloatingLimitTask",
    id: "",
    queueKey: "",
    currentMaxConcurrency: 0,
    lastRefreshedAtMs: 0n,
    metadata: {},
    leaseMs: 0n,
    shard: "",
    taskGroup: "",
  };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.id = r.string();
        break;
      case (2 << 3) | LD:
        m.queueKey = r.string();
        break;
      case (3 << 3) | VARINT:
        m.currentMaxConcurrency = r.uint32();
        break;
      case (4 << 3) | VARINT:
        m.lastRefreshedAtMs = readInt64(r);
        break;
      case (5 << 3) | LD:
        readStringMapEntry(r, m.metadata);
        break;
      case (6 << 3) | VARINT:
        m.leaseMs = readInt64(r);
        break;
      case (7 << 3) | LD:
        m.shard = r.string();
        break;
      case (8 << 3) | LD:
        m.taskGroup = r.string();
        break;
      case (9 << 3) | LD:
        m.tenantId = r.string();
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

export function decodeLeaseTaskResponse(bytes: Uint8Array): LeaseTaskResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: LeaseTaskResponse = { $typeName: "silo.v1.LeaseTaskResponse" };
  while (r.pos < r.len) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | LD)) m.task = readTask(r, subEnd(r));
    else skipField(r, tag);
  }
  return m;
}

export function decodeLeaseTasksResponse(bytes: Uint8Array): LeaseTasksResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: LeaseTasksResponse = { $typeName: "silo.v1.LeaseTasksResponse", tasks: [], refreshTasks: [] };
  while (r.pos < r.len) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | LD)) m.tasks.push(readTask(r, subEnd(r)));
    else if (tag === ((2 << 3) | LD)) m.refreshTasks.push(readRefreshTask(r));
    else skipField(r, tag);
  }
  return m;
}

export function decodeHeartbeatResponse(bytes: Uint8Array): HeartbeatResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: HeartbeatResponse = { $typeName: "silo.v1.HeartbeatResponse", cancelled: false };
  while (r.pos < r.len) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | VARINT)) m.cancelled = r.bool();
    else if (tag === ((2 << 3) | VARINT)) m.cancelledAtMs = readInt64(r);
    else skipField(r, tag);
  }
  return m;
}
