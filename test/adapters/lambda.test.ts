import middy from "@middy/core";
import type { APIGatewayProxyEventV2, Context, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { siloMiddy, withSilo, type SiloContext, type SiloLambdaOptions } from "../../src/adapters/lambda/index.js";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { hashTenant, SiloDeadlineExceededError, SiloGRPCClient, SiloValidationError } from "../../src/index.js";
import { describeAdapter, nodeClientFor, setSiloEnv, type AdapterDriver, type HarnessRequest, type HarnessResponse } from "./harness.js";
import { albEvent, functionUrlEvent, httpApiV2Event, restApiV1Event, sqsEvent } from "./lambda-events.js";
import { routeOf, runRoute, tenantResolverFor, type Scenario } from "./scenario.js";

/** The one thing the Lambda runtime provides that cannot run here: a context object. */
export function fakeContext(remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "orders",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:orders",
    memoryLimitInMB: "256",
    awsRequestId: crypto.randomUUID(),
    logGroupName: "/aws/lambda/orders",
    logStreamName: "2026/11/29/[$LATEST]a1b2c3",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

type AnyEvent = { httpMethod?: string; path?: string; rawPath?: string; body?: string | null; requestContext?: { http?: { method: string }; elb?: unknown } };

/** The app as a Lambda handler: no router, so the route comes from the event's method and path. */
async function appHandler(event: AnyEvent, context: SiloContext): Promise<{ statusCode: number; statusDescription?: string; headers: Record<string, string>; body: string }> {
  const method = event.httpMethod ?? event.requestContext?.http?.method ?? "";
  const path = event.path ?? event.rawPath ?? "";
  const match = routeOf(method, path);
  if (!match) return { statusCode: 404, headers: {}, body: "{}" };
  const body: unknown = event.body ? JSON.parse(event.body) : undefined;
  const out = await runRoute(context.silo, match.route, { body, ...(match.params.id ? { id: match.params.id } : {}) });
  return {
    statusCode: out.status,
    ...(event.requestContext?.elb ? { statusDescription: `${out.status} OK` } : {}),
    headers: { "content-type": "application/json" },
    body: JSON.stringify(out.body),
  };
}

function optionsFor(scenario: Scenario, client: SiloGRPCClient | undefined): SiloLambdaOptions<AnyEvent> {
  const tenant = tenantResolverFor(scenario.resolver);
  return { ...(client ? { client } : {}), ...(tenant ? { tenant } : {}), ...(scenario.required ? { required: true } : {}) };
}

function toResponse(result: unknown): HarnessResponse {
  const r = result as { statusCode: number; body: string };
  return { status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> };
}

function lambdaDriver(name: string, toEvent: (req: HarnessRequest) => unknown, supports: AdapterDriver["supports"], form: "withSilo" | "middy" = "withSilo"): AdapterDriver {
  return {
    name,
    supports,
    answersBeforeBackgroundEnqueue: false,
    async start(setup) {
      const { client, restoreEnv } = nodeClientFor(setup);
      const options = optionsFor(setup.scenario, client);
      const handler =
        form === "withSilo"
          ? withSilo(appHandler, options)
          : middy<AnyEvent, unknown, Error, SiloContext>().use(siloMiddy(options)).handler(appHandler);
      return {
        send: async (req) => toResponse(await handler(toEvent(req) as AnyEvent, fakeContext() as SiloContext)),
        openGate: async () => undefined,
        close: async () => restoreEnv(),
      };
    },
    async configError(env) {
      const restore = setSiloEnv(env);
      try {
        if (form === "withSilo") withSilo(appHandler, { tenant: tenantResolverFor("header") });
        else siloMiddy({ tenant: tenantResolverFor("header") });
      } catch (err) {
        return (err as Error).message;
      } finally {
        restore();
      }
      throw new Error("the configuration error was not reported at creation");
    },
  };
}

describeAdapter(lambdaDriver("Lambda behind API Gateway REST (payload v1)", restApiV1Event, { routeParams: true, claims: true }));
describeAdapter(lambdaDriver("Lambda behind API Gateway HTTP API (payload v2)", httpApiV2Event, { routeParams: true, claims: true }));
describeAdapter(lambdaDriver("Lambda behind an ALB", (req) => albEvent(req), { routeParams: false, claims: false }));
describeAdapter(lambdaDriver("Lambda behind an ALB with multi-value headers", (req) => albEvent(req, true), { routeParams: false, claims: false }));
describeAdapter(lambdaDriver("Lambda Function URL", functionUrlEvent, { routeParams: false, claims: false }));
describeAdapter(lambdaDriver("Lambda with the middy middleware (HTTP API)", httpApiV2Event, { routeParams: true, claims: true }, "middy"));

describe("Lambda beyond HTTP", () => {
  let server: DevServer;
  let client: SiloGRPCClient;
  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
    client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    await client.refreshTopology();
  });
  afterAll(() => server?.close());

  const shardOf = async (tenant: string): Promise<string> => (await client.loadTopology()).shardForHash(hashTenant(tenant))?.id ?? "";

  it("reads the tenant of an SQS event through a resolver over the raw event", async () => {
    const handler = withSilo(
      async (event: SQSEvent, context) => {
        const ids: string[] = [];
        for (const record of event.Records) ids.push((await context.silo.enqueue({ payload: JSON.parse(record.body) as unknown, taskGroup: "orders" })).id);
        return { ids, tenant: context.silo.tenant };
      },
      { client, required: true, tenant: (req) => (JSON.parse(req.raw.Records[0]?.body ?? "{}") as { tenant?: string }).tenant },
    );
    const result = await handler(sqsEvent({ tenant: "sqs-tenant", order: 7 }), fakeContext());
    if ("statusCode" in result) throw new Error("expected the handler's result");
    expect(result.tenant).toBe("sqs-tenant");
    expect(server.jobsOnShard(await shardOf("sqs-tenant"))).toContain(result.ids[0]);
  });

  it("fails a non-HTTP invocation whose required tenant is missing, without running the handler or sending a job", async () => {
    let ran = false;
    const handler = withSilo(
      async (_event: SQSEvent) => {
        ran = true;
      },
      { client, required: true, tenant: (req) => (JSON.parse(req.raw.Records[0]?.body ?? "{}") as { tenant?: string }).tenant },
    );
    server.resetRpcCounts();
    await expect(handler(sqsEvent({ order: 1 }), fakeContext())).rejects.toThrow(SiloValidationError);
    expect(ran).toBe(false);
    expect(server.rpcCounts().Enqueue ?? 0).toBe(0);
  });

  it("caps every call by the remaining time minus the safety margin, so a hung server gives a clean deadline error", async () => {
    const tenant = "slow-tenant";
    const topology = await client.loadTopology();
    const node = server.addresses.indexOf(topology.shardForHash(hashTenant(tenant))?.address ?? "");
    const handler = withSilo(
      async (_event: APIGatewayProxyEventV2, context) => {
        try {
          await context.silo.enqueue({ payload: 1, taskGroup: "orders" });
          return { statusCode: 200, body: "" };
        } catch (err) {
          return { statusCode: 504, body: (err as Error).name };
        }
      },
      { client, tenant: (req) => req.header("x-tenant-id"), safetyMarginMs: 300 },
    );
    server.setFault(node, "hang");
    try {
      const started = Date.now();
      const result = await handler(httpApiV2Event({ method: "POST", path: "/jobs", headers: { "x-tenant-id": tenant }, body: {} }), fakeContext(800));
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({ statusCode: 504, body: "SiloDeadlineExceededError" });
      // The handler answered before the (fake) Lambda timeout of 800 ms.
      expect(elapsed).toBeLessThan(800);
      expect(elapsed).toBeGreaterThanOrEqual(400);
    } finally {
      server.setFault(node, null);
    }
  });

  it("fails at once without a network call when the remaining time is already inside the safety margin", async () => {
    const handler = withSilo(async (_e: unknown, context) => context.silo.getJob("job-1"), { client, tenant: () => "late-tenant" });
    server.resetRpcCounts();
    await expect(handler({}, fakeContext(400))).rejects.toThrow(SiloDeadlineExceededError);
    expect(server.rpcCounts().GetJob ?? 0).toBe(0);
  });

  it("answers an ALB request with the status description and header style the target group expects", async () => {
    const handler = withSilo(appHandler, { client, tenant: tenantResolverFor("header"), required: true });
    const single = await handler(albEvent({ method: "POST", path: "/jobs", body: {} }) as AnyEvent, fakeContext());
    expect(single).toMatchObject({ statusCode: 400, statusDescription: "400 Bad Request", headers: { "content-type": "application/json; charset=utf-8" } });
    const multi = await handler(albEvent({ method: "POST", path: "/jobs", body: {} }, true) as AnyEvent, fakeContext());
    expect(multi).toMatchObject({ statusCode: 400, multiValueHeaders: { "content-type": ["application/json; charset=utf-8"] } });
    expect(JSON.parse((multi as { body: string }).body)).toEqual({ error: "invalid tenant: is required, and this request names none", code: "SILO_VALIDATION", field: "tenant" });
  });

  it("does not run the middy handler when the tenant is missing", async () => {
    let ran = false;
    const handler = middy<APIGatewayProxyEventV2, unknown, Error, SiloContext>()
      .use(siloMiddy({ client, tenant: (req) => req.header("x-tenant-id"), required: true }))
      .handler(async () => {
        ran = true;
        return { statusCode: 200 };
      });
    const result = await handler(httpApiV2Event({ method: "POST", path: "/jobs", body: {} }), fakeContext() as SiloContext);
    expect(result).toMatchObject({ statusCode: 400 });
    expect(ran).toBe(false);
  });
});
