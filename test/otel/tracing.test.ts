// With @opentelemetry/api installed and a W3C propagator registered, every RPC carries the active
// trace context (upstream typescript_client/src/client.ts interceptor), and the SiloWorker wraps
// each task in a `silo.task.lifecycle` span whose heartbeats and report join its trace
// (upstream typescript_client/src/worker.ts). Real OTel SDK, in-memory exporter, real dev server.
import { context, propagation, trace, type TextMapPropagator } from "@opentelemetry/api";
import { AsyncHooksContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SiloGRPCClient, SiloWorker } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { uniqueGroup, waitFor } from "../worker/harness.js";

interface Received {
  method: string;
  headers: Record<string, string>;
}

/** Adds a mixed-case key, to show keys arrive lower-cased whatever the propagator writes. */
const mixedCase: TextMapPropagator = {
  inject(_ctx, carrier, setter) {
    setter.set(carrier, "X-Trace-Probe", "on");
  },
  extract: (ctx) => ctx,
  fields: () => ["X-Trace-Probe"],
};

describe("OpenTelemetry trace context", () => {
  const exporter = new InMemorySpanExporter();
  const received: Received[] = [];
  let server: DevServer;
  let client: SiloGRPCClient;
  const tracer = () => trace.getTracer("test");

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncHooksContextManager().enable());
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), mixedCase] }),
    );
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    server = await startDevServer({
      port: 0,
      tenancy: true,
      onRequest: ({ method, headers }) => received.push({ method, headers: Object.fromEntries(headers) }),
    });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    received.length = 0;
    exporter.reset();
  });

  it("sends the active span as traceparent, with baggage, on every RPC", async () => {
    let traceId = "";
    let spanId = "";
    await tracer().startActiveSpan("checkout", async (span) => {
      ({ traceId, spanId } = span.spanContext());
      const ctx = propagation.setBaggage(context.active(), propagation.createBaggage({ order: { value: "o-42" } }));
      await context.with(ctx, async () => {
        const handle = await client.enqueue({ taskGroup: "g", tenant: "acme", payload: {} });
        await client.getJob(handle.id, "acme");
      });
      span.end();
    });
    const calls = received.filter((r) => r.method === "Enqueue" || r.method === "GetJob");
    expect(calls.map((c) => c.method)).toEqual(["Enqueue", "GetJob"]);
    for (const call of calls) {
      expect(call.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
      expect(call.headers.baggage).toBe("order=o-42");
      expect(call.headers["x-trace-probe"]).toBe("on");
    }
  });

  it("adds no trace context outside any span", async () => {
    await client.getJobStatus("no-such-job", "acme").catch(() => undefined);
    const call = received.find((r) => r.method === "GetJob");
    expect(call?.headers.traceparent).toBeUndefined();
    expect(call?.headers.baggage).toBeUndefined();
  });

  it("opens one silo.task.lifecycle span per task, with upstream's attributes, around heartbeats and the report", async () => {
    const taskGroup = uniqueGroup("otel");
    const worker = new SiloWorker({
      client,
      workerId: "traced-worker",
      taskGroup,
      pollIntervalMs: 10,
      heartbeatIntervalMs: 20,
      handler: async ({ task }) => {
        // A call the handler makes joins the task's trace too.
        await client.getJobStatus(task.jobId, task.tenantId);
        await new Promise((r) => setTimeout(r, 80));
        return { type: "success", result: "done" };
      },
    });
    worker.start();
    try {
      const handle = await client.enqueue({ taskGroup, tenant: "acme", payload: {} });
      await waitFor(() => exporter.getFinishedSpans().some((s) => s.name === "silo.task.lifecycle"), { what: "the task span" });
      const span = exporter.getFinishedSpans().find((s) => s.name === "silo.task.lifecycle")!;
      expect(span.instrumentationScope.name).toBe("silo-worker");
      const taskId = span.attributes["silo.task_id"];
      expect(span.attributes).toEqual({
        "silo.task_id": taskId,
        "silo.shard": server.shards()[0]!.id,
        "silo.tenant": "acme",
        "silo.worker_id": "traced-worker",
        "silo.job_id": handle.id,
        "silo.task_group": taskGroup,
        "silo.attempt_number": 1,
      });
      expect(typeof taskId).toBe("string");
      const { traceId, spanId } = span.spanContext();
      const inside = received.filter((r) => ["Heartbeat", "ReportOutcome"].includes(r.method));
      expect(inside.filter((r) => r.method === "Heartbeat").length).toBeGreaterThan(0);
      expect(inside.filter((r) => r.method === "ReportOutcome")).toHaveLength(1);
      for (const r of inside) expect(r.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
      const handlerCall = received.find((r) => r.method === "GetJob" && r.headers.traceparent !== undefined);
      expect(handlerCall?.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
      // Polling is outside any task: one poll can return many tasks.
      expect(received.filter((r) => r.method === "LeaseTasks").every((r) => r.headers.traceparent === undefined)).toBe(true);
    } finally {
      await worker.stop();
    }
  });

  it("records \"\" as silo.tenant for a task without tenant, one span per task", async () => {
    const { server: plain, close } = await (async () => {
      const s = await startDevServer({ port: 0 });
      return { server: s, close: () => s.close() };
    })();
    try {
      const c = new SiloGRPCClient({ servers: plain.addresses, useTls: false });
      const taskGroup = uniqueGroup("otel");
      const worker = new SiloWorker({ client: c, workerId: "w", taskGroup, pollIntervalMs: 10, handler: async () => ({ type: "success", result: 1 }) });
      worker.start();
      await Promise.all([1, 2, 3].map(() => c.enqueue({ taskGroup, payload: {} })));
      await waitFor(() => exporter.getFinishedSpans().filter((s) => s.name === "silo.task.lifecycle").length === 3, { what: "three task spans" });
      await worker.stop();
      const spans = exporter.getFinishedSpans().filter((s) => s.name === "silo.task.lifecycle");
      expect(new Set(spans.map((s) => s.attributes["silo.task_id"])).size).toBe(3);
      expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(3);
      for (const s of spans) expect(s.attributes["silo.tenant"]).toBe("");
    } finally {
      await close();
    }
  });
});
