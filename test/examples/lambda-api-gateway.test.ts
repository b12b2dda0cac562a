import { expect } from "vitest";
import { httpApiEvent, lambdaContext, scheduledEvent } from "../../examples/lambda-api-gateway/invoke-local.js";
import { describeOrdersExample } from "./orders-harness.js";

describeOrdersExample({
  name: "the Lambda example invoked with API Gateway HTTP API (v2) events",
  async start({ server }) {
    // As in a deployed function: the handler builds its client from the environment at cold start.
    const saved = { SILO_SERVERS: process.env.SILO_SERVERS, SILO_USE_TLS: process.env.SILO_USE_TLS };
    process.env.SILO_SERVERS = server.addresses.join(",");
    process.env.SILO_USE_TLS = "false";
    const { handler, drain } = await import("../../examples/lambda-api-gateway/handler.js");
    return {
      async send({ method, path, tenant, body, rawBody }) {
        const id = /^\/orders\/([^/]+)$/.exec(path)?.[1];
        const event = httpApiEvent({
          method,
          path,
          headers: tenant ? { "x-tenant-id": tenant } : {},
          ...(body !== undefined ? { body } : {}),
          ...(id !== undefined ? { routeKey: "GET /orders/{id}", pathParameters: { id } } : {}),
        });
        if (rawBody !== undefined) event.body = rawBody;
        const result = await handler(event, lambdaContext());
        return { status: result.statusCode ?? 200, body: JSON.parse(result.body ?? "null") as Record<string, unknown> };
      },
      async drain() {
        const result = await drain(scheduledEvent(), lambdaContext(15_000));
        expect(result).toMatchObject({ failed: 0, stoppedBecause: "queue_empty" });
        expect(result.succeeded).toBeGreaterThan(0);
      },
      async close() {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      },
    };
  },
});
