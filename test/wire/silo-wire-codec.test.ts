// The hand-written silo.v1 codec (src/core/wire) against the generated protobuf-es code, which
// stays the source of truth: every request the client encodes must decode with the generated
// fromBinary to the same message, and every response the generated toBinary writes must decode
// with ours to the same message. Randomised values plus the edge cases that tend to break codecs.
import { create, equals, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  CancelJobRequestSchema,
  DeleteJobRequestSchema,
  EnqueueRequestSchema,
  EnqueueResponseSchema,
  ExpediteJobRequestSchema,
  GetClusterInfoRequestSchema,
  GetClusterInfoResponseSchema,
  GetJobRequestSchema,
  GetJobResponseSchema,
  GetJobResultRequestSchema,
  GetJobResultResponseSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  LeaseTaskRequestSchema,
  LeaseTaskResponseSchema,
  LeaseTasksRequestSchema,
  LeaseTasksResponseSchema,
  LimitSchema,
  ReportOutcomeRequestSchema,
  ReportRefreshOutcomeRequestSchema,
  ResetShardsResponseSchema,
  RestartJobRequestSchema,
  TaskSchema,
} from "../../src/gen/silo/v1/silo_pb.js";
import { decodeGetClusterInfoResponse, decodeResetShardsResponse, encodeGetClusterInfoRequest } from "../../src/core/wire/cluster-messages.js";
import {
  checkEmptyResponse,
  decodeEnqueueResponse,
  decodeGetJobResponse,
  decodeGetJobResultResponse,
  encodeEnqueueRequest,
  encodeGetJobRequest,
  encodeJobRefRequest,
} from "../../src/core/wire/job-messages.js";
import {
  decodeHeartbeatResponse,
  decodeLeaseTaskResponse,
  decodeLeaseTasksResponse,
  encodeHeartbeatRequest,
  encodeLeaseTaskRequest,
  encodeLeaseTasksRequest,
  encodeReportOutcomeRequest,
  encodeReportRefreshOutcomeRequest,
} from "../../src/core/wire/worker-messages.js";

// ---------------------------------------------------------------------------------------------
// Seeded random values, edge cases first

let seed = 0x5eed;
function rand(): number {
  // mulberry32: deterministic, so a failure reproduces.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)] as T;
const chance = (p = 0.5): boolean => rand() < p;

const STRINGS = ["", "a", "tenant-1", "ünïcødé", "日本語のテナント", "emoji 🚀👩‍👩‍👧", "x".repeat(300), "line\nbreak\0nul", "\u{10ffff}"];
const str = (): string => (chance(0.6) ? pick(STRINGS) : Math.random().toString(36).slice(2) + pick(STRINGS));
const UINT32 = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
const u32 = (): number => (chance(0.6) ? pick(UINT32) : Math.floor(rand() * 2 ** 32));
const INT32 = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31)];
const i32 = (): number => (chance(0.6) ? pick(INT32) : Math.floor(rand() * 2 ** 32) - 2 ** 31);
const INT64 = [0n, 1n, -1n, 1_700_000_000_000n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n];
const i64 = (): bigint => (chance(0.6) ? pick(INT64) : BigInt(Math.floor(rand() * 2 ** 53)) * (chance() ? 1n : -1n));
const DOUBLES = [0, 1, -1.5, 2.5, 1e-300, 1.7976931348623157e308, Number.MIN_VALUE];
const dbl = (): number => (chance(0.6) ? pick(DOUBLES) : (rand() - 0.5) * 1e6);
const bool = (): boolean => chance();
function bytes(): Uint8Array {
  const n = chance(0.05) ? 70_000 : pick([0, 1, 5, 300]);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}
function map(): Record<string, string> {
  const m: Record<string, string> = {};
  const n = pick([0, 1, 3, 16]);
  for (let i = 0; i < n; i++) m[i === 0 ? pick(STRINGS) : `${str()}-${i}`] = str();
  return m;
}
const maybe = <T>(f: () => T): T | undefined => (chance() ? f() : undefined);
const list = <T>(f: () => T): T[] => Array.from({ length: pick([0, 1, 3]) }, f);
/** An optional field: absent, or present (possibly with its zero value). */
function opt<K extends string, T>(key: K, f: () => T): { [P in K]?: T } {
  return (chance() ? { [key]: f() } : {}) as { [P in K]?: T };
}

