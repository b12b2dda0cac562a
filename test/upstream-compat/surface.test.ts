// The names `@silo/client` exports, used the way a program written for it uses them: only the
// import path changes. Values and messages are upstream's (typescript_client/src/client.ts:35-293,
// 619-634; src/pb/silo.ts GubernatorAlgorithm / GubernatorBehavior).
import { describe, expect, it } from "vitest";
import { ConnectError, Code } from "@connectrpc/connect";
import { RpcError } from "@protobuf-ts/runtime-rpc";
import {
  AttemptStatus,
  DuplicateTaskDeliveryError,
  GubernatorAlgorithm,
  GubernatorBehavior,
  JobAlreadyExistsError,
  JobHandle,
  JobNotFoundError,
  JobNotTerminalError,
  JobStatus,
  SiloAlreadyExistsError,
  SiloDeadlineExceededError,
  SiloFailedPreconditionError,
  SiloGRPCClient,
  SiloGrpcError,
  SiloInvalidArgumentError,
  SiloNotFoundError,
  SiloPermissionDeniedError,
  SiloResourceExhaustedError,
  SiloUnauthenticatedError,
  SiloUnavailableError,
  TaskLeaseLostError,
  TaskNotFoundError,
  hashTenant,
  initHasher,
  isConnectivityError,
  shardForTenant,
  encodeBytes,
  decodeBytes,
  tolerantDecodeAttemptBytes,
  PayloadDecodeError,
  type AwaitJobOptions,
  type CancelledOutcome,
  type ConcurrencyLimitConfig,
  type EnqueueJobOptions,
  type FailureOutcome,
  type FloatingConcurrencyLimitConfig,
  type GetJobOptions,
  type HeartbeatResult,
  type Job,
  type JobAttempt,
  type JobLimit,
  type JobResult,
  type LeaseTasksOptions,
  type LeaseTasksResult,
  type RateLimitConfig,
  type RateLimitRetryPolicyConfig,
  type RefreshFailureOutcome,
  type RefreshOutcome,
  type RefreshSuccessOutcome,
  type RefreshTask,
  type ReportOutcomeOptions,
  type ReportRefreshOutcomeOptions,
  type RetryPolicy,
  type ShardInfoWithRange,
  type ShardOwner,
  type ShardRoutingConfig,
  type SiloGRPCClientOptions,
  type SuccessOutcome,
  type TaskOutcome,
} from "silo-edge";

describe("status enums", () => {
  it("JobStatus has upstream's member names and string values", () => {
    expect({ ...JobStatus }).toEqual({
      Scheduled: "Scheduled",
      Running: "Running",
      Succeeded: "Succeeded",
      Failed: "Failed",
      Cancelled: "Cancelled",
    });
  });

  it("AttemptStatus has upstream's member names and string values", () => {
    expect({ ...AttemptStatus }).toEqual({ Running: "Running", Succeeded: "Succeeded", Failed: "Failed", Cancelled: "Cancelled" });
  });

  it("GubernatorAlgorithm and GubernatorBehavior carry the wire numbers", () => {
    expect([GubernatorAlgorithm.TOKEN_BUCKET, GubernatorAlgorithm.LEAKY_BUCKET]).toEqual([0, 1]);
    expect([
      GubernatorBehavior.BATCHING,
      GubernatorBehavior.NO_BATCHING,
      GubernatorBehavior.GLOBAL,
      GubernatorBehavior.DURATION_IS_GREGORIAN,
      GubernatorBehavior.RESET_REMAINING,
      GubernatorBehavior.DRAIN_OVER_LIMIT,
    ]).toEqual([0, 1, 2, 4, 8, 16]);
  });
});

