import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from "express";
import { SiloValidationError } from "../../core/errors.js";
import { httpErrorFor, type SiloErrorResponseHandler } from "../../core/http-error.js";
import { createScopeFactory, type SiloAdapterOptions, type SiloScope } from "../../core/request-scope.js";
import type { SiloRequestView } from "../../core/request-view.js";

declare global {
  // Declaration merging is how Express types what middleware adds to `req`.
  namespace Express {
    interface Request {
      /** The request's Silo scope, bound to its tenant; set by `siloMiddleware()`. */
      silo: SiloScope;
    }
  }
}

/** Options of `siloMiddleware()`. */
export interface SiloExpressOptions extends SiloAdapterOptions<Request> {
  /**
   * Lets `enqueueInBackground` answer before the enqueue finishes, e.g. `(promise) => void promise`
   * on a long-running server. Default: none, and `enqueueInBackground` waits for the enqueue (safe
   * where the process may be frozen after the response, as behind serverless-http).
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** The 400 error `siloMiddleware()` hands to `next()`: Express's error handlers read `status`. */
export type SiloHttpError = SiloValidationError & { status: 400; statusCode: 400; expose: true };

/**
 * Express (4 and 5) middleware that puts the request's Silo scope on `req.silo`. Without `client`,
 * `SILO_*` settings are read from `process.env` now, and every problem is thrown here at once.
 * A missing (with `required`) or invalid tenant goes to `next(err)` with `err.status` 400; any
 * other failure goes to `next(err)` as is.
 */
export function siloMiddleware(options: SiloExpressOptions = {}): RequestHandler {
  const { waitUntil } = options;
  if (waitUntil !== undefined && typeof waitUntil !== "function") throw new SiloValidationError("waitUntil", "must be a function");
  const factory = createScopeFactory<Request>(options, { extraKeys: ["waitUntil"] });

  return function silo(req: Request, _res: Response, next: NextFunction): void {
    factory.scopeFor(expressRequestView(req), waitUntil ? { waitUntil } : {}).then(
      (outcome) => {
        if (!outcome.ok) {
          next(Object.assign(outcome.error, { status: 400 as const, statusCode: 400 as const, expose: true as const }) satisfies SiloHttpError);
          return;
        }
        req.silo = outcome.scope;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

/** Options of `siloErrorHandler()`. */
export interface SiloErrorHandlerOptions {
  /** Changes the answer for an error (see the adapters' `errorResponse`). Default: the shared table. */
  errorResponse?: SiloErrorResponseHandler;
}

/**
 * Express error middleware answering every `SiloError` from the shared table (core/http-error.ts):
 * validation and missing tenant 400, unavailable or deadline 503 with `Retry-After`, request too
 * large 413, other limits 429, the rest 500, as JSON `{ error, code, field? }`. Other errors, and
 * errors after the response started, go on to the next error handler. Register it after the routes.
 */
export function siloErrorHandler(options: SiloErrorHandlerOptions = {}): ErrorRequestHandler {
  const { errorResponse } = options;
  if (errorResponse !== undefined && typeof errorResponse !== "function") throw new SiloValidationError("errorResponse", "must be a function");
  return function siloErrorAnswer(err: unknown, _req: Request, res: Response, next: NextFunction): void {
    const answer = res.headersSent ? undefined : httpErrorFor(err, errorResponse);
    if (answer === undefined) {
      next(err);
      return;
    }
    res.status(answer.status).set(answer.headers).send(JSON.stringify(answer.body));
  };
}

/** The neutral view of an Express request; fields are read only when a resolver asks. */
export function expressRequestView(req: Request): SiloRequestView<Request> {
  return {
    header: (name) => {
      const value: string | string[] | undefined = req.get(name);
      return Array.isArray(value) ? value[0] : value;
    },
    get url() {
      return `${req.protocol}://${req.get("host") ?? "localhost"}${req.originalUrl}`;
    },
    get method() {
      return req.method;
    },
    get params() {
      // Express 5 gives wildcard parameters (`/*path`) as arrays of segments.
      const params: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries((req.params ?? {}) as Record<string, unknown>)) {
        params[k] = Array.isArray(v) ? v.join("/") : typeof v === "string" ? v : undefined;
      }
      return params;
    },
    get claims() {
      // express-jwt puts the payload on req.auth; express-oauth2-jwt-bearer puts { payload, header, token }.
      const auth = (req as { auth?: unknown }).auth;
      if (typeof auth !== "object" || auth === null) return undefined;
      const { payload, token } = auth as { payload?: unknown; token?: unknown };
      if (typeof token === "string" && typeof payload === "object" && payload !== null) return payload as Record<string, unknown>;
      return auth as Record<string, unknown>;
    },
    raw: req,
  };
}
