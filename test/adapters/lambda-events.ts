// Realistic Lambda events, shaped after the samples in AWS's documentation, built from a harness
// request. Only the fields each integration really sends are set.
import type { ALBEvent, APIGatewayProxyEvent, APIGatewayProxyEventV2, LambdaFunctionURLEvent, SQSEvent } from "aws-lambda";
import type { HarnessRequest } from "./harness.js";
import { routeOf } from "./scenario.js";

const ACCOUNT = "123456789012";
const TIME = "29/Nov/2026:14:00:00 +0000";
const EPOCH = 1_795_960_800_000;

function split(req: HarnessRequest): { path: string; query: URLSearchParams; host: string; headers: Record<string, string> } {
  const [path = "/", qs = ""] = req.path.split("?");
  const host = req.host ?? "api.example.com";
  const headers: Record<string, string> = {
    accept: "application/json",
    host,
    "user-agent": "harness/1.0",
    "x-forwarded-for": "203.0.113.7",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
    ...(req.body !== undefined ? { "content-type": "application/json" } : {}),
    ...req.headers,
  };
  return { path, query: new URLSearchParams(qs), host, headers };
}

function single(query: URLSearchParams): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const [k, v] of query) out[k] = v;
  return Object.keys(out).length > 0 ? out : null;
}

function multi(query: URLSearchParams): Record<string, string[]> | null {
  const out: Record<string, string[]> = {};
  for (const [k, v] of query) (out[k] ??= []).push(v);
  return Object.keys(out).length > 0 ? out : null;
}

/** API Gateway REST API (payload v1) with a Cognito user pool authorizer when claims are given. */
export function restApiV1Event(req: HarnessRequest): APIGatewayProxyEvent {
  const { path, query, host, headers } = split(req);
  const params = routeOf(req.method, req.path)?.params ?? {};
  const resource = path.replace(/^\/t\/[^/]+\//, "/t/{tenant}/").replace(/^\/status\/[^/]+$/, "/status/{id}");
  // REST APIs keep header names as the client sent them.
  const titled = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase()), v]));
  return {
    resource,
    path,
    httpMethod: req.method,
    headers: titled,
    multiValueHeaders: Object.fromEntries(Object.entries(titled).map(([k, v]) => [k, [v]])),
    queryStringParameters: single(query),
    multiValueQueryStringParameters: multi(query),
    pathParameters: Object.keys(params).length > 0 ? params : null,
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT,
      apiId: "1234567890",
      authorizer: req.claims ? { claims: req.claims } : null,
      domainName: host,
      domainPrefix: host.split(".")[0] ?? "",
      extendedRequestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
      httpMethod: req.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: "203.0.113.7",
        user: null,
        userAgent: "harness/1.0",
        userArn: null,
      },
      path: `/prod${path}`,
      protocol: "HTTP/1.1",
      requestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
      requestTime: TIME,
      requestTimeEpoch: EPOCH,
      resourceId: "123456",
      resourcePath: resource,
      stage: "prod",
    },
    body: req.body === undefined ? null : JSON.stringify(req.body),
    isBase64Encoded: false,
  };
}

/** API Gateway HTTP API (payload v2) with a JWT authorizer when claims are given. */
export function httpApiV2Event(req: HarnessRequest): APIGatewayProxyEventV2 & { requestContext: { authorizer?: unknown } } {
  const { path, query, host, headers } = split(req);
  const params = routeOf(req.method, req.path)?.params ?? {};
  const route = path.replace(/^\/t\/[^/]+\//, "/t/{tenant}/").replace(/^\/status\/[^/]+$/, "/status/{id}");
  return {
    version: "2.0",
    routeKey: `${req.method} ${route}`,
    rawPath: path,
    rawQueryString: query.toString(),
    headers,
    ...(single(query) ? { queryStringParameters: Object.fromEntries([...query].map(([k]) => [k, query.getAll(k).join(",")])) } : {}),
    ...(Object.keys(params).length > 0 ? { pathParameters: params } : {}),
    requestContext: {
      accountId: ACCOUNT,
      apiId: "api-id",
      ...(req.claims ? { authorizer: { jwt: { claims: req.claims, scopes: [] } } } : {}),
      domainName: host,
      domainPrefix: host.split(".")[0] ?? "",
      http: { method: req.method, path, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "harness/1.0" },
      requestId: "id",
      routeKey: `${req.method} ${route}`,
      stage: "$default",
      time: TIME,
      timeEpoch: EPOCH,
    },
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    isBase64Encoded: false,
  };
}

/** A Lambda Function URL event (payload v2, no route parameters, IAM or no auth). */
export function functionUrlEvent(req: HarnessRequest): LambdaFunctionURLEvent {
  const { path, query, headers } = split(req);
  const urlHost = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: query.toString(),
    // A Function URL behind a custom domain (CloudFront) still reports its own domainName.
    headers: { ...headers, host: headers.host ?? urlHost },
    ...(single(query) ? { queryStringParameters: Object.fromEntries([...query].map(([k]) => [k, query.getAll(k).join(",")])) } : {}),
    requestContext: {
      accountId: "anonymous",
      apiId: "abcdefghijklmnopqrstuvwxyz012345",
      domainName: urlHost,
      domainPrefix: "abcdefghijklmnopqrstuvwxyz012345",
      http: { method: req.method, path, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "harness/1.0" },
      requestId: "id",
      routeKey: "$default",
      stage: "$default",
      time: TIME,
      timeEpoch: EPOCH,
    },
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    isBase64Encoded: false,
  };
}

/** An Application Load Balancer event; `multiValue` for target groups with multi-value headers on. */
export function albEvent(req: HarnessRequest, multiValue = false): ALBEvent {
  const { path, query, headers } = split(req);
  // ALB passes query strings as sent, without decoding them.
  const raw: Array<[string, string]> = [...query].map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]);
  const base = {
    requestContext: { elb: { targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a` } },
    httpMethod: req.method,
    path,
    body: req.body === undefined ? "" : JSON.stringify(req.body),
    isBase64Encoded: false,
  };
  if (multiValue) {
    const mq: Record<string, string[]> = {};
    for (const [k, v] of raw) (mq[k] ??= []).push(v);
    return { ...base, multiValueQueryStringParameters: mq, multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) };
  }
  return { ...base, queryStringParameters: Object.fromEntries(raw), headers };
}

/** An SQS batch of one message whose body names the tenant. */
export function sqsEvent(body: unknown): SQSEvent {
  return {
    Records: [
      {
        messageId: "059f36b4-87a3-44ab-83d2-661975830a7d",
        receiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        body: JSON.stringify(body),
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: "1545082649183",
          SenderId: "AIDAIENQZJOLO23YVJ4VO",
          ApproximateFirstReceiveTimestamp: "1545082649185",
        },
        messageAttributes: {},
        md5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3",
        eventSource: "aws:sqs",
        eventSourceARN: `arn:aws:sqs:us-east-1:${ACCOUNT}:orders`,
        awsRegion: "us-east-1",
      },
    ],
  };
}
