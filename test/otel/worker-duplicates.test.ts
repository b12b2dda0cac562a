// A server never delivers a running task twice on its own, so the duplicate comes from the
// network: the client's fetch replays one LeaseTasks answer (a proxy retrying a response is the
// real-world case). Everything else is the real dev server. Upstream: typescript_client/src/worker.ts
// drops such a delivery and reports DuplicateTaskDeliveryError.
import { MeterProvider, MetricReader, type DataPoint } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuplicateTaskDeliveryError, SiloGRPCClient, SiloWorker } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { decodeLeaseTasksResponse } from "../../src/core/wire/worker-messages.js";
import { deferred, uniqueGroup, waitFor } from "../worker/harness.js";

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

async function counterValue(reader: TestReader, name: string): Promise<{ value: number; attributes: unknown } | undefined> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      const point = metric.dataPoints[0] as DataPoint<number> | undefined;
      return point && { value: point.value, attributes: point.attributes };
    }
  }
  return undefined;
}

/**
 * A client whose fetch keeps every LeaseTasks answer; once `replay(id)` names a delivered task,
 * the next LeaseTasks call is answered, once, with the earlier answer that delivered it. Called
 * from the handler, so the replayed task is certainly running (the server may deliver more than
 * one task meanwhile, in answers to polls that overlap).
 */
function replayingClient(servers: string[], idsIn: (body: Uint8Array) => string[]): { client: SiloGRPCClient; replay(id: string): void } {
  const answers = new Map<string, { body: Uint8Array; headers: Headers }>();
  let replaying: { body: Uint8Array; headers: Headers } | undefined;
  let replayed = false;
  const client = new SiloGRPCClient({
    servers,
    useTls: false,
    protocol: "connect",
    fetch: async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith("/LeaseTasks") && replaying && !replayed) {
        replayed = true;
        return new Response(replaying.body.slice(), { status: 200, headers: replaying.headers });
      }
      const res = await fetch(input, init);
      if (!url.endsWith("/LeaseTasks") || res.status !== 200) return res;
      const body = new Uint8Array(await res.arrayBuffer());
      for (const id of idsIn(body)) answers.set(id, { body, headers: new Headers(res.headers) });
      return new Response(body.slice(), { status: res.status, headers: res.headers });
    },
  });
  return { client, replay: (id) => void (replaying ??= answers.get(id)) };
}

describe("SiloWorker duplicate deliveries", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer({ port: 0 });
  });
  afterAll(async () => {
    await server.close();
  });

  it("runs a task delivered twice only once, reports the duplicate to onError and counts it", async () => {
    const { client, replay } = replayingClient(server.addresses, (body) => decodeLeaseTasksResponse(body).tasks.map((t) => t.id));
    const reader = new TestReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter("test");
    const taskGroup = uniqueGroup();
    const release = deferred();
    const runs: string[] = [];
    const errors: Array<{ error: Error; taskId?: string }> = [];
    const worker = new SiloWorker({
      client,
      workerId: "dup",
      taskGroup,
      pollIntervalMs: 10,
      meter,
      onError: (error, ctx) => errors.push({ error, taskId: ctx?.taskId }),
      handler: async ({ task }) => {
        runs.push(task.id);
        replay(task.id);
        await release.promise;
        return { type: "success", result: null };
      },
    });
    worker.start();
    const handle = await client.enqueue({ taskGroup, payload: {} });
    await waitFor(() => errors.length > 0, { what: "the duplicate" });
    release.resolve();
    await waitFor(async () => String(await client.getJobStatus(handle.id)).toLowerCase() === "succeeded", { what: "the job to succeed" });
    await worker.stop();
    expect(runs).toHaveLength(1);
    const err = errors[0]!.error as DuplicateTaskDeliveryError;
    expect(err).toBeInstanceOf(DuplicateTaskDeliveryError);
    expect(err.code).toBe("SILO_DUPLICATE_TASK_DELIVERY");
    expect([err.taskId, err.jobId, errors[0]!.taskId]).toEqual([runs[0], handle.id, runs[0]]);
    expect(await counterValue(reader, "silo.worker.duplicate_task_deliveries")).toEqual({ value: 1, attributes: { task_group: taskGroup } });
  });

  it("drops a second delivery of a refresh task that is still running", async () => {
    const { client, replay } = replayingClient(server.addresses, (body) => decodeLeaseTasksResponse(body).refreshTasks.map((t) => t.id));
    const taskGroup = uniqueGroup();
    const release = deferred();
    const refreshes: string[] = [];
    const errors: Error[] = [];
    const worker = new SiloWorker({
      client,
      workerId: "dup-refresh",
      taskGroup,
      pollIntervalMs: 10,
      onError: (error) => errors.push(error),
      handler: async () => ({ type: "success", result: null }),
      refreshHandler: async ({ task }) => {
        refreshes.push(task.id);
        replay(task.id);
        await release.promise;
        return 2;
      },
    });
    worker.start();
    // The server asks for a refresh when a job has to wait for the floating limit (upstream
    // src/job_store_shard/floating.rs): the second job waits behind the first.
    for (let i = 0; i < 2; i++) {
      await client.enqueue({
        taskGroup,
        payload: {},
        limits: [{ type: "floatingConcurrency", key: "dup-quota", defaultMaxConcurrency: 1, refreshIntervalMs: 60_000 }],
      });
    }
    // The replayed answer may also carry the first job's task, when both jobs were enqueued
    // before the worker's first poll: that duplicate is reported too, so look for the refresh's.
    const refreshDuplicate = (): DuplicateTaskDeliveryError | undefined =>
      errors.find((e): e is DuplicateTaskDeliveryError => e instanceof DuplicateTaskDeliveryError && e.taskId === refreshes[0]);
    await waitFor(() => refreshDuplicate() !== undefined, { what: "the duplicate refresh" });
    release.resolve();
    await worker.stop();
    const err = refreshDuplicate() as DuplicateTaskDeliveryError;
    expect(err).toBeInstanceOf(DuplicateTaskDeliveryError);
    expect(err.taskId).toBe(refreshes[0]);
    expect(err.jobId).toBeUndefined();
    expect(refreshes.filter((id) => id === refreshes[0])).toHaveLength(1);
  });
});
