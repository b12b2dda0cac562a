import type { Context } from "aws-lambda";
import { SiloValidationError } from "../../core/errors.js";
import { createScopeFactory, type RequestContext, type SiloAdapterOptions, type SiloScope, type SiloScopeFactory } from "../../core/request-scope.js";
import { checkInt } from "../../core/validation.js";
import { badRequestResult, errorResult, lambdaEventKind, lambdaRequestView, type SiloLambdaErrorResult } from "./lambda-event.js";
import { httpErrorFor } from "../../core/http-error.js";

/** The Lambda context with the invocation's Silo scope on `context.silo`. */
export type SiloContext = Context & { silo: SiloScope };

/** A handler wrapped by `withSilo()`. */
export type SiloHandler<E = unknown, R = unknown> = (event: E, context: SiloContext) => Promise<R>;

/** Options of `withSilo()` and `siloMiddy()`. */
export interface SiloLambdaOptions<E = unknown> extends SiloAdapterOptions<E> {
  /**
   * Milliseconds kept free before the Lambda timeout: every call's deadline is
   * `context.getRemainingTimeInMillis() - safetyMarginMs`, so a slow server gives
   * `SiloDeadlineExceededError` while the handler can still answer. Default 500.
   */
  safetyMarginMs?: number;
}

const DEFAULT_SAFETY_MARGIN_MS = 500;

/** What `withSilo()` and `siloMiddy()` share: the scope of one invocation, or the 400 to answer. */
function createInvocationScope<E>(options: SiloLambdaOptions<E>): (event: E, context: Context) => Promise<{ scope: SiloScope } | { reject: SiloLambdaErrorResult }> {
  const { safetyMarginMs = DEFAULT_SAFETY_MARGIN_MS } = options;
  checkInt("safetyMarginMs", safetyMarginMs, 0, 2 ** 31 - 1);
  const factory: SiloScopeFactory<E> = createScopeFactory<E>(options, { extraKeys: ["safetyMarginMs"] });
  return async (event, context) => {
    const kind = lambdaEventKind(event);
    const remaining = typeof context?.getRemainingTimeInMillis === "function" ? () => context.getRemainingTimeInMillis() - safetyMarginMs : undefined;
    const request: RequestContext = remaining ? { deadlineMs: remaining } : {};
    const outcome = await factory.scopeFor(lambdaRequestView(event, kind), request);
    if (outcome.ok) return { scope: outcome.scope };
    // A queue or schedule event has no response to carry a 400: fail the invocation instead.
    if (kind === "other") throw outcome.error;
    return { reject: badRequestResult(event, kind, outcome.error) };
  };
}

/**
 * Wraps a Lambda handler so it receives the invocation's Silo scope as `context.silo`. Tenants are
 * read from API Gateway REST (v1), HTTP API (v2), ALB and Function URL events, and from any other
 * event through a resolver over `req.raw`. Without `client`, `SILO_*` settings are read from
 * `process.env` now (at cold start), every problem reported in one `SiloConfigurationError`.
 * An HTTP event with a missing (with `required`) or invalid tenant is answered with a 400 result
 * before the handler runs; any other event then fails the invocation with `SiloValidationError`.
 */
export function withSilo<E = unknown, R = unknown>(handler: SiloHandler<E, R>, options: SiloLambdaOptions<E> = {}): (event: E, context: Context) => Promise<R | SiloLambdaErrorResult> {
  if (typeof handler !== "function") throw new SiloValidationError("handler", "must be a function (event, context) => Promise<result>");
  const scopeFor = createInvocationScope(options);
  const { errorResponse } = options;
  return async function siloHandler(event, context) {
    const result = await scopeFor(event, context);
    if ("reject" in result) return result.reject;
    try {
      return await handler(event, Object.assign(context, { silo: result.scope }));
    } catch (err) {
      // HTTP events answer a SiloError from the shared table; other events fail the invocation.
      const kind = lambdaEventKind(event);
      const answer = kind === "other" ? undefined : httpErrorFor(err, errorResponse);
      if (answer === undefined) throw err;
      return errorResult(event, kind, answer);
    }
  };
}

/** The part of a middy request `siloMiddy()` reads and writes. */
export interface SiloMiddyRequest<E = unknown> {
  event: E;
  context: Context;
}

/** A middy middleware object (`@middy/core` `MiddlewareObj`). */
export interface SiloMiddyMiddleware<E = unknown> {
  name: string;
  before: (request: SiloMiddyRequest<E>) => Promise<SiloLambdaErrorResult | undefined>;
}

/**
 * The middy form of `withSilo()`: `middy(handler).use(siloMiddy(options))` sets `context.silo`
 * before the handler, or answers 400 without running it. Type the handler's context as `SiloContext`.
 */
export function siloMiddy<E = unknown>(options: SiloLambdaOptions<E> = {}): SiloMiddyMiddleware<E> {
  const scopeFor = createInvocationScope(options);
  return {
    name: "silo",
    async before(request) {
      const result = await scopeFor(request.event, request.context);
      if ("reject" in result) return result.reject;
      Object.assign(request.context, { silo: result.scope });
      return undefined;
    },
  };
}
