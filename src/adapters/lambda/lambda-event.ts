import type { SiloValidationError } from "../../core/errors.js";
import type { SiloErrorResponse } from "../../core/http-error.js";
import type { SiloRequestView } from "../../core/request-view.js";

/** The event shapes `withSilo()` reads requests from; `"other"` is any non-HTTP event (SQS, EventBridge...). */
export type LambdaEventKind = "api-gateway-v1" | "http-api-v2" | "function-url" | "alb" | "other";

/** The 400 answer to an HTTP event whose tenant is missing or invalid. */
export interface SiloLambdaErrorResult {
  /** 400 for a bad tenant; for a `SiloError` from the handler, its status from the shared table. */
  statusCode: number;
  /** Set for ALB events, which need it. */
  statusDescription?: string;
  headers?: Record<string, string>;
  /** Instead of `headers` for ALB target groups with multi-value headers on. */
  multiValueHeaders?: Record<string, string[]>;
  /** `{ "error": message, "code": "SILO_VALIDATION", "field": "tenant" }` (`field` for validation errors only) */
  body: string;
  isBase64Encoded: false;
}

type Dict<T = unknown> = Record<string, T>;

interface LooseEvent {
  version?: unknown;
  httpMethod?: unknown;
  path?: unknown;
  rawPath?: unknown;
  rawQueryString?: unknown;
  headers?: Dict<string | undefined> | null;
  multiValueHeaders?: Dict<string[] | undefined> | null;
  queryStringParameters?: Dict<string | undefined> | null;
  multiValueQueryStringParameters?: Dict<string[] | undefined> | null;
  pathParameters?: Dict<string | undefined> | null;
  requestContext?: {
    elb?: unknown;
    http?: { method?: unknown; path?: unknown };
    domainName?: unknown;
    authorizer?: Dict | null;
  };
}

/** Which shape an event has, from the fields that tell them apart. */
export function lambdaEventKind(event: unknown): LambdaEventKind {
  if (typeof event !== "object" || event === null) return "other";
  const e = event as LooseEvent;
  const rc = typeof e.requestContext === "object" && e.requestContext !== null ? e.requestContext : undefined;
  if (rc?.elb !== undefined) return "alb";
  if (e.version === "2.0" && typeof rc?.http === "object") {
    return typeof rc.domainName === "string" && rc.domainName.includes(".lambda-url.") ? "function-url" : "http-api-v2";
  }
  if (typeof e.httpMethod === "string" && rc !== undefined) return "api-gateway-v1";
  return "other";
}

/** The neutral view of a Lambda event; non-HTTP events give an empty view with the event as `raw`. */
export function lambdaRequestView<E>(event: E, kind: LambdaEventKind = lambdaEventKind(event)): SiloRequestView<E> {
  if (kind === "other") {
    return { header: () => undefined, url: "", method: "", params: {}, claims: undefined, raw: event };
  }
  const e = event as LooseEvent;
  let headers: Map<string, string> | undefined;
  const headerMap = (): Map<string, string> => {
    if (headers) return headers;
    headers = new Map();
    for (const [k, v] of Object.entries(e.multiValueHeaders ?? {})) if (v?.[0] !== undefined) headers.set(k.toLowerCase(), v[0]);
    for (const [k, v] of Object.entries(e.headers ?? {})) if (typeof v === "string") headers.set(k.toLowerCase(), v);
    return headers;
  };
  const header = (name: string): string | undefined => headerMap().get(name.toLowerCase());
  return {
    header,
    get url() {
      const proto = header("x-forwarded-proto")?.split(",")[0]?.trim() || "https";
      const rc = e.requestContext;
      const host = header("host") ?? (typeof rc?.domainName === "string" ? rc.domainName : "localhost");
      if (kind === "http-api-v2" || kind === "function-url") {
        const query = typeof e.rawQueryString === "string" && e.rawQueryString !== "" ? `?${e.rawQueryString}` : "";
        return `${proto}://${host}${typeof e.rawPath === "string" ? e.rawPath : "/"}${query}`;
      }
      // API Gateway decodes query values; ALB passes them as sent (still encoded).
      const encode = kind === "alb" ? (s: string) => s : encodeURIComponent;
      const pairs: string[] = [];
      if (e.multiValueQueryStringParameters) {
        for (const [k, vs] of Object.entries(e.multiValueQueryStringParameters)) for (const v of vs ?? []) pairs.push(`${encode(k)}=${encode(v)}`);
      } else {
        for (const [k, v] of Object.entries(e.queryStringParameters ?? {})) if (v !== undefined) pairs.push(`${encode(k)}=${encode(v)}`);
      }
      return `${proto}://${host}${typeof e.path === "string" ? e.path : "/"}${pairs.length > 0 ? `?${pairs.join("&")}` : ""}`;
    },
    get method() {
      const m = kind === "api-gateway-v1" || kind === "alb" ? e.httpMethod : e.requestContext?.http?.method;
      return typeof m === "string" ? m.toUpperCase() : "";
    },
    get params() {
      return e.pathParameters ?? {};
    },
    get claims() {
      return authorizerClaims(e.requestContext?.authorizer, kind);
    },
    raw: event,
  };
}

/**
 * Claims of the request's authorizer: a JWT authorizer's `jwt.claims` (HTTP API), a Cognito
 * authorizer's `claims` (REST), a Lambda authorizer's context (`lambda` on HTTP API, the
 * authorizer object itself on REST).
 */
function authorizerClaims(authorizer: Dict | null | undefined, kind: LambdaEventKind): Dict | undefined {
  if (typeof authorizer !== "object" || authorizer === null) return undefined;
  const jwt = authorizer.jwt as { claims?: unknown } | undefined;
  for (const candidate of [jwt?.claims, authorizer.claims, authorizer.lambda]) {
    if (typeof candidate === "object" && candidate !== null) return candidate as Dict;
  }
  return kind === "api-gateway-v1" ? authorizer : undefined;
}

/** The 400 result for an HTTP event, in the shape its integration expects. */
export function badRequestResult(event: unknown, kind: LambdaEventKind, error: SiloValidationError): SiloLambdaErrorResult {
  return errorResult(event, kind, {
    status: 400,
    headers: { "content-type": "application/json; charset=utf-8" },
    body: { error: error.message, code: error.code, field: error.field },
  });
}

/** An error answer for an HTTP event, in the shape its integration expects. */
export function errorResult(event: unknown, kind: LambdaEventKind, answer: SiloErrorResponse): SiloLambdaErrorResult {
  const body = JSON.stringify(answer.body);
  if (kind === "alb") {
    const multi = typeof (event as LooseEvent).multiValueHeaders === "object" && (event as LooseEvent).multiValueHeaders !== null;
    return {
      statusCode: answer.status,
      statusDescription: `${answer.status} ${STATUS_TEXT[answer.status] ?? "Error"}`,
      ...(multi
        ? { multiValueHeaders: Object.fromEntries(Object.entries(answer.headers).map(([k, v]) => [k, [v]])) }
        : { headers: { ...answer.headers } }),
      body,
      isBase64Encoded: false,
    };
  }
  return { statusCode: answer.status, headers: { ...answer.headers }, body, isBase64Encoded: false };
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};
