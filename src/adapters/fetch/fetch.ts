import { SiloValidationError } from "../../core/errors.js";
import { httpErrorFor } from "../../core/http-error.js";
import { createScopeFactory, type SiloAdapterOptions, type SiloScope } from "../../core/request-scope.js";
import type { SiloRequestView } from "../../core/request-view.js";

/** Options of `withSilo()` for fetch handlers. */
export interface SiloFetchOptions extends SiloAdapterOptions<Request> {
  /**
   * Keeps the runtime alive for a background enqueue after the response: Next.js's `after`,
   * a Worker's `ctx.waitUntil`, or `(promise) => void promise` on a long-running server.
   * Default: none, and `enqueueInBackground` waits for the enqueue.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** A handler of a web `Request` that also receives the request's Silo scope, second. */
export type SiloFetchHandler<Rest extends unknown[]> = (request: Request, silo: SiloScope, ...rest: Rest) => Response | Promise<Response>;

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * Wraps any `(request, ...rest) => Response` handler (Next.js App Router route handlers, Remix /
 * React Router actions and loaders via `request`, SvelteKit `+server` handlers via
 * `event.request`, `Bun.serve`, `Deno.serve`) so it receives the request's Silo scope as its second
 * argument; the runtime's own arguments follow. Without `client`, `SILO_*` settings are read from
 * `process.env` now. A missing (with `required`) or invalid tenant answers 400 JSON before the
 * handler runs; a `SiloError` the handler throws is answered from the shared table
 * (core/http-error.ts); any other error propagates.
 */
export function withSilo<Rest extends unknown[] = []>(
  handler: SiloFetchHandler<Rest>,
  options: SiloFetchOptions = {},
): (request: Request, ...rest: Rest) => Promise<Response> {
  if (typeof handler !== "function") throw new SiloValidationError("handler", "must be a function (request, silo, ...rest) => Response");
  const { waitUntil, errorResponse } = options;
  if (waitUntil !== undefined && typeof waitUntil !== "function") throw new SiloValidationError("waitUntil", "must be a function");
  const factory = createScopeFactory<Request>(options, { extraKeys: ["waitUntil"] });

  return async function siloFetchHandler(request, ...rest) {
    const outcome = await factory.scopeFor(fetchRequestView(request), waitUntil ? { waitUntil } : {});
    if (!outcome.ok) {
      const { error } = outcome;
      return new Response(JSON.stringify({ error: error.message, code: error.code, field: error.field }), { status: 400, headers: { "content-type": JSON_TYPE } });
    }
    try {
      return await handler(request, outcome.scope, ...rest);
    } catch (err) {
      const answer = httpErrorFor(err, errorResponse);
      if (answer === undefined) throw err;
      return new Response(JSON.stringify(answer.body), { status: answer.status, headers: answer.headers });
    }
  };
}

/** The neutral view of a web `Request`. Route parameters belong to the framework: none here. */
export function fetchRequestView(request: Request): SiloRequestView<Request> {
  return {
    header: (name) => request.headers.get(name) ?? undefined,
    get url() {
      return request.url;
    },
    get method() {
      return request.method;
    },
    params: {},
    claims: undefined,
    raw: request,
  };
}
