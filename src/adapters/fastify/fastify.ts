import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SiloValidationError } from "../../core/errors.js";
import { httpErrorFor, type SiloErrorResponseHandler } from "../../core/http-error.js";
import { createScopeFactory, type SiloAdapterOptions, type SiloScope } from "../../core/request-scope.js";
import type { SiloRequestView } from "../../core/request-view.js";

declare module "fastify" {
  // Declaration merging is how Fastify types what plugins decorate the request with.
  interface FastifyRequest {
    /** The request's Silo scope, bound to its tenant; set by the `siloPlugin` plugin. */
    silo: SiloScope;
  }
}

/** Options of `app.register(siloPlugin, options)`. */
export interface SiloFastifyOptions extends Omit<SiloAdapterOptions<FastifyRequest>, "errorResponse"> {
  /**
   * Lets `enqueueInBackground` answer before the enqueue finishes, e.g. `(promise) => void promise`
   * on a long-running server. Default: none, and `enqueueInBackground` waits for the enqueue.
   */
  waitUntil?: (promise: Promise<unknown>) => void;
}

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * Fastify (5) plugin that puts the request's Silo scope on `request.silo`, in a `preHandler` hook
 * (so authentication hooks such as `@fastify/jwt`'s have run). It applies to the routes of the
 * scope it is registered in and that scope's children: register it inside `app.register(async
 * (orders) => ...)` to give only those routes a scope. Without `client`, `SILO_*` settings are read
 * from `process.env` when the plugin is registered, and every problem fails the registration
 * (`await app.register(...)` or `app.ready()`). A missing (with `required`) or invalid tenant answers
 * 400 JSON `{ error, code, field }` before the handler runs. Errors from handlers are Fastify's:
 * `app.setErrorHandler(siloErrorHandler())` answers `SiloError`s from the shared table.
 */
export async function siloPlugin(fastify: FastifyInstance, options: SiloFastifyOptions): Promise<void> {
  // Fastify passes {} when register() got no options; anything else is checked by the factory.
  const { waitUntil } = options;
  if (waitUntil !== undefined && typeof waitUntil !== "function") throw new SiloValidationError("waitUntil", "must be a function");
  const factory = createScopeFactory<FastifyRequest>(options, { extraKeys: ["waitUntil"] });
  const context = waitUntil ? { waitUntil } : {};

  // Fastify 5 refuses reference types as decorator defaults; null keeps every request the same shape.
  if (!fastify.hasRequestDecorator("silo")) fastify.decorateRequest("silo", null as unknown as SiloScope);
  fastify.addHook("preHandler", async (request, reply) => {
    const outcome = await factory.scopeFor(fastifyRequestView(request), context);
    if (!outcome.ok) {
      const { error } = outcome;
      return reply.code(400).type(JSON_TYPE).send(JSON.stringify({ error: error.message, code: error.code, field: error.field }));
    }
    request.silo = outcome.scope;
    return undefined;
  });
}
// What fastify-plugin does, without the dependency: the hook and decorator apply to the scope the
// plugin is registered in, not to a private child scope.
Object.assign(siloPlugin, { [Symbol.for("skip-override")]: true, [Symbol.for("fastify.display-name")]: "silo-edge" });

/** Options of `siloErrorHandler()`. */
export interface SiloErrorHandlerOptions {
  /** Changes the answer for an error (see the adapters' `errorResponse`). Default: the shared table. */
  errorResponse?: SiloErrorResponseHandler;
}

/**
 * A Fastify error handler (`app.setErrorHandler(siloErrorHandler())`) answering every `SiloError`
 * from the shared table (core/http-error.ts): validation and missing tenant 400, unavailable or
 * deadline 503 with `Retry-After`, request too large 413, other limits 429, the rest 500, as JSON
 * `{ error, code, field? }`. Any other error is thrown on, to the parent scope's error handler
 * (in the root scope, Fastify's default).
 */
export function siloErrorHandler(options: SiloErrorHandlerOptions = {}): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const { errorResponse } = options;
  if (errorResponse !== undefined && typeof errorResponse !== "function") throw new SiloValidationError("errorResponse", "must be a function");
  return function siloErrorAnswer(error, _request, reply) {
    const answer = httpErrorFor(error, errorResponse);
    if (answer === undefined) throw error;
    return reply.code(answer.status).headers(answer.headers).send(JSON.stringify(answer.body));
  };
}

/** The neutral view of a Fastify request; fields are read only when a resolver asks. */
export function fastifyRequestView(request: FastifyRequest): SiloRequestView<FastifyRequest> {
  return {
    header: (name) => {
      const value = request.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    get url() {
      return `${request.protocol}://${request.host || "localhost"}${request.url}`;
    },
    get method() {
      return request.method;
    },
    get params() {
      const params: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries((request.params ?? {}) as Record<string, unknown>)) params[k] = typeof v === "string" ? v : undefined;
      return params;
    },
    get claims() {
      // @fastify/jwt puts the verified payload on request.user.
      const user = (request as { user?: unknown }).user;
      return typeof user === "object" && user !== null ? (user as Record<string, unknown>) : undefined;
    },
    raw: request,
  };
}