const serialized = () => ({ encoding: chance(0.9) ? { case: "msgpack" as const, value: bytes() } : { case: undefined } });
const retryPolicy = () => ({ retryCount: u32(), initialIntervalMs: i64(), maxIntervalMs: i64(), randomizeInterval: bool(), backoffFactor: dbl() });
function limit(): MessageInitShape<typeof LimitSchema> {
  switch (pick([0, 1, 2, 3])) {
    case 0:
      return { limit: { case: "concurrency", value: { key: str(), maxConcurrency: u32() } } };
    case 1:
      return {
        limit: {
          case: "rateLimit",
          value: {
            name: str(),
            uniqueKey: str(),
            limit: i64(),
            durationMs: i64(),
            hits: i32(),
            algorithm: pick([0, 1]),
            behavior: i32(),
            ...(chance() ? { retryPolicy: { initialBackoffMs: i64(), maxBackoffMs: i64(), backoffMultiplier: dbl(), maxRetries: u32() } } : {}),
          },
        },
      };
    case 2:
      return { limit: { case: "floatingConcurrency", value: { key: str(), defaultMaxConcurrency: u32(), refreshIntervalMs: i64(), metadata: map() } } };
    default:
      return { limit: { case: undefined } };
  }
}
const task = (): MessageInitShape<typeof TaskSchema> => ({
  id: str(),
  jobId: str(),
  ...opt("tenantId", str),
  attemptNumber: u32(),
  relativeAttemptNumber: u32(),
  isLastAttempt: bool(),
  metadata: map(),
  limits: list(limit),
  ...opt("payload", serialized),
  priority: u32(),
  shard: str(),
  taskGroup: str(),
  leaseMs: i64(),
});

// ---------------------------------------------------------------------------------------------
// The two directions

const ROUNDS = 60;

/** Our encoder, the generated decoder. */
function checkEncoder<S extends DescMessage>(schema: S, encode: (m: MessageInitShape<S>) => Uint8Array, gen: () => MessageInitShape<S>, edge: MessageInitShape<S>[]): void {
  for (const init of [...edge, ...Array.from({ length: ROUNDS }, gen)]) {
    const expected = create(schema, init);
    const decoded = fromBinary(schema, encode(init));
    if (!equals(schema, decoded, expected)) {
      expect.fail(`${schema.typeName} differs after our encode:\n${describeDiff(expected, decoded)}`);
    }
    // A message built with create() (what callers may pass) encodes the same as its init object.
    expect(equals(schema, fromBinary(schema, encode(expected as MessageInitShape<S>)), expected)).toBe(true);
  }
}

/** The generated encoder, our decoder. */
function checkDecoder<S extends DescMessage>(schema: S, decode: (b: Uint8Array) => MessageShape<S>, gen: () => MessageInitShape<S>, edge: MessageInitShape<S>[]): void {
  for (const init of [...edge, ...Array.from({ length: ROUNDS }, gen)]) {
    const expected = create(schema, init);
    const bytes = toBinary(schema, expected);
    const decoded = decode(bytes);
    if (!equals(schema, decoded, expected)) {
      expect.fail(`${schema.typeName} differs after our decode:\n${describeDiff(expected, decoded)}`);
    }
    // Ours is a valid message of the generated type: the generated encoder takes it as is.
    expect(Buffer.compare(toBinary(schema, decoded), bytes)).toBe(0);
    // Fields a newer server adds are skipped, whatever their wire type.
    expect(equals(schema, decode(withUnknownFields(bytes)), expected)).toBe(true);
  }
}

function withUnknownFields(bytes: Uint8Array): Uint8Array {
  const w = new BinaryWriter();
  w.tag(900, WireType.Varint).uint64(12345678901234n);
  w.tag(901, WireType.LengthDelimited).string("from the future");
  w.tag(902, WireType.Bit32).fixed32(7);
  w.tag(903, WireType.Bit64).fixed64(9n);
  const extra = w.finish();
  const out = new Uint8Array(extra.length * 2 + bytes.length);
  out.set(extra, 0);
  out.set(bytes, extra.length);
  out.set(extra, extra.length + bytes.length);
  return out;
}

function describeDiff(expected: unknown, actual: unknown): string {
  const replacer = (_k: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `bytes(${v.length})` : v);
  return `expected ${JSON.stringify(expected, replacer)}\nactual   ${JSON.stringify(actual, replacer)}`;
}

// ---------------------------------------------------------------------------------------------

