// Type tests: `tsc` checks them (they run as no-ops under vitest).
// Imported through the package's own subpath exports, as users import them.
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, Context as LambdaContext, SQSEvent } from "aws-lambda";
import express from "express";
import type { Request as ExpressRequest } from "express";
import { Hono, type Context as HonoContext } from "hono";
import { describe, expectTypeOf, it } from "vitest";
import { siloMiddleware } from "silo-edge/express";
import { silo, type SiloVariables } from "silo-edge/hono";
import { siloMiddy, withSilo, type SiloContext, type SiloLambdaErrorResult } from "silo-edge/lambda";
import { fromHeader, JobHandle, SiloGRPCClient, type SiloScope } from "silo-edge";

const client = new SiloGRPCClient({ servers: "127.0.0.1:1", useTls: false });

describe("Hono", () => {
  it("types c.var.silo and c.var.enqueue in handlers of an app declared with SiloVariables", () => {
    const app = new Hono<{ Variables: SiloVariables }>();
    app.use(silo({ client, tenant: fromHeader("x-tenant-id"), required: true }));
    app.post("/orders", async (c) => {
      expectTypeOf(c.var.silo).toEqualTypeOf<SiloScope>();
      expectTypeOf(c.get("silo")).toEqualTypeOf<SiloScope>();
      expectTypeOf(c.var.enqueue).toEqualTypeOf<SiloScope["enqueue"]>();
      expectTypeOf(c.var.silo.tenant).toEqualTypeOf<string | undefined>();
      expectTypeOf(await c.var.silo.enqueue({ payload: 1, taskGroup: "orders" })).toEqualTypeOf<JobHandle>();
      expectTypeOf(await c.var.silo.enqueueInBackground({ payload: 1, taskGroup: "orders" })).toEqualTypeOf<string>();
      // @ts-expect-error the scope has no such method
      void c.var.silo.enqueueLater;
      return c.text("ok");
    });
  });

  it("works in apps that also declare bindings, and gives resolvers the Hono context as raw", () => {
    const app = new Hono<{ Bindings: { SILO_SERVERS: string }; Variables: SiloVariables }>();
    app.use(
      silo({
        tenant: (req) => {
          expectTypeOf(req.raw).toEqualTypeOf<HonoContext>();
          return req.raw.req.header("x-tenant-id");
        },
      }),
    );
    app.get("/", (c) => {
      expectTypeOf(c.var.silo).toEqualTypeOf<SiloScope>();
      return c.text("");
    });
  });

  it("types c.var.silo through chaining even without SiloVariables on the app", () => {
    new Hono().use(silo({ client })).get("/", (c) => {
      expectTypeOf(c.var.silo).toEqualTypeOf<SiloScope>();
      return c.text("");
    });
  });
});

describe("Express", () => {
  it("types req.silo on every Express request through declaration merging", () => {
    const app = express();
    app.use(siloMiddleware({ client, tenant: (req) => req.header("x-tenant-id") }));
    app.post("/orders", async (req, res) => {
      expectTypeOf(req.silo).toEqualTypeOf<SiloScope>();
      const handle = await req.silo.enqueue({ payload: req.body as unknown, taskGroup: "orders" });
      res.json({ id: handle.id });
    });
  });

  it("gives resolvers the Express request as raw", () => {
    siloMiddleware({
      client,
      tenant: (req) => {
        expectTypeOf(req.raw).toEqualTypeOf<ExpressRequest>();
        return String(req.raw.params.tenant);
      },
    });
  });
});

describe("Lambda", () => {
  it("types context.silo in a wrapped handler and keeps the event type", () => {
    const handler = withSilo(
      async (event: APIGatewayProxyEvent, context): Promise<APIGatewayProxyResult> => {
        expectTypeOf(context).toEqualTypeOf<SiloContext>();
        expectTypeOf(context.silo).toEqualTypeOf<SiloScope>();
        expectTypeOf(context.getRemainingTimeInMillis).toEqualTypeOf<() => number>();
        await context.silo.enqueue({ payload: JSON.parse(event.body ?? "{}") as unknown, taskGroup: "orders" });
        return { statusCode: 202, body: "" };
      },
      { client, tenant: (req) => req.raw.headers["x-tenant-id"] },
    );
    expectTypeOf(handler).parameters.toEqualTypeOf<[APIGatewayProxyEvent, LambdaContext]>();
    expectTypeOf(handler).returns.resolves.toEqualTypeOf<APIGatewayProxyResult | SiloLambdaErrorResult>();
    // The 400 result is a valid API Gateway result, so the wrapped handler is a valid API Gateway handler.
    expectTypeOf<SiloLambdaErrorResult>().toMatchTypeOf<APIGatewayProxyResult>();
  });

  it("types the raw event for resolvers of non-HTTP events", () => {
    withSilo(async (_event: SQSEvent, context) => context.silo.tenant, {
      client,
      tenant: (req) => {
        expectTypeOf(req.raw).toEqualTypeOf<SQSEvent>();
        return req.raw.Records[0]?.messageAttributes.tenant?.stringValue;
      },
    });
  });

  it("plugs into middy with context typed as SiloContext", () => {
    middy<APIGatewayProxyEventV2, unknown, Error, SiloContext>()
      .use(siloMiddy({ client, tenant: fromHeader("x-tenant-id") }))
      .handler(async (_event, context) => {
        expectTypeOf(context.silo).toEqualTypeOf<SiloScope>();
        return { statusCode: 200 };
      });
  });
});
