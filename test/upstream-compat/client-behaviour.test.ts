// The behaviour upstream's typescript_client/test/client.test.ts checks by replacing the client's
// private members (`_withShardRetry`, `_getClientForTenant`, `_ensureTopology`), checked here
// through the public API: error codes come from a scripted stand-in node over a real socket (the
// dev server cannot answer a query with every code), attempt blobs from the dev server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { startDevServer, type DevServer } from "silo-edge/dev";
import {
  AttemptStatus,
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
  clearTopologyCache,
  type RawTask,
} from "silo-edge";
import { oneShardOwnedBy, startScriptedNodes, type ScriptedNodes } from "./scripted-nodes.js";

const UPSTREAM = "typescript_client/test/client.test.ts";

describe(`query error mapping (${UPSTREAM} › SiloGRPCClient › error mapping)`, () => {
  let nodes: ScriptedNodes;
  /** The code the stand-in node answers the next Query with. */
  let answer: Code = Code.Internal;
  let client: SiloGRPCClient;

  beforeAll(async () => {
    nodes = await startScriptedNodes(1, (_, addresses) => ({
      getClusterInfo: () => oneShardOwnedBy(addresses[0]!),
      query: () => {
        throw new ConnectError(`rpc failed: ${Code[answer]}`, answer);
      },
    }));
    // No retries: UNAVAILABLE would otherwise be retried (and end as the same class).
    client = new SiloGRPCClient({ servers: nodes.addresses, useTls: false, shardRouting: { maxRetries: 0 } });
  });
  afterAll(async () => {
    client.close();
    clearTopologyCache();
    await nodes.close();
  });

  const cases = [
    ["INVALID_ARGUMENT", Code.InvalidArgument, SiloInvalidArgumentError],
    ["FAILED_PRECONDITION", Code.FailedPrecondition, SiloFailedPreconditionError],
    ["UNAUTHENTICATED", Code.Unauthenticated, SiloUnauthenticatedError],
    ["PERMISSION_DENIED", Code.PermissionDenied, SiloPermissionDeniedError],
    ["RESOURCE_EXHAUSTED", Code.ResourceExhausted, SiloResourceExhaustedError],
    ["UNAVAILABLE", Code.Unavailable, SiloUnavailableError],
    ["DEADLINE_EXCEEDED", Code.DeadlineExceeded, SiloDeadlineExceededError],
    ["NOT_FOUND", Code.NotFound, SiloNotFoundError],
    ["ALREADY_EXISTS", Code.AlreadyExists, SiloAlreadyExistsError],
  ] as const;
  for (const [name, code, ErrorClass] of cases) {
    it(`a query the server answers with ${name} rejects with its dedicated error class (ports 'maps ${name} from query into a dedicated client error')`, async () => {
      answer = code;
      const err = await client.query("SELECT 1").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrorClass);
      expect(err).toBeInstanceOf(SiloGrpcError);
      expect((err as SiloGrpcError).grpcMessage).toContain("rpc failed");
    });
  }
});

describe(`attempt blob decode tolerance (${UPSTREAM} › SiloGRPCClient › attempt blob decode tolerance)`, () => {
  let server: DevServer;
  let client: SiloGRPCClient;
  const tenant = "blobs";

  beforeAll(async () => {
    server = await startDevServer({ port: 0, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  /** Leases the job's next attempt, waiting out its retry backoff. */
  async function lease(jobId: string): Promise<RawTask> {
    for (let i = 0; ; i++) {
      try {
        return await client.leaseTask({ id: jobId, workerId: "w", tenant });
      } catch (err) {
        if (i > 100 || !(err instanceof SiloFailedPreconditionError)) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  it("returns every attempt when one attempt's failure data is not MessagePack (ports 'returns all attempts when one attempt's errorData is not msgpack')", async () => {
    const handle = await client.enqueue({ tenant, taskGroup: "g", payload: 1, retryPolicy: { retryCount: 1, initialIntervalMs: 1n, maxIntervalMs: 1n } });
    const first = await lease(handle.id);
    const text = "lease expired at 123 (now 456), worker=w1";
    await client.reportOutcome({ shard: first.shard, taskId: first.id, tenant, outcome: { type: "failure", code: "WORKER_CRASHED", data: new TextEncoder().encode(text) } });
    const second = await lease(handle.id);
    await client.reportOutcome({ shard: second.shard, taskId: second.id, tenant, outcome: { type: "failure", code: "E", data: { code: "E", message: "boom" } } });
    const job = await client.getJob(handle.id, tenant, { includeAttempts: true });
    expect(job.attempts).toHaveLength(2);
    expect(job.attempts?.[0]).toMatchObject({ attemptNumber: 1, status: AttemptStatus.Failed, errorData: text });
    expect(job.attempts?.[1]).toMatchObject({ attemptNumber: 2, status: AttemptStatus.Failed, errorData: { code: "E", message: "boom" } });
  });

  it("returns result undefined for a succeeded job whose result bytes are empty (ports 'returns result undefined for a Succeeded job with zero-length result bytes')", async () => {
    const handle = await client.enqueue({ tenant, taskGroup: "g", payload: 1 });
    const task = await lease(handle.id);
    // A worker written against the raw protocol may report success with no result bytes at all;
    // the public client always encodes one, so send the raw request through the routed-call path.
    await client.callRouted(
      "ReportOutcome",
      { shardId: task.shard, taskId: task.id },
      (rpc, shard, a) =>
        rpc.reportOutcome({ shard: shard.id, taskId: task.id, tenantId: tenant, outcome: { case: "success", value: { encoding: { case: "msgpack", value: new Uint8Array(0) } } } }, a),
      undefined,
    );
    const job = await client.getJob(handle.id, tenant, { includeAttempts: true });
    expect(job.status).toBe(JobStatus.Succeeded);
    expect(job.result).toBeUndefined();
    expect(job.attempts?.[0]?.status).toBe(AttemptStatus.Succeeded);
    expect(job.attempts?.[0]?.result).toBeUndefined();
    expect((await client.getJobResult(handle.id, tenant)).result).toBeUndefined();
  });
});
