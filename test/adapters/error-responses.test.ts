// A SiloError a handler lets through becomes the same HTTP answer in every adapter, from the one
// table in src/core/http-error.ts; `errorResponse` changes it.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, Context as LambdaContext } from "aws-lambda";
import express from "express";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import {
  JobNotFoundError,
  SiloDeadlineExceededError,
  SiloError,
  SiloGRPCClient,
  SiloInvalidArgumentError,
  SiloResourceExhaustedError,
  SiloUnauthenticatedError,
  SiloUnavailableError,
  SiloValidationError,
  fromHeader,
} from "../../src/index.js";
import { siloHttpError } from "../../src/core/http-error.js";
import { silo, type SiloVariables } from "../../src/adapters/hono/index.js";
import { siloErrorHandler, siloMiddleware } from "../../src/adapters/express/index.js";
import { withSilo } from "../../src/adapters/lambda/index.js";
import { withSilo as withSiloFetch } from "../../src/adapters/fetch/index.js";

/** What a call to a server that is down fails with; both are answered 503 with Retry-After. */
const OUTAGE_CODES = [new SiloUnavailableError("x").code, new SiloDeadlineExceededError("x").code];

describe("the HTTP answer for each SiloError (one table for every adapter)", () => {
  it.each([
    ["a validation error, naming its field", new SiloValidationError("taskGroup", "must not be empty"), 400, undefined],
    ["the server refusing an argument (e.g. a missing tenant with tenancy on)", new SiloInvalidArgumentError("tenant id required"), 400, undefined],
    ["no server reachable", new SiloUnavailableError("every server refused"), 503, "2"],
    ["a deadline that passed", new SiloDeadlineExceededError("deadline exceeded"), 503, "2"],
    ["a request too large for the server", new SiloResourceExhaustedError("message size 5000000 is larger than configured readMaxBytes 4194304"), 413, undefined],
    ["any other server limit", new SiloResourceExhaustedError("rate limit reached"), 429, "2"],
    ["a job that does not exist", new JobNotFoundError("job not found"), 500, undefined],
    ["a wrong token", new SiloUnauthenticatedError("bad token"), 500, undefined],
  ] as const)("answers %s with its status", (_what, error: SiloError, status, retryAfter) => {
    const answer = siloHttpError(error);
    expect(answer.status).toBe(status);
    expect(answer.headers["retry-after"]).toBe(retryAfter);
    expect(answer.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(answer.body).toMatchObject({ error: error.message, code: error.code });
    if (error instanceof SiloValidationError) expect(answer.body.field).toBe("taskGroup");
  });
});

describe("adapters answering a SiloError from the handler", () => {
  let server: DevServer;
  let down: SiloGRPCClient;
  let up: SiloGRPCClient;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, tenancy: true });
    up = new SiloGRPCClient({ servers: server.addresses });
    // A port nothing listens on any more: every call fails with SiloUnavailableError at once.
    const gone = await startDevServer({ port: 0 });
    const address = gone.addresses[0] as string;
    await gone.close();
    down = new SiloGRPCClient({ servers: [address], shardRouting: { maxRetries: 0 }, timeoutMs: 2_000 });
  });

  afterAll(async () => {
    await server.close();
  });

  function honoApp(client: SiloGRPCClient, errorResponse?: Parameters<typeof silo>[0] extends infer O ? (O extends { errorResponse?: infer H } ? H : never) : never): Hono<{ Variables: SiloVariables }> {
    const app = new Hono<{ Variables: SiloVariables }>();
    app.use("/orders", silo({ client, tenant: fromHeader("x-tenant-id"), ...(errorResponse ? { errorResponse } : {}) }));
    app.post("/orders", async (c) => {
      const body = (await c.req.json()) as { taskGroup: string };
      const handle = await c.var.silo.enqueue({ payload: body, taskGroup: body.taskGroup });
      return c.json({ id: handle.id }, 202);
    });
    return app;
  }

  const order = (taskGroup: string, tenant?: string): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/json", ...(tenant ? { "x-tenant-id": tenant } : {}) },
    body: JSON.stringify({ taskGroup }),
  });

  it("Hono: 503 with Retry-After when Silo is unreachable", async () => {
    const res = await honoApp(down).request("/orders", order("orders", "acme"));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toMatchObject({ code: new SiloUnavailableError("x").code });
  });

  it("Hono: 400 naming the field for an invalid enqueue, and 400 for a missing tenant the server requires", async () => {
    const invalid = await honoApp(up).request("/orders", order("", "acme"));
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ field: "taskGroup" });
    const noTenant = await honoApp(up).request("/orders", order("orders"));
    expect(noTenant.status).toBe(400);
  });

  it("Hono: errorResponse replaces the answer, and still answers 202 when nothing fails", async () => {
    const app = honoApp(down, ({ response }) => ({ ...response, status: 502, body: { ...response.body, error: "queue down" } }));
    const res = await app.request("/orders", order("orders", "acme"));
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: "queue down" });
    expect((await honoApp(up).request("/orders", order("orders", "acme"))).status).toBe(202);
  });

  it("Hono: an app.onError of your own keeps the last word", async () => {
    const app = honoApp(down);
    app.onError((_err, c) => c.json({ mine: true }, 418));
    const res = await app.request("/orders", order("orders", "acme"));
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ mine: true });
  });

  it("Express: siloErrorHandler() answers 503 with Retry-After over a real listener, and passes other errors on", async () => {
    const app = express();
    app.use(express.json());
    app.use(siloMiddleware({ client: down, tenant: fromHeader("x-tenant-id") }));
    app.post("/orders", async (req, res) => {
      const handle = await req.silo.enqueue({ payload: req.body, taskGroup: "orders" });
      res.status(202).json({ id: handle.id });
    });
    app.post("/boom", () => {
      throw new Error("not a Silo error");
    });
    app.use(siloErrorHandler());
    app.use(((_err, _req, res, _next) => {
      res.status(418).send("teapot");
    }) as express.ErrorRequestHandler);
    const listener = http.createServer(app).listen(0, "127.0.0.1");
    await new Promise((resolve) => listener.once("listening", resolve));
    try {
      const base = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
      const res = await fetch(`${base}/orders`, order("orders", "acme"));
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("2");
      // Unavailable or, when the reconnect backoff left by an earlier test outlasts the call's
      // deadline, deadline exceeded: the table answers both with 503 and Retry-After.
      expect(OUTAGE_CODES).toContain(((await res.json()) as { code: string }).code);
      expect((await fetch(`${base}/boom`, order("orders", "acme"))).status).toBe(418);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it("fetch handlers: 503 with Retry-After, and errorResponse replaces it", async () => {
    const enqueue = async (_request: Request, silo: import("../../src/index.js").SiloScope): Promise<Response> =>
      Response.json({ id: (await silo.enqueue({ payload: 1, taskGroup: "orders" })).id }, { status: 202 });
    const request = (): Request => new Request("http://app.test/orders", { method: "POST", headers: { "x-tenant-id": "acme" } });
    const res = await withSiloFetch(enqueue, { client: down, tenant: fromHeader("x-tenant-id") })(request());
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    const custom = await withSiloFetch(enqueue, { client: down, errorResponse: ({ response }) => ({ ...response, status: 502 }) })(request());
    expect(custom.status).toBe(502);
  });

  const lambdaContext = { getRemainingTimeInMillis: () => 10_000 } as unknown as LambdaContext;
  const httpEvent = (tenant: string): APIGatewayProxyEventV2 =>
    ({
      version: "2.0",
      routeKey: "POST /orders",
      rawPath: "/orders",
      rawQueryString: "",
      headers: { host: "api.example.com", "x-tenant-id": tenant },
      requestContext: { http: { method: "POST", path: "/orders", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" }, domainName: "api.example.com" },
      body: "{}",
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;

  it("Lambda: an HTTP event gets a 503 result with Retry-After; a queue event fails the invocation", async () => {
    const handler = withSilo(
      async (_event: unknown, context) => {
        const handle = await context.silo.enqueue({ payload: {}, taskGroup: "orders" });
        return { statusCode: 202, body: handle.id };
      },
      { client: down, tenant: (req) => req.header("x-tenant-id") ?? "acme" },
    );
    const result = (await handler(httpEvent("acme"), lambdaContext)) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(result.statusCode).toBe(503);
    expect(result.headers["retry-after"]).toBe("2");
    expect(OUTAGE_CODES).toContain((JSON.parse(result.body) as { code: string }).code);
    const thrown = await handler({ Records: [] }, lambdaContext).catch((e: unknown) => e);
    expect(OUTAGE_CODES).toContain((thrown as SiloError).code);
  });
});
