// Runs handler.ts locally, the way Lambda would: starts the dev server, points SILO_SERVERS at it,
// and invokes the handler with API Gateway HTTP API (v2) events, then the scheduled drain.
//
//   node --conditions=silo-edge-source --import tsx examples/lambda-api-gateway/invoke-local.ts
import type { APIGatewayProxyEventV2, Context, ScheduledEvent } from "aws-lambda";
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { startDevServer } from "silo-edge/dev";

/** An API Gateway HTTP API (payload format 2.0) event, as API Gateway sends it for `$default` stage routes. */
export function httpApiEvent({
  method,
  path,
  headers = {},
  body,
  pathParameters,
  routeKey = `${method} ${path}`,
}: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  pathParameters?: Record<string, string>;
  routeKey?: string;
}): APIGatewayProxyEventV2 {
  const now = new Date();
  return {
    version: "2.0",
    routeKey,
    rawPath: path,
    rawQueryString: "",
    headers: {
      host: "abc123.execute-api.us-east-1.amazonaws.com",
      "user-agent": "invoke-local/1.0",
      "x-forwarded-proto": "https",
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "abc123",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "invoke-local/1.0" },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    isBase64Encoded: false,
  };
}

/** An EventBridge scheduled event, as a `rate(1 minute)` rule sends it. */
export function scheduledEvent(): ScheduledEvent {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: ["arn:aws:events:us-east-1:123456789012:rule/drain-orders"],
    detail: {},
  };
}

/** A Lambda context whose function times out `timeoutMs` from now. */
export function lambdaContext(timeoutMs = 10_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "orders",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:orders",
    memoryLimitInMB: "256",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/orders",
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function main(): Promise<void> {
  const server = await startDevServer({ port: 0, nodes: 2, shards: 4, tenancy: true });
  try {
    // What the function's environment would hold; set before handler.ts builds its client.
    process.env.SILO_SERVERS = server.addresses.join(",");
    process.env.SILO_USE_TLS = "false";
    const { handler, drain } = await import("./handler.js");

    const order = { items: [{ sku: "tea", qty: 2, price: 4.5 }] };
    const created = await handler(httpApiEvent({ method: "POST", path: "/orders", headers: { "x-tenant-id": "acme" }, body: order }), lambdaContext());
    console.log("POST /orders        ->", created.statusCode, created.body);
    const { id } = JSON.parse(String(created.body)) as { id: string };

    const get = (): ReturnType<typeof handler> =>
      handler(
        httpApiEvent({ method: "GET", path: `/orders/${id}`, routeKey: "GET /orders/{id}", pathParameters: { id }, headers: { "x-tenant-id": "acme" } }),
        lambdaContext(),
      );
    const before = await get();
    console.log("GET /orders/{id}    ->", before.statusCode, before.body);

    const noTenant = await handler(httpApiEvent({ method: "POST", path: "/orders", body: order }), lambdaContext());
    console.log("POST, no x-tenant-id ->", noTenant.statusCode, noTenant.body);

    console.log("scheduled drain     ->", JSON.stringify(await drain(scheduledEvent(), lambdaContext(10_000))));
    const after = await get();
    console.log("GET /orders/{id}    ->", after.statusCode, after.body);
  } finally {
    await server.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