describe("error classes", () => {
  it("JobNotFoundError formats its message with and without a tenant", () => {
    const withTenant = new JobNotFoundError("job-123", "tenant-abc");
    expect(withTenant).toMatchObject({ name: "JobNotFoundError", code: "SILO_JOB_NOT_FOUND", jobId: "job-123", tenant: "tenant-abc" });
    expect(withTenant.message).toBe('Job "job-123" not found in tenant "tenant-abc"');
    expect(new JobNotFoundError("job-456").message).toBe('Job "job-456" not found');
    expect(new JobNotFoundError("job-456")).toBeInstanceOf(Error);
  });

  it("JobNotTerminalError carries the current status", () => {
    const e = new JobNotTerminalError("job-123", "tenant-abc", JobStatus.Running);
    expect(e.message).toBe('Job "job-123" in tenant "tenant-abc" is not in a terminal state (current status: Running)');
    expect(e).toMatchObject({ name: "JobNotTerminalError", code: "SILO_JOB_NOT_TERMINAL", currentStatus: JobStatus.Running });
    expect(new JobNotTerminalError("job-456").message).toBe('Job "job-456" is not in a terminal state');
    expect(new JobNotTerminalError("job-456").currentStatus).toBeUndefined();
  });

  it("TaskNotFoundError, TaskLeaseLostError and DuplicateTaskDeliveryError have upstream's codes", () => {
    const notFound = new TaskNotFoundError("task-123");
    expect(notFound.message).toBe('Task "task-123" not found');
    expect(notFound).toMatchObject({ name: "TaskNotFoundError", code: "SILO_TASK_NOT_FOUND", taskId: "task-123" });
    expect(new TaskNotFoundError("t", "lease not found").grpcMessage).toBe("lease not found");
    const lost = new TaskLeaseLostError("task-1", "job-1", new Error("lease not found"));
    expect(lost).toMatchObject({ name: "TaskLeaseLostError", code: "SILO_TASK_LEASE_LOST", taskId: "task-1", jobId: "job-1" });
    expect(lost.message).toContain("lease not found");
    const dup = new DuplicateTaskDeliveryError("task-1", "job-1");
    expect(dup).toMatchObject({ name: "DuplicateTaskDeliveryError", code: "SILO_DUPLICATE_TASK_DELIVERY", taskId: "task-1", jobId: "job-1" });
  });

  it("JobAlreadyExistsError is a SiloAlreadyExistsError and a SiloGrpcError with grpcCode ALREADY_EXISTS", () => {
    const e = new JobAlreadyExistsError("job-123", "tenant-abc");
    expect(e.message).toBe('Job "job-123" already exists in tenant "tenant-abc"');
    expect(e).toMatchObject({ name: "JobAlreadyExistsError", code: "SILO_JOB_ALREADY_EXISTS", grpcCode: "ALREADY_EXISTS", jobId: "job-123", tenant: "tenant-abc" });
    expect(e).toBeInstanceOf(SiloAlreadyExistsError);
    expect(e).toBeInstanceOf(SiloGrpcError);
  });

  it.each([
    [SiloNotFoundError, "SILO_NOT_FOUND", "NOT_FOUND"],
    [SiloAlreadyExistsError, "SILO_ALREADY_EXISTS", "ALREADY_EXISTS"],
    [SiloInvalidArgumentError, "SILO_INVALID_ARGUMENT", "INVALID_ARGUMENT"],
    [SiloFailedPreconditionError, "SILO_FAILED_PRECONDITION", "FAILED_PRECONDITION"],
    [SiloUnauthenticatedError, "SILO_UNAUTHENTICATED", "UNAUTHENTICATED"],
    [SiloPermissionDeniedError, "SILO_PERMISSION_DENIED", "PERMISSION_DENIED"],
    [SiloResourceExhaustedError, "SILO_RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED"],
    [SiloUnavailableError, "SILO_UNAVAILABLE", "UNAVAILABLE"],
    [SiloDeadlineExceededError, "SILO_DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED"],
  ] as const)("%o is a SiloGrpcError with code %s and grpcCode %s", (ErrorClass, code, grpcCode) => {
    const e = new ErrorClass("the server's message");
    expect(e).toBeInstanceOf(SiloGrpcError);
    expect(e).toMatchObject({ code, grpcCode, grpcMessage: "the server's message", message: "the server's message", name: ErrorClass.name });
  });

  it("SiloGrpcError itself has code SILO_GRPC_ERROR", () => {
    expect(new SiloGrpcError("boom", "INTERNAL", "boom")).toMatchObject({ code: "SILO_GRPC_ERROR", grpcCode: "INTERNAL", grpcMessage: "boom" });
  });

  it("isConnectivityError is true for UNAVAILABLE, DEADLINE_EXCEEDED and RST_STREAM, false otherwise", () => {
    expect(isConnectivityError(new SiloUnavailableError("down"))).toBe(true);
    expect(isConnectivityError(new SiloDeadlineExceededError("slow"))).toBe(true);
    expect(isConnectivityError(new SiloGrpcError("Received RST_STREAM with code 2", "INTERNAL", "Received RST_STREAM with code 2"))).toBe(true);
    expect(isConnectivityError(new ConnectError("down", Code.Unavailable))).toBe(true);
    expect(isConnectivityError(new SiloGrpcError("storage error", "INTERNAL", "storage error"))).toBe(false);
    expect(isConnectivityError(new SiloInvalidArgumentError("bad"))).toBe(false);
    expect(isConnectivityError(new Error("UNAVAILABLE"))).toBe(false);
  });

  it("isConnectivityError reads protobuf-ts RpcErrors, which code written for @silo/client catches", () => {
    expect(isConnectivityError(new RpcError("server unavailable", "UNAVAILABLE", {}))).toBe(true);
    expect(isConnectivityError(new RpcError("deadline exceeded", "DEADLINE_EXCEEDED", {}))).toBe(true);
    expect(isConnectivityError(new RpcError("Received RST_STREAM with code 5", "INTERNAL", {}))).toBe(true);
    expect(isConnectivityError(new RpcError("internal server error", "INTERNAL", {}))).toBe(false);
    expect(isConnectivityError(new RpcError("not found", "NOT_FOUND", {}))).toBe(false);
  });
});

