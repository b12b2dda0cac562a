// Client and worker metrics under upstream's names (typescript_client/src/metrics.ts and
// client.ts): from the global MeterProvider's `silo-client` / `silo-worker` meters, or from the
// `meter` option. Real OTel metrics SDK with a collecting reader, real dev server.
import { metrics } from "@opentelemetry/api";
import { MeterProvider, MetricReader, type DataPoint, type ResourceMetrics } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient, SiloWorker } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { deferred, uniqueGroup, waitFor } from "../worker/harness.js";

class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

interface Point {
  scope: string;
  value: number;
  attributes: Record<string, unknown>;
}

async function points(reader: CollectingReader, name: string): Promise<Point[]> {
  const { resourceMetrics }: { resourceMetrics: ResourceMetrics } = await reader.collect();
  const out: Point[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== name) continue;
      for (const p of metric.dataPoints as DataPoint<number>[]) out.push({ scope: scope.scope.name, value: p.value, attributes: { ...p.attributes } });
    }
  }
  return out;
}

const sum = (ps: Point[]): number => ps.reduce((n, p) => n + p.value, 0);

describe("OpenTelemetry metrics", () => {
  const globalReader = new CollectingReader();
  let server: DevServer;

  beforeAll(async () => {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [globalReader] }));
    server = await startDevServer({ port: 0, nodes: 2, shards: 1 });
  });
  afterAll(async () => {
    await server.close();
  });

  it("counts polls, empty polls and tasks returned on meter silo-worker, with the task_group attribute", async () => {
    const client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    const taskGroup = uniqueGroup("metrics");
    const release = deferred();
    await Promise.all([1, 2, 3].map((n) => client.enqueue({ taskGroup, payload: { n } })));
    const worker = new SiloWorker({
      client,
      workerId: "metered",
      taskGroup,
      maxConcurrentTasks: 4,
      pollIntervalMs: 10,
      handler: async () => {
        await release.promise;
        return { type: "success", result: null };
      },
    });
    worker.start();
    try {
      await waitFor(() => worker.activeTasks === 3, { what: "three running tasks" });
      const mine = (ps: Point[]) => ps.filter((p) => p.attributes.task_group === taskGroup);
      await waitFor(async () => sum(mine(await points(globalReader, "silo.worker.polls.empty"))) > 0, { what: "an empty poll" });
      // Slots: 4 - 3 running - 0 queued.
      expect(mine(await points(globalReader, "silo.worker.available_task_slots"))).toEqual([{ scope: "silo-worker", value: 1, attributes: { task_group: taskGroup } }]);
      const polls = mine(await points(globalReader, "silo.worker.polls"));
      const empty = mine(await points(globalReader, "silo.worker.polls.empty"));
      const returned = mine(await points(globalReader, "silo.worker.polls.tasks_returned"));
      expect(polls.map((p) => p.scope)).toEqual(["silo-worker"]);
      expect(sum(returned)).toBe(3);
      // Every poll either returned something or counted as empty.
      expect(sum(polls)).toBeGreaterThan(sum(empty));
      expect(sum(polls) - sum(empty)).toBeLessThanOrEqual(3);
      expect(worker.workerMetrics.defaultAttributes).toEqual({ task_group: taskGroup });
    } finally {
      release.resolve();
      await worker.stop();
    }
  });

  it("records on the meter option instead of the global provider", async () => {
    const own = new CollectingReader();
    const meter = new MeterProvider({ readers: [own] }).getMeter("mine");
    const client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    const taskGroup = uniqueGroup("own-meter");
    const worker = new SiloWorker({ client, workerId: "own", taskGroup, pollIntervalMs: 10, meter, handler: async () => ({ type: "success", result: null }) });
    worker.start();
    await waitFor(async () => sum(await points(own, "silo.worker.polls")) >= 2, { what: "two polls" });
    await worker.stop();
    const polls = await points(own, "silo.worker.polls");
    expect(polls.every((p) => p.scope === "mine" && p.attributes.task_group === taskGroup)).toBe(true);
    expect((await points(globalReader, "silo.worker.polls")).filter((p) => p.attributes.task_group === taskGroup)).toEqual([]);
  });

  it("counts wrong-shard retries on meter silo-client, or on the client's meter option", async () => {
    const own = new CollectingReader();
    const meter = new MeterProvider({ readers: [own] }).getMeter("client-meter");
    const globalClient = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    const ownClient = new SiloGRPCClient({ servers: server.addresses, useTls: false, meter, headers: { "x-client": "own" } });
    const shard = server.shards()[0]!;
    const before = sum(await points(globalReader, "silo.client.wrong_shard_retries"));
    await globalClient.enqueue({ taskGroup: "g", payload: {} });
    await ownClient.enqueue({ taskGroup: "g", payload: {} });
    // The shard moves: each client's next call reaches the old owner first and is redirected.
    server.moveShard(shard.id, (shard.nodeIndex + 1) % 2);
    await globalClient.enqueue({ taskGroup: "g", payload: {} });
    const retries = await points(globalReader, "silo.client.wrong_shard_retries");
    expect(retries.map((p) => [p.scope, p.attributes])).toEqual([["silo-client", {}]]);
    expect(sum(retries) - before).toBe(1);
    // The shared topology cache was refreshed by that redirect: move the shard back for the second client.
    server.moveShard(shard.id, shard.nodeIndex);
    await ownClient.enqueue({ taskGroup: "g", payload: {} });
    expect(await points(own, "silo.client.wrong_shard_retries")).toEqual([{ scope: "client-meter", value: 1, attributes: {} }]);
    expect(sum(await points(globalReader, "silo.client.wrong_shard_retries")) - before).toBe(1);
  });
});