describe("the hand-written silo.v1 codec", () => {
  it("encodes EnqueueRequest as the generated code decodes it: every limit case, retry policy, metadata, optional tenant", () => {
    checkEncoder(
      EnqueueRequestSchema,
      encodeEnqueueRequest,
      () => ({
        shard: str(),
        id: str(),
        priority: u32(),
        startAtMs: i64(),
        ...opt("retryPolicy", retryPolicy),
        ...opt("payload", serialized),
        limits: list(limit),
        ...opt("tenant", str),
        metadata: map(),
        taskGroup: str(),
      }),
      [
        {},
        { tenant: "" },
        { retryPolicy: {} },
        { payload: { encoding: { case: "msgpack", value: new Uint8Array(0) } } },
        { payload: {} },
        { startAtMs: -1n, priority: 2 ** 32 - 1 },
        { limits: [{}, { limit: { case: "concurrency", value: {} } }, { limit: { case: "rateLimit", value: { retryPolicy: {} } } }, { limit: { case: "floatingConcurrency", value: { metadata: { "": "" } } } }] },
        { metadata: { a: "1", b: "", "": "empty key", "ключ": "значение" } },
      ],
    );
  });

  it("decodes EnqueueResponse", () => {
    checkDecoder(EnqueueResponseSchema, decodeEnqueueResponse, () => ({ id: str() }), [{}, { id: "" }]);
  });

  it("encodes GetJobRequest with and without tenant and attempts", () => {
    checkEncoder(GetJobRequestSchema, encodeGetJobRequest, () => ({ shard: str(), id: str(), ...opt("tenant", str), includeAttempts: bool() }), [{}, { tenant: "" }, { includeAttempts: true }]);
  });

  it("encodes the job-reference requests of GetJobResult, CancelJob, DeleteJob, RestartJob and ExpediteJob", () => {
    const gen = () => ({ shard: str(), id: str(), ...opt("tenant", str) });
    const edge = [{}, { tenant: "" }, { shard: "s", id: "j", tenant: "t" }];
    checkEncoder(GetJobResultRequestSchema, encodeJobRefRequest, gen, edge);
    checkEncoder(CancelJobRequestSchema, encodeJobRefRequest, gen, edge);
    checkEncoder(DeleteJobRequestSchema, encodeJobRefRequest, gen, edge);
    checkEncoder(RestartJobRequestSchema, encodeJobRefRequest, gen, edge);
    checkEncoder(ExpediteJobRequestSchema, encodeJobRefRequest, gen, edge);
  });

  it("decodes GetJobResponse with attempts, limits, metadata and every optional field present or absent", () => {
    checkDecoder(
      GetJobResponseSchema,
      decodeGetJobResponse,
      () => ({
        id: str(),
        priority: u32(),
        enqueueTimeMs: i64(),
        ...opt("payload", serialized),
        ...opt("retryPolicy", retryPolicy),
        limits: list(limit),
        metadata: map(),
        status: pick([0, 1, 2, 3, 4]),
        statusChangedAtMs: i64(),
        attempts: list(() => ({
          jobId: str(),
          attemptNumber: u32(),
          taskId: str(),
          status: pick([0, 1, 2, 3]),
          startedAtMs: i64(),
          ...opt("finishedAtMs", i64),
          ...opt("result", serialized),
          ...opt("errorCode", str),
          ...opt("errorData", serialized),
        })),
        ...opt("nextAttemptStartsAfterMs", i64),
        taskGroup: str(),
        ...opt("result", serialized),
      }),
      [
        {},
        { nextAttemptStartsAfterMs: 0n, result: {}, retryPolicy: {}, payload: {} },
        { attempts: [{}, { finishedAtMs: 0n, errorCode: "", result: {}, errorData: { encoding: { case: "msgpack", value: new Uint8Array(0) } } }] },
        { status: 4, enqueueTimeMs: -(2n ** 63n), statusChangedAtMs: 2n ** 63n - 1n },
      ],
    );
  });

  it("decodes GetJobResultResponse in every result case", () => {
    checkDecoder(
      GetJobResultResponseSchema,
      decodeGetJobResultResponse,
      () => ({
        id: str(),
        status: pick([2, 3, 4]),
        finishedAtMs: i64(),
        result: pick([
          { case: "successData" as const, value: serialized() },
          { case: "failure" as const, value: { errorCode: str(), ...opt("errorData", serialized) } },
          { case: "cancelled" as const, value: { cancelledAtMs: i64() } },
          { case: undefined },
        ]),
      }),
      [
        {},
        { result: { case: "successData", value: {} } },
        { result: { case: "failure", value: {} } },
        { result: { case: "cancelled", value: {} } },
      ],
    );
  });

  it("encodes the empty GetClusterInfoRequest and decodes GetClusterInfoResponse", () => {
    expect(equals(GetClusterInfoRequestSchema, fromBinary(GetClusterInfoRequestSchema, encodeGetClusterInfoRequest()), create(GetClusterInfoRequestSchema))).toBe(true);
    checkDecoder(
      GetClusterInfoResponseSchema,
      decodeGetClusterInfoResponse,
      () => ({
        numShards: u32(),
        shardOwners: list(() => ({ shardId: str(), grpcAddr: str(), nodeId: str(), rangeStart: str(), rangeEnd: str(), ...opt("placementRing", str) })),
        thisNodeId: str(),
        thisGrpcAddr: str(),
        members: list(() => ({ nodeId: str(), grpcAddr: str(), placementRings: list(str) })),
      }),
      [{}, { shardOwners: [{}, { placementRing: "" }], members: [{ placementRings: ["", "a", ""] }] }],
    );
  });

  it("encodes LeaseTaskRequest and LeaseTasksRequest, with the optional shard absent, empty or set", () => {
    checkEncoder(LeaseTaskRequestSchema, encodeLeaseTaskRequest, () => ({ shard: str(), id: str(), ...opt("tenant", str), workerId: str() }), [{}, { tenant: "" }]);
    checkEncoder(LeaseTasksRequestSchema, encodeLeaseTasksRequest, () => ({ ...opt("shard", str), workerId: str(), maxTasks: u32(), taskGroup: str() }), [{}, { shard: "" }, { maxTasks: 2 ** 32 - 1 }]);
  });

  it("decodes LeaseTaskResponse and LeaseTasksResponse with tasks and floating-limit refresh tasks", () => {
    checkDecoder(LeaseTaskResponseSchema, decodeLeaseTaskResponse, () => ({ ...opt("task", task) }), [{}, { task: {} }]);
    checkDecoder(
      LeaseTasksResponseSchema,
      decodeLeaseTasksResponse,
      () => ({
        tasks: list(task),
        refreshTasks: list(() => ({
          id: str(),
          queueKey: str(),
          currentMaxConcurrency: u32(),
          lastRefreshedAtMs: i64(),
          metadata: map(),
          leaseMs: i64(),
          shard: str(),
          taskGroup: str(),
          ...opt("tenantId", str),
        })),
      }),
      [{}, { tasks: [{}, { tenantId: "", payload: {} }], refreshTasks: [{}, { tenantId: "" }] }],
    );
  });

  it("encodes HeartbeatRequest and decodes HeartbeatResponse", () => {
    checkEncoder(HeartbeatRequestSchema, encodeHeartbeatRequest, () => ({ shard: str(), workerId: str(), taskId: str(), ...opt("tenantId", str) }), [{}, { tenantId: "" }]);
    checkDecoder(HeartbeatResponseSchema, decodeHeartbeatResponse, () => ({ cancelled: bool(), ...opt("cancelledAtMs", i64) }), [{}, { cancelledAtMs: 0n }, { cancelled: true, cancelledAtMs: -5n }]);
  });

  it("encodes ReportOutcomeRequest in every outcome case", () => {
    checkEncoder(
      ReportOutcomeRequestSchema,
      encodeReportOutcomeRequest,
      () => ({
        shard: str(),
        taskId: str(),
        outcome: pick([
          { case: "success" as const, value: serialized() },
          { case: "failure" as const, value: { code: str(), ...opt("data", serialized) } },
          { case: "cancelled" as const, value: {} },
          { case: undefined },
        ]),
        ...opt("tenantId", str),
      }),
      [{}, { outcome: { case: "success", value: {} } }, { outcome: { case: "failure", value: {} } }, { outcome: { case: "cancelled", value: {} } }, { tenantId: "" }],
    );
  });

  it("encodes ReportRefreshOutcomeRequest in every outcome case", () => {
    checkEncoder(
      ReportRefreshOutcomeRequestSchema,
      encodeReportRefreshOutcomeRequest,
      () => ({
        shard: str(),
        taskId: str(),
        outcome: pick([
          { case: "success" as const, value: { newMaxConcurrency: u32() } },
          { case: "failure" as const, value: { code: str(), message: str() } },
          { case: undefined },
        ]),
        ...opt("tenantId", str),
      }),
      [{}, { outcome: { case: "success", value: {} } }, { outcome: { case: "failure", value: {} } }, { tenantId: "" }],
    );
  });

  it("accepts empty responses with unknown fields and decodes ResetShardsResponse", () => {
    expect(() => checkEmptyResponse(new Uint8Array(0))).not.toThrow();
    expect(() => checkEmptyResponse(withUnknownFields(new Uint8Array(0)))).not.toThrow();
    checkDecoder(ResetShardsResponseSchema, decodeResetShardsResponse, () => ({ shardsReset: u32() }), [{}]);
  });

  it("rejects truncated input instead of returning a partial message", () => {
    const bytes = toBinary(GetJobResponseSchema, create(GetJobResponseSchema, { id: "job", taskGroup: "group", metadata: { k: "v" } }));
    for (let cut = 1; cut < bytes.length; cut++) {
      const truncated = bytes.subarray(0, cut);
      let generatedThrew = false;
      try {
        fromBinary(GetJobResponseSchema, truncated);
      } catch {
        generatedThrew = true;
      }
      if (generatedThrew) expect(() => decodeGetJobResponse(truncated)).toThrow();
    }
    expect(() => decodeEnqueueResponse(new Uint8Array([0x0a, 0x05, 0x61]))).toThrow();
  });
});
