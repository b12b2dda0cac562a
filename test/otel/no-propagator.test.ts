// With @opentelemetry/api installed and a tracer provider but no propagator registered, RPCs get
// no trace headers (the API's default propagator writes nothing), while the worker still records
// its task spans. Upstream typescript_client/src/client.ts behaves the same.
import { context, trace } from "@opentelemetry/api";
import { AsyncHooksContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SiloGRPCClient, SiloWorker } from "silo-edge";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { uniqueGroup, waitFor } from "../worker/harness.js";

describe("OpenTelemetry without a registered propagator", () => {
  const exporter = new InMemorySpanExporter();
  const headerNames = new Set<string>();
  let server: DevServer;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncHooksContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    server = await startDevServer({ port: 0, onRequest: ({ headers }) => headers.forEach((_, k) => headerNames.add(k)) });
  });
  afterAll(async () => {
    await server.close();
  });

  it("adds nothing to any RPC, even inside a span, and still records task spans", async () => {
    const client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    const taskGroup = uniqueGroup("noprop");
    const worker = new SiloWorker({ client, workerId: "w", taskGroup, pollIntervalMs: 10, heartbeatIntervalMs: 20, handler: async () => {
      await new Promise((r) => setTimeout(r, 60));
      return { type: "success", result: null };
    } });
    worker.start();
    await trace.getTracer("test").startActiveSpan("outer", async (span) => {
      await client.enqueue({ taskGroup, payload: {} });
      span.end();
    });
    await waitFor(() => exporter.getFinishedSpans().some((s) => s.name === "silo.task.lifecycle"), { what: "the task span" });
    await worker.stop();
    expect([...headerNames].filter((h) => ["traceparent", "tracestate", "baggage"].includes(h))).toEqual([]);
    expect([...headerNames]).toContain("content-type");
  });
});
