// The handler examples of the README's adapter sections, compiled so they stay correct. Each is wrapped in a
// function so nothing runs: building them needs SILO_* settings.
import { it } from "vitest";

it("compiles the Hono example", async () => {
  const { Hono } = await import("hono");
  const { silo, fromHeader } = await import("silo-edge/hono");
  type Env = { Bindings: { SILO_SERVERS: string; SILO_TOKEN: string }; Variables: import("silo-edge/hono").SiloVariables };
  const app = new Hono<Env>();
  app.use("/api/*", silo({ tenant: fromHeader("x-tenant-id"), required: true }));
  app.post("/api/orders", async (c) => {
    const handle = await c.var.silo.enqueue({ payload: await c.req.json(), taskGroup: "orders" });
    return c.json({ id: handle.id, tenant: c.var.silo.tenant });
  });
  app.post("/api/emails", async (c) => {
    const id = await c.var.silo.enqueueInBackground({ payload: await c.req.json(), taskGroup: "emails" });
    return c.json({ id }, 202);
  });
});

export function expressExample(): void {
  void (async () => {
    const express = (await import("express")).default;
    const { siloMiddleware, fromHeader } = await import("silo-edge/express");
    const app = express();
    app.use(express.json());
    app.use(siloMiddleware({ tenant: fromHeader("x-tenant-id"), required: true }));
    app.post("/orders", async (req, res, next) => {
      try {
        const handle = await req.silo.enqueue({ payload: req.body, taskGroup: "orders" });
        res.status(201).json({ id: handle.id });
      } catch (err) {
        next(err);
      }
    });
    const onError: import("express").ErrorRequestHandler = (err, _req, res, _next) => {
      res.status((err as { status?: number }).status ?? 500).json({ error: (err as Error).message });
    };
    app.use(onError);
  })();
}

export async function lambdaExamples(): Promise<void> {
  const { withSilo, siloMiddy, fromJwtClaim, fromHeader } = await import("silo-edge/lambda");
  const middy = (await import("@middy/core")).default;
  type V2 = import("aws-lambda").APIGatewayProxyEventV2;
  type SQS = import("aws-lambda").SQSEvent;
  type V1 = import("aws-lambda").APIGatewayProxyEvent;
  type V1Result = import("aws-lambda").APIGatewayProxyResult;
  type SiloContext = import("silo-edge/lambda").SiloContext;

  withSilo(
    async (event: V2, context) => {
      const handle = await context.silo.enqueue({ payload: JSON.parse(event.body ?? "{}") as unknown, taskGroup: "orders" });
      return { statusCode: 202, body: JSON.stringify({ id: handle.id }) };
    },
    { tenant: fromJwtClaim("tenant_id"), required: true },
  );
  withSilo(
    async (event: SQS, context) => {
      for (const record of event.Records) {
        await context.silo.enqueue({ payload: JSON.parse(record.body) as unknown, taskGroup: "orders" });
      }
    },
    { tenant: (req) => req.raw.Records[0]?.messageAttributes.tenant?.stringValue, required: true },
  );
  middy<V1, V1Result, Error, SiloContext>()
    .use(siloMiddy({ tenant: fromHeader("x-tenant-id"), required: true }))
    .handler(async (event, context) => {
      const handle = await context.silo.enqueue({ payload: JSON.parse(event.body ?? "{}") as unknown, taskGroup: "orders" });
      return { statusCode: 202, body: JSON.stringify({ id: handle.id }) };
    });
}
