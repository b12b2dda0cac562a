/**
 * Every example of Silo's enqueueing guide (shared/seed/enqueueing-guide.txt), pasted with only
 * the import path changed from "@silo-ai/client" to "silo-edge", run against the dev server on
 * the guide's own address, localhost:7450. The `web` test project runs this same file with the
 * package's worker build, where the default protocol is gRPC-web over fetch.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { JobNotFoundError, SiloGRPCClient, clearTopologyCache } from "silo-edge";
import { GubernatorAlgorithm } from "silo-edge";

let server: DevServer;
let logs: string[] = [];

beforeAll(async () => {
  server = await startDevServer({ port: 7450, shards: 4 });
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    logs.push(args.map(String).join(" "));
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await server?.close();
});

function takeLogs(): string[] {
  const out = logs;
  logs = [];
  return out;
}

describe("the enqueueing guide, pasted, against a server with tenancy off", () => {
  it("enqueues a simple job and reads its status", async () => {
    const client = new SiloGRPCClient({
      servers: ["localhost:7450"],
    });
    // Enqueue a simple job - returns a JobHandle
    const handle = await client.enqueue({
      // params that will be passed to the job
      payload: { task: "send-email", to: "user@example.com" },
      // specifies which worker task group will process the job
      taskGroup: "default"
    });
    console.log(`Enqueued job: ${handle.id}`);
    // Use the handle to interact with the job
    const status = await handle.getStatus();
    console.log(`Job status: ${status}`);

    expect(takeLogs()).toEqual([`Enqueued job: ${handle.id}`, "Job status: Scheduled"]);
    expect((await handle.getJob()).payload).toEqual({ task: "send-email", to: "user@example.com" });
  });

  // The client of the guide's configuration example, used by the examples after it.
  let client: SiloGRPCClient;

  it("creates a configured client and discovers the topology", async () => {
    client = new SiloGRPCClient({
      // Required: one or more server addresses
      servers: "localhost:7450",
      // or multiple servers: ["server1:7450", "server2:7450"]
      // or as object: { host: "localhost", port: 7450 }
      // Optional: use TLS (default: true)
      useTls: false,
      // Optional: authentication token
      token: "your-api-token",
      // or as function: async () => "your-api-token"
      // Optional: shard routing configuration
      shardRouting: {
        numShards: 16,
        topologyRefreshIntervalMs: 60000, // 0 to disable auto-refresh
      }
    });
    // Discover cluster topology (recommended)
    await client.refreshTopology();

    expect((await client.loadTopology()).numShards).toBe(4);
  });

  it("accepts the other forms of the servers option", async () => {
    for (const servers of [{ host: "localhost", port: 7450 }, ["localhost:7450"]]) {
      const c = new SiloGRPCClient({ servers, useTls: false, token: async () => "your-api-token" });
      expect((await c.refreshTopology()).numShards).toBe(4);
    }
  });

  it("enqueues a payload", async () => {
    await client.enqueue({
      payload: {
        userId: 123,
        action: "generate-report",
        reportType: "monthly"
      },
      taskGroup: "reports"
    });
  });

  it("routes jobs to task groups", async () => {
    // Email jobs are processed by email workers
    await client.enqueue({
      payload: { to: "user@example.com", subject: "Hello" },
      taskGroup: "emails"
    });
    // Report jobs are processed by report workers
    await client.enqueue({
      payload: { reportId: 456 },
      taskGroup: "reports"
    });
  });

  it("uses a custom job id", async () => {
    const handle = await client.enqueue({
      payload: { task: "cleanup" },
      taskGroup: "maintenance",
      id: "cleanup-2024-01-08"
    });
    console.log(handle.id); // "cleanup-2024-01-08"

    expect(takeLogs()).toEqual(["cleanup-2024-01-08"]);
  });

  it("sets priorities", async () => {
    const urgentHandle = await client.enqueue({
      payload: { task: "urgent-notification" },
      taskGroup: "notifications",
      priority: 0 // Highest priority
    });
    const backgroundHandle = await client.enqueue({
      payload: { task: "background-sync" },
      taskGroup: "sync",
      priority: 90 // Lower priority
    });

    expect((await urgentHandle.getJob()).priority).toBe(0);
    expect((await backgroundHandle.getJob()).priority).toBe(90);
  });

  it("schedules a job an hour from now", async () => {
    // Schedule job 1 hour from now
    const oneHourLater = BigInt(Date.now() + 60 * 60 * 1000);
    const handle = await client.enqueue({
      payload: { task: "scheduled-reminder" },
      taskGroup: "reminders",
      startAtMs: oneHourLater
    });

    const job = await handle.getJob();
    expect(job.status).toBe("Scheduled");
    expect(job.nextAttemptStartsAfterMs).toBe(oneHourLater);
  });

  it("stores metadata", async () => {
    const handle = await client.enqueue({
      payload: { task: "process-image" },
      taskGroup: "image-processing",
      metadata: {
        source: "api",
        userId: "user-456",
        environment: "production"
      }
    });

    expect((await handle.getJob()).metadata).toEqual({ source: "api", userId: "user-456", environment: "production" });
  });

  it("configures retries", async () => {
    const handle = await client.enqueue({
      payload: { task: "api-call" },
      taskGroup: "api-calls",
      retryPolicy: {
        retryCount: 3, // Maximum number of retries
        initialIntervalMs: 1000n, // Initial backoff (1 second)
        maxIntervalMs: 30000n, // Maximum backoff (30 seconds)
        backoffFactor: 2.0, // Exponential backoff multiplier
        randomizeInterval: true // Add jitter to prevent thundering herd
      }
    });

    expect((await handle.getJob()).retryPolicy).toEqual({
      retryCount: 3,
      initialIntervalMs: 1000n,
      maxIntervalMs: 30000n,
      backoffFactor: 2,
      randomizeInterval: true,
    });
  });

  it("adds a concurrency limit", async () => {
    const handle = await client.enqueue({
      payload: { task: "process-user-upload", userId: 123 },
      taskGroup: "uploads",
      limits: [
        {
          type: "concurrency",
          key: "user:123", // Jobs with same key share the limit
          maxConcurrency: 5 // Max 5 concurrent jobs for this user
        }
      ]
    });

    expect((await handle.getJob()).limits).toEqual([{ type: "concurrency", key: "user:123", maxConcurrency: 5 }]);
  });

  it("adds a rate limit", async () => {
    const handle = await client.enqueue({
      payload: { task: "api-request" },
      taskGroup: "api-calls",
      limits: [
        {
          type: "rateLimit",
          name: "api-rate-limit", // Name for debugging/metrics
          uniqueKey: "user:456", // Unique key for this limit instance
          limit: 100n, // Max 100 requests
          durationMs: 60000n, // Per 60 seconds (1 minute)
          hits: 1, // Each job consumes 1 "hit" (default)
          algorithm: GubernatorAlgorithm.TOKEN_BUCKET, // TOKEN_BUCKET or LEAKY_BUCKET
          retryPolicy: {
            initialBackoffMs: 100n, // Initial retry backoff
            maxBackoffMs: 5000n, // Max retry backoff
            backoffMultiplier: 2.0, // Exponential backoff multiplier
            maxRetries: 10 // Max retries (0 = infinite until reset)
          }
        }
      ]
    });

    const [limit] = (await handle.getJob()).limits;
    expect(limit).toMatchObject({ type: "rateLimit", name: "api-rate-limit", uniqueKey: "user:456", limit: 100n, durationMs: 60000n, hits: 1, algorithm: 0 });
  });

  it("combines limits in order", async () => {
    const handle = await client.enqueue({
      payload: { task: "expensive-operation", tenantId: "abc" },
      taskGroup: "expensive-ops",
      limits: [
        // First check: tenant concurrency limit
        {
          type: "concurrency",
          key: "tenant:abc",
          maxConcurrency: 10
        },
        // Then check: tenant rate limit
        {
          type: "rateLimit",
          name: "tenant-hourly-limit",
          uniqueKey: "tenant:abc",
          limit: 1000n,
          durationMs: 3600000n // 1 hour
        }
      ]
    });

    expect((await handle.getJob()).limits.map((l) => l.type)).toEqual(["concurrency", "rateLimit"]);
  });

  it("uses the job handle; awaiting a deleted job's result reports that it is gone", async () => {
    const run = async () => {
      const handle = await client.enqueue({
        payload: { task: "process-data" },
        taskGroup: "data-processing"
      });
      // Access the job ID
      console.log(handle.id);
      // Get full job details
      const job = await handle.getJob();
      // Get just the status
      const status = await handle.getStatus();
      // Cancel the job
      await handle.cancel();
      // Delete the job
      await handle.delete();
      // Wait for the job to complete
      const result = await handle.awaitResult({ timeoutMs: 30000 });
      console.log(result.outcome); // "succeeded", "failed", or "cancelled"
      return { handle, job, status };
    };
    // The guide runs every method in one breath: the job is cancelled and deleted before
    // awaitResult, so awaitResult rightly reports the job as gone.
    await expect(run()).rejects.toBeInstanceOf(JobNotFoundError);
    const [id] = takeLogs();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("awaits the outcome of a job that is not deleted", async () => {
    const handle = await client.enqueue({ payload: { task: "process-data" }, taskGroup: "data-processing" });
    await handle.cancel();
    const result = await handle.awaitResult({ timeoutMs: 30000 });
    expect(result.outcome).toBe("cancelled");
  });

  it("creates a handle from a job id", async () => {
    await client.enqueue({ payload: {}, taskGroup: "default", id: "job-123" });
    // Create a handle from a job ID
    const handle = client.handle("job-123");
    expect(await handle.getStatus()).toBe("Scheduled");
  });
});

// The guide's tenant examples need a server with tenancy on, where every call names a tenant:
// the same address, restarted with tenancy.
describe("the enqueueing guide's tenant examples, against a server with tenancy on", () => {
  let client: SiloGRPCClient;

  beforeAll(async () => {
    await server.close();
    server = await startDevServer({ port: 7450, shards: 4, tenancy: true });
    clearTopologyCache();
    client = new SiloGRPCClient({ servers: "localhost:7450", useTls: false, token: "your-api-token" });
  });

  it("stores the tenant in the handle", async () => {
    const handle = await client.enqueue({
      payload: { task: "process-order" },
      taskGroup: "orders",
      tenant: "customer-123"
    });
    // The tenant is stored in the handle for future operations
    console.log(handle.tenant); // "customer-123"

    expect(takeLogs()).toEqual(["customer-123"]);
    expect((await handle.getJob()).tenant).toBe("customer-123");
  });

  it("creates a handle with a tenant", async () => {
    await client.enqueue({ payload: {}, taskGroup: "default", id: "job-456", tenant: "customer-123" });
    {
      // Or with a tenant
      const handle = client.handle("job-456", "customer-123");
      expect(await handle.getStatus()).toBe("Scheduled");
    }
  });
});
