import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { encode } from "@msgpack/msgpack";
import { decodePayload, PayloadDecodeError, SiloError, SiloGRPCClient, clearTopologyCache } from "silo-edge";
import { drainTasks, WorkerProtocolError, type TaskContext, type WorkerErrorEvent } from "silo-edge/worker";
import {
  GetJobResponseSchema,
  LeaseTasksResponseSchema,
  RefreshFloatingLimitTaskSchema,
  ReportOutcomeRequestSchema,
  TaskSchema,
  type Task,
} from "../../src/gen/silo/v1/silo_pb.js";
import { answer, SHARD_ID, startFetchServer, type FetchServer } from "./fetch-server.js";

/**
 * A node whose LeaseTasks answer breaks the protocol: more tasks than the worker asked for, and
 * tasks of another task group. The worker runs only what it asked for, of its own group, and
 * reports the rest through onError as a WorkerProtocolError; refused tasks are neither run nor
 * reported, so their leases expire and the server retries them.
 */

const GROUP = "mine";

function task(id: string, taskGroup: string, payload: Uint8Array = encode({ n: id })): Task {
  return create(TaskSchema, {
    id,
    jobId: `job-${id}`,
    shard: SHARD_ID,
    taskGroup,
    attemptNumber: 1,
    relativeAttemptNumber: 1,
    leaseMs: 30_000n,
    payload: { encoding: { case: "msgpack", value: payload } },
  });
}

/** MessagePack for `{ "__proto__": 1 }`, which the decoder refuses. */
const protoKeyPayload = new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x01]);

describe("a worker leasing from a node that breaks the protocol", () => {
  let server: FetchServer;
  let batch: Task[] = [];
  let leaseCalls = 0;

  beforeAll(async () => {
    server = await startFetchServer("grpc-web");
    server.script = (req, res) => {
      if (req.url?.endsWith("/LeaseTasks")) {
        leaseCalls++;
        const tasks = leaseCalls === 1 ? batch : [];
        const refreshTasks =
          leaseCalls === 1 ? [create(RefreshFloatingLimitTaskSchema, { id: "r-foreign", queueKey: "k", taskGroup: "theirs", shard: SHARD_ID, leaseMs: 30_000n })] : [];
        answer(res, "grpc-web", toBinary(LeaseTasksResponseSchema, create(LeaseTasksResponseSchema, { tasks, refreshTasks })));
        return;
      }
      // Heartbeat and ReportOutcome: an empty, successful answer.
      answer(res, "grpc-web", new Uint8Array(0));
    };
  });
  afterAll(async () => {
    clearTopologyCache();
    await server.close();
  });

  it("runs only as many tasks as it asked for, only of its own group, and reports the rest as a protocol error", async () => {
    batch = [
      ...Array.from({ length: 6 }, (_, i) => task(`own-${i}`, GROUP)),
      task("foreign-1", "theirs"),
      task("foreign-2", ""),
    ];
    const ran: string[] = [];
    const errors: WorkerErrorEvent[] = [];
    const client = new SiloGRPCClient({ servers: server.address, useTls: false, protocol: "grpc-web", timeoutMs: 2_000 });
    const result = await drainTasks({
      client,
      taskGroup: GROUP,
      concurrency: 2,
      budgetMs: 5_000,
      handler: ({ taskId }: TaskContext) => {
        ran.push(taskId);
        return "done";
      },
      onError: (e) => errors.push(e),
    });

    expect(ran).toEqual(["own-0", "own-1"]);
    expect(result.leased).toBe(2);
    expect(result.succeeded).toBe(2);
    const protocolErrors = errors.filter((e) => e.error instanceof WorkerProtocolError);
    expect(protocolErrors).toHaveLength(1);
    const err = protocolErrors[0]!.error as WorkerProtocolError;
    expect(protocolErrors[0]!.phase).toBe("lease");
    expect(err).toBeInstanceOf(SiloError);
    expect(err.code).toBe("SILO_INTERNAL");
    expect(err.refusedTaskIds).toEqual(["own-2", "own-3", "own-4", "own-5", "foreign-1", "foreign-2"]);
    expect(err.message).toContain("6 tasks");
    expect(err.message).toContain("2 requested");
    expect(err.message).toContain("other task groups");
    expect(err.message).toContain("refreshes of other task groups");
    // Only the attempts that ran were reported; refused ones are left to their lease.
    const reported = server.received
      .filter((r) => r.path.endsWith("/ReportOutcome"))
      .map((r) => fromBinary(ReportOutcomeRequestSchema, r.body.subarray(5)).taskId);
    expect(reported.sort()).toEqual(["own-0", "own-1"]);
  });

  it("fails an attempt whose payload has a __proto__ key with PAYLOAD_NOT_DECODABLE, naming the typed error", async () => {
    leaseCalls = 0;
    server.received.length = 0;
    batch = [task("proto", GROUP, protoKeyPayload)];
    let handlerCalls = 0;
    const client = new SiloGRPCClient({ servers: server.address, useTls: false, protocol: "grpc-web", timeoutMs: 2_000 });
    const result = await drainTasks({ client, taskGroup: GROUP, concurrency: 2, budgetMs: 5_000, handler: () => void handlerCalls++, onError: () => undefined });
    expect(handlerCalls).toBe(0);
    expect(result.failed).toBe(1);
    const report = server.received.find((r) => r.path.endsWith("/ReportOutcome"));
    const request = fromBinary(ReportOutcomeRequestSchema, report!.body.subarray(5));
    expect(request.outcome.case).toBe("failure");
    const failure = request.outcome.value as { code: string; data?: { encoding: { value: Uint8Array } } };
    expect(failure.code).toBe("PAYLOAD_NOT_DECODABLE");
    expect(decodePayload(failure.data?.encoding.value)).toMatchObject({ name: "PayloadDecodeError" });
  });
});

describe("decodePayload", () => {
  it.each([
    ["a map with a __proto__ key", protoKeyPayload],
    ["a truncated string", new Uint8Array([0xa5, 0x61])],
    ["a reserved byte (0xc1)", new Uint8Array([0xc1])],
    ["extra bytes after the value", new Uint8Array([0x01, 0x02])],
  ])("throws a typed PayloadDecodeError for %s", (_name, bytes) => {
    let err: unknown;
    try {
      decodePayload(bytes, "payload");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PayloadDecodeError);
    expect(err).toBeInstanceOf(SiloError);
    expect((err as PayloadDecodeError).code).toBe("SILO_INTERNAL");
    expect((err as PayloadDecodeError).field).toBe("payload");
    expect((err as Error).message).toMatch(/^could not decode payload: /);
  });
});

describe("getJob on a job whose stored payload has a __proto__ key", () => {
  it("rejects with a typed PayloadDecodeError instead of the codec's own error", async () => {
    const server = await startFetchServer("connect");
    try {
      server.script = (_req, res) =>
        answer(res, "connect", toBinary(GetJobResponseSchema, create(GetJobResponseSchema, { id: "job-1", payload: { encoding: { case: "msgpack", value: protoKeyPayload } } })));
      const client = new SiloGRPCClient({ servers: server.address, useTls: false, protocol: "connect", timeoutMs: 2_000 });
      const err = await client.getJob("job-1").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PayloadDecodeError);
      expect((err as PayloadDecodeError).code).toBe("SILO_INTERNAL");
      expect((err as Error).message).toContain("__proto__");
    } finally {
      clearTopologyCache();
      await server.close();
    }
  });
});