describe("MessagePack helpers under upstream's names (typescript_client/src/client.ts)", () => {
  it("encodeBytes and decodeBytes round-trip strings, objects, null and arrays", () => {
    for (const value of ["hello", { foo: "bar", count: 42 }, null, [1, 2, 3], { outer: { inner: "value" } }]) {
      expect(decodeBytes(encodeBytes(value), "test")).toEqual(value);
    }
  });

  it("decodeBytes refuses absent or empty bytes with a PayloadDecodeError naming the field", () => {
    expect(() => decodeBytes(undefined, "test")).toThrow("No bytes to decode for field test");
    expect(() => decodeBytes(new Uint8Array(0), "result")).toThrow(PayloadDecodeError);
  });

  it("tolerantDecodeAttemptBytes never throws: MessagePack, then UTF-8 text, and undefined for nothing", () => {
    expect(tolerantDecodeAttemptBytes(encodeBytes({ ok: true }), "result")).toEqual({ ok: true });
    expect(tolerantDecodeAttemptBytes(new TextEncoder().encode("lease expired at 123"), "errorData")).toBe("lease expired at 123");
    expect(tolerantDecodeAttemptBytes(new Uint8Array(0), "errorData")).toBeUndefined();
    expect(tolerantDecodeAttemptBytes(undefined, "errorData")).toBeUndefined();
  });
});

describe("hashing helpers", () => {
  it("initHasher resolves and hashTenant gives 16 lower-case hex characters", async () => {
    await initHasher();
    expect(hashTenant("test-tenant")).toMatch(/^[0-9a-f]{16}$/);
    expect(hashTenant("tenant-1")).toBe(hashTenant("tenant-1"));
  });

  it("shardForTenant finds the range holding a hash-space key", () => {
    const shards: ShardInfoWithRange[] = [
      { shardId: "s1", serverAddr: "a:7450", rangeStart: "", rangeEnd: "4000000000000000" },
      { shardId: "s2", serverAddr: "b:7450", rangeStart: "4000000000000000", rangeEnd: "c000000000000000" },
      { shardId: "s3", serverAddr: "a:7450", rangeStart: "c000000000000000", rangeEnd: "" },
    ];
    expect(shardForTenant("1000000000000000", shards)?.shardId).toBe("s1");
    expect(shardForTenant("4000000000000000", shards)?.shardId).toBe("s2");
    expect(shardForTenant("d000000000000000", shards)?.shardId).toBe("s3");
    expect(shardForTenant("anything", [{ shardId: "only", serverAddr: "a:1", rangeStart: "", rangeEnd: "" }])?.shardId).toBe("only");
    expect(shardForTenant("key", [])).toBeUndefined();
  });
});

describe("client options", () => {
  it("accepts every upstream option without a network call", () => {
    const options: SiloGRPCClientOptions = {
      servers: [{ host: "localhost", port: 7450 }],
      token: async () => "secret",
      useTls: false,
      grpcClientOptions: { "grpc.keepalive_time_ms": 5_000 },
      rpcOptions: () => ({ meta: { "x-caller": "compat" }, timeout: 2_000 }),
      shardRouting: { maxRetries: 3, retryDelayMs: 100, topologyRefreshIntervalMs: 0, topologyRefreshTimeoutMs: 1_000 },
      addressMap: { "10.0.0.1:7450": "localhost:17450" },
      meter: { createCounter: () => ({ add: () => undefined }), createObservableGauge: () => ({ addCallback: () => undefined, removeCallback: () => undefined }) },
    };
    const client = new SiloGRPCClient(options);
    expect(client.meter).toBe(options.meter);
    expect(client.getTopology()).toEqual({ shardToServer: new Map(), shards: [] });
    client.close();
  });

  it("names the shardRouting field that is out of range", () => {
    expect(() => new SiloGRPCClient({ servers: "localhost:7450", shardRouting: { maxRetries: -1 } })).toThrow(/shardRouting\.maxRetries/);
    expect(() => new SiloGRPCClient({ servers: "localhost:7450", shardRouting: { retryDelayMs: 1.5 } })).toThrow(/shardRouting\.retryDelayMs/);
  });

  it("getShardForTenant throws before the topology is known", () => {
    const client = new SiloGRPCClient({ servers: "localhost:7450" });
    expect(() => client.getShardForTenant("acme")).toThrow(/refreshTopology/);
  });

  it("handle() builds a JobHandle without a network call", () => {
    const client = new SiloGRPCClient({ servers: "localhost:7450" });
    const handle = client.handle("test-job-id", "test-tenant");
    expect(handle).toBeInstanceOf(JobHandle);
    expect([handle.id, handle.tenant]).toEqual(["test-job-id", "test-tenant"]);
    expect(client.handle("test-job-id").tenant).toBeUndefined();
  });
});

