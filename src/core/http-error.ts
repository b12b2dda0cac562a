import {
  SiloDeadlineExceededError,
  SiloError,
  SiloInvalidArgumentError,
  SiloResourceExhaustedError,
  SiloUnavailableError,
  SiloValidationError,
} from "./errors.js";

/** The HTTP answer an adapter gives for a `SiloError` a handler let through. */
export interface SiloErrorResponse {
  /** HTTP status. */
  status: number;
  /** Response headers (`content-type`, and `retry-after` for 503 and 429). */
  headers: Record<string, string>;
  /** JSON body: the message, the stable code, and the field for validation errors. */
  body: { error: string; code: string; field?: string };
}

/**
 * Replaces the default answer for an error: return the answer to send, or `undefined` to keep
 * `response`. Called once per failed request, with the error and the table's answer for it.
 */
export type SiloErrorResponseHandler = (failure: { error: SiloError; response: SiloErrorResponse }) => SiloErrorResponse | undefined;

/** Seconds a client should wait before retrying a 503 or 429: the client's own backoff ceiling. */
export const RETRY_AFTER_SECONDS = 2;

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * The one table every adapter uses to answer a failed Silo call over HTTP (README, "Errors"):
 *
 * | error | status |
 * | --- | --- |
 * | `SiloValidationError` (a bad option, a missing or invalid tenant) | 400 |
 * | `SiloInvalidArgumentError` (the server refused an argument, e.g. no tenant with tenancy on) | 400 |
 * | `SiloUnavailableError`, `SiloDeadlineExceededError` | 503, `Retry-After: 2` |
 * | `SiloResourceExhaustedError`: request too large | 413 |
 * | `SiloResourceExhaustedError`: any other limit | 429, `Retry-After: 2` |
 * | any other `SiloError` | 500 |
 *
 * Branches on classes, not on code strings, so renamed codes keep their statuses.
 */
export function siloHttpError(error: SiloError): SiloErrorResponse {
  const body: SiloErrorResponse["body"] = { error: error.message, code: error.code };
  const headers: Record<string, string> = { "content-type": JSON_TYPE };
  let status = 500;
  if (error instanceof SiloValidationError) {
    status = 400;
    body.field = error.field;
  } else if (error instanceof SiloInvalidArgumentError) {
    status = 400;
  } else if (error instanceof SiloUnavailableError || error instanceof SiloDeadlineExceededError) {
    status = 503;
    headers["retry-after"] = String(RETRY_AFTER_SECONDS);
  } else if (error instanceof SiloResourceExhaustedError) {
    // The server says "message too large" / "larger than max" for oversized requests; every other
    // RESOURCE_EXHAUSTED is a quota that frees up with time.
    if (/too large|larger than/i.test(error.message)) {
      status = 413;
    } else {
      status = 429;
      headers["retry-after"] = String(RETRY_AFTER_SECONDS);
    }
  }
  return { status, headers, body };
}

/**
 * The answer for `error` when it is a `SiloError`, after the adapter's `errorResponse` option had
 * its say; `undefined` for anything else, which the adapter leaves to the framework.
 */
export function httpErrorFor(error: unknown, override: SiloErrorResponseHandler | undefined): SiloErrorResponse | undefined {
  if (!(error instanceof SiloError)) return undefined;
  const response = siloHttpError(error);
  if (override === undefined) return response;
  try {
    return override({ error, response }) ?? response;
  } catch (e) {
    console.error("silo-edge: errorResponse threw; answering with the default", e);
    return response;
  }
}
