import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { EnvSource } from "../../core/env-config.js";
import { SiloValidationError } from "../../core/errors.js";
import { httpErrorFor } from "../../core/http-error.js";
import { createScopeFactory, type SiloAdapterOptions, type SiloScope } from "../../core/request-scope.js";
import type { SiloRequestView } from "../../core/request-view.js";

/** What `silo()` puts on the context: `c.var.silo` and `c.var.enqueue`. */
export type SiloVariables = {
  /** The request's Silo scope, bound to its tenant. */
  silo: SiloScope;
  /** `c.var.silo.enqueue`, for short. */
  enqueue: SiloScope["enqueue"];
};

/** Options of `silo()`. */
export interface SiloHonoOptions extends SiloAdapterOptions<Context> {
  /**
   * Keeps the runtime alive for a background enqueue after the response. Default: the request's
   * `c.executionCtx.waitUntil` where the runtime has one (Cloudflare Workers); elsewhere (Node)
   * `enqueueInBackground` waits for the enqueue. On a long-running Node server you may pass
   * `(promise) => void promise` to answer first.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/**
 * Hono middleware that puts the request's Silo scope on `c.var.silo` (and `c.var.enqueue`).
 * Without `client`, `SILO_*` settings are read from the Worker bindings (`c.env`), falling back to
 * `process.env`, on each request; clients are reused across requests with the same settings.
 * A missing (with `required`) or invalid tenant answers 400 through `HTTPException`; a `SiloError`
 * the handler throws is answered from the shared table (core/http-error.ts) unless an
 * `app.onError` of your own answered it.
 */
export function silo(options: SiloHonoOptions = {}): MiddlewareHandler<{ Variables: SiloVariables }> {
  const { waitUntil, errorResponse } = options;
  if (waitUntil !== undefined && typeof waitUntil !== "function") throw new SiloValidationError("waitUntil", "must be a function");
  const factory = createScopeFactory<Context>(options, { envPerRequest: true, extraKeys: ["waitUntil"] });

  return async function siloMiddleware(c, next) {
    const outcome = await factory.scopeFor(honoRequestView(c), {
      env: bindingsOf(c),
      ...(waitUntil ? { waitUntil } : executionWaitUntil(c)),
    });
    if (!outcome.ok) {
      const { error } = outcome;
      const body = JSON.stringify({ error: error.message, code: error.code, field: error.field });
      throw new HTTPException(400, {
        message: error.message,
        cause: error,
        res: new Response(body, { status: 400, headers: { "content-type": "application/json; charset=utf-8" } }),
      });
    }
    c.set("silo", outcome.scope);
    c.set("enqueue", outcome.scope.enqueue);
    await next();
    // Hono has already turned a handler's throw into c.error and app.onError's answer. Replace
    // only Hono's default answer (a plain-text 500): an app.onError of your own keeps the last word.
    if (c.error !== undefined && isDefaultErrorAnswer(c.res)) {
      const answer = httpErrorFor(c.error, errorResponse);
      if (answer !== undefined) c.res = new Response(JSON.stringify(answer.body), { status: answer.status, headers: answer.headers });
    }
  };
}

/** Hono's built-in onError answer: `c.text("Internal Server Error", 500)`. */
function isDefaultErrorAnswer(res: Response): boolean {
  return res.status === 500 && (res.headers.get("content-type") ?? "").startsWith("text/plain");
}

/** The neutral view of a Hono request; fields are read only when a resolver asks. */
export function honoRequestView(c: Context): SiloRequestView<Context> {
  return {
    header: (name) => c.req.header(name),
    get url() {
      return c.req.url;
    },
    get method() {
      return c.req.method;
    },
    get params() {
      return c.req.param() as Record<string, string | undefined>;
    },
    get claims() {
      const payload: unknown = c.get("jwtPayload" as never);
      return typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : undefined;
    },
    raw: c,
  };
}

function bindingsOf(c: Context): EnvSource | undefined {
  const env: unknown = c.env;
  return typeof env === "object" && env !== null ? (env as EnvSource) : undefined;
}

/** `c.executionCtx` throws on runtimes without one (Node), so probe it. */
function executionWaitUntil(c: Context): { waitUntil?: (promise: Promise<unknown>) => void } {
  let ctx: { waitUntil?: unknown } | undefined;
  try {
    ctx = c.executionCtx as { waitUntil?: unknown };
  } catch {
    return {};
  }
  if (typeof ctx?.waitUntil !== "function") return {};
  const w = ctx.waitUntil as (promise: Promise<unknown>) => void;
  return { waitUntil: (promise) => w.call(ctx, promise) };
}