// Compile-time: upstream-typed values are accepted by silo-edge's types.
describe("types", () => {
  it("accept values written against upstream's types", () => {
    const retryPolicy: RetryPolicy = { retryCount: 3, initialIntervalMs: 1000n, maxIntervalMs: 30000n, randomizeInterval: true, backoffFactor: 2 };
    const concurrency: ConcurrencyLimitConfig = { type: "concurrency", key: "k", maxConcurrency: 1 };
    const rateRetry: RateLimitRetryPolicyConfig = { initialBackoffMs: 100n, maxBackoffMs: 5000n };
    const rate: RateLimitConfig = {
      type: "rateLimit",
      name: "n",
      uniqueKey: "u",
      limit: 10n,
      durationMs: 1000n,
      algorithm: GubernatorAlgorithm.LEAKY_BUCKET,
      behavior: GubernatorBehavior.GLOBAL | GubernatorBehavior.NO_BATCHING,
      retryPolicy: rateRetry,
    };
    const floating: FloatingConcurrencyLimitConfig = { type: "floatingConcurrency", key: "f", defaultMaxConcurrency: 2, refreshIntervalMs: 60000n };
    const limits: JobLimit[] = [concurrency, rate, floating];
    const enqueue: EnqueueJobOptions = { payload: {}, taskGroup: "g", retryPolicy, limits, startAtMs: 1n };
    const routing: ShardRoutingConfig = { maxRetries: 8 };
    const getJob: GetJobOptions = { includeAttempts: true };
    const wait: AwaitJobOptions = { pollIntervalMs: 100, timeoutMs: 5000 };
    const lease: LeaseTasksOptions = { workerId: "w", maxTasks: 1, taskGroup: "g" };
    const leased: LeaseTasksResult = { tasks: [], refreshTasks: [] };
    const outcomes: TaskOutcome<unknown>[] = [
      { type: "success", result: 1 } satisfies SuccessOutcome,
      { type: "failure", code: "E", data: { why: 1 } } satisfies FailureOutcome,
      { type: "cancelled" } satisfies CancelledOutcome,
    ];
    const report: ReportOutcomeOptions = { taskId: "t", shard: "s", outcome: outcomes[0]! };
    const refreshOutcomes: RefreshOutcome[] = [
      { type: "success", newMaxConcurrency: 3 } satisfies RefreshSuccessOutcome,
      { type: "failure", code: "E", message: "m" } satisfies RefreshFailureOutcome,
    ];
    const refreshReport: ReportRefreshOutcomeOptions = { taskId: "t", shard: "s", outcome: refreshOutcomes[0]! };
    const beat: HeartbeatResult = { cancelled: false };
    const refreshTask: RefreshTask = {
      id: "r",
      queueKey: "q",
      currentMaxConcurrency: 1,
      lastRefreshedAtMs: 0n,
      metadata: {},
      leaseMs: 10000n,
      shard: "s",
      taskGroup: "g",
    };
    const owner: ShardOwner = { shardId: "s", grpcAddr: "a:1", nodeId: "n", rangeStart: "", rangeEnd: "" };
    const result: JobResult<number> = { outcome: "succeeded", status: JobStatus.Succeeded, id: "j", finishedAtMs: 0n, result: 1 };
    const attempt: Partial<JobAttempt> = { status: AttemptStatus.Failed };
    const job: Partial<Job> = { status: JobStatus.Scheduled };
    expect([enqueue, routing, getJob, wait, lease, leased, report, refreshReport, beat, refreshTask, owner, attempt, job].length).toBe(13);
    expect(result.result).toBe(1);
  });
});
