import type { CallOptions } from "./client-options.js";
import { clientFromEnv, clientSource, type EnvSource, type SiloClientOption } from "./env-config.js";
import { buildEnqueueRequest, type EnqueueJobOptions } from "./enqueue-options.js";
import { SiloDeadlineExceededError, SiloValidationError, toSiloError, type SiloError } from "./errors.js";
import { type AwaitJobOptions, JobHandle, type JobOperations } from "./job-handle.js";
import type { Job, JobResult, JobStatus } from "./job-types.js";
import type { SiloRequestView } from "./request-view.js";
import type { SiloGRPCClient } from "./silo-client.js";
import type { TenantResolver } from "./tenant-resolvers.js";
import { checkBool, checkJobId, checkKnownKeys, checkObject, checkTenant } from "./validation.js";
import { checkResolvedTenant } from "./resolved-tenant.js";
import type { SiloErrorResponseHandler } from "./http-error.js";
import type { SiloLogger } from "./logger.js";

/** What `onError` receives when a background enqueue fails. */
export interface BackgroundEnqueueFailure {
  /** Why the enqueue failed. */
  error: SiloError;
  /** The options the enqueue was called with. */
  options: EnqueueJobOptions;
  /** The tenant the job was for; undefined for the default tenant. */
  tenant: string | undefined;
  /** The job id that was returned to the caller. */
  id: string;
}

/**
 * The Silo object of one request, bound to the request's tenant. Every call made through it is
 * capped by the request's deadline when the adapter has one (Lambda's remaining time).
 */
export interface SiloScope {
  /** The request's tenant; undefined for the default tenant. */
  readonly tenant: string | undefined;
  /** The client behind this scope. */
  readonly client: SiloGRPCClient;
  /**
   * Enqueues a job for the request's tenant and returns its handle. `options.tenant` may only
   * repeat it, unless the middleware was created with `allowTenantOverride: true`.
   */
  enqueue<P = unknown>(options: EnqueueJobOptions<P>, callOptions?: CallOptions): Promise<JobHandle>;
  /**
   * Enqueues without making the response wait where the runtime can finish work after it
   * (`waitUntil`); elsewhere it waits for the enqueue. Resolves with the job id, generated here.
   * Invalid options throw at once; a failed enqueue is reported to `onError`.
   */
  enqueueInBackground<P = unknown>(options: EnqueueJobOptions<P>): Promise<string>;
  /** A handle for an existing job of this tenant. */
  handle(id: string): JobHandle;
  /** Full job details, payload decoded. */
  getJob(id: string, options?: CallOptions & { includeAttempts?: boolean }): Promise<Job>;
  /** The job's status. */
  getJobStatus(id: string, options?: CallOptions): Promise<JobStatus>;
  /** The outcome of a finished job; `JobNotTerminalError` while it is scheduled or running. */
  getJobResult<T = unknown>(id: string, options?: CallOptions): Promise<JobResult<T>>;
  /** Polls until the job finishes and resolves with its outcome. */
  awaitResult<T = unknown>(id: string, options?: AwaitJobOptions): Promise<JobResult<T>>;
  /** Cancels a job. */
  cancelJob(id: string, options?: CallOptions): Promise<void>;
  /** Deletes a finished job. */
  deleteJob(id: string, options?: CallOptions): Promise<void>;
  /** Runs a failed or cancelled job again. */
  restartJob(id: string, options?: CallOptions): Promise<void>;
  /** Starts a job scheduled for later now. */
  expediteJob(id: string, options?: CallOptions): Promise<void>;
}

/** Options every adapter takes (`silo()`, `siloMiddleware()`, `withSilo()`). */
export interface SiloAdapterOptions<Raw = unknown> {
  /**
   * The client: a `SiloGRPCClient`, or options to build one (built once, when the middleware is
   * created). Default: built from `SILO_SERVERS`, `SILO_TOKEN`, `SILO_USE_TLS`, `SILO_PROTOCOL`
   * (Worker bindings or `process.env`), and reused by every request with the same settings.
   */
  client?: SiloClientOption;
  /**
   * Finds the request's tenant, e.g. `fromHeader("x-tenant-id")` or `(req) => req.header("x-tenant-id")`.
   * Default: none; every job goes to the default tenant.
   */
  tenant?: TenantResolver<Raw>;
  /**
   * Answer requests that name no tenant with 400, before the handler runs. Default false: such
   * requests use the default tenant. An invalid tenant (empty, over 64 characters) is a 400 either way.
   */
  required?: boolean;
  /**
   * Let a handler enqueue for another tenant than the request's (`enqueue({ tenant })`). Default
   * false: a different `tenant` throws `SiloValidationError` for `tenant`, so a handler that
   * passes user input along cannot write into another tenant's queue.
   */
  allowTenantOverride?: boolean;
  /**
   * Called when an `enqueueInBackground` job could not be enqueued. Default: `console.error`
   * with the job id and tenant. Errors thrown here are logged, never rethrown.
   */
  onError?: (failure: BackgroundEnqueueFailure) => void | Promise<void>;
  /**
   * Changes how a `SiloError` thrown by the handler is answered over HTTP: receives the error and
   * the default answer from the table in core/http-error.ts (400, 503 with Retry-After, 413, 429,
   * 500) and returns the answer to send, or `undefined` to keep the default. Default: the table.
   */
  errorResponse?: SiloErrorResponseHandler;
}

/** What an adapter knows about one request, beyond its view. */
export interface RequestContext {
  /** Worker bindings to read `SILO_*` settings from when no client was configured. */
  env?: EnvSource;
  /** Keeps the runtime alive for a promise after the response (Workers' `waitUntil`). Default: none. */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * Milliseconds left for the next call (Lambda: remaining time minus a safety margin), asked
   * before each call; undefined for no cap. Default: no cap beyond the client's `timeoutMs`.
   */
  deadlineMs?: () => number | undefined;
}

/** The outcome of building a request's scope: the scope, or why the request is a 400. */
export type ScopeOutcome = { ok: true; scope: SiloScope } | { ok: false; status: 400; error: SiloValidationError };

/** Builds the scope of each request; what every adapter calls. */
export interface SiloScopeFactory<Raw> {
  /** Resolves the tenant and builds the scope. Throws `SiloConfigurationError` for missing settings. */
  scopeFor(view: SiloRequestView<Raw>, context?: RequestContext): Promise<ScopeOutcome>;
}

const OPTION_KEYS = ["client", "tenant", "required", "allowTenantOverride", "onError", "errorResponse"] as const;

/**
 * Checks an adapter's options and prepares its client. With `envPerRequest` (Hono, whose bindings
 * are known only per request) a missing client is built from each request's `env`; otherwise it is
 * built from `process.env` now, so configuration problems surface when the middleware is created.
 */
export function createScopeFactory<Raw>(
  options: SiloAdapterOptions<Raw>,
  { envPerRequest = false, extraKeys = [] }: { envPerRequest?: boolean; extraKeys?: readonly string[] } = {},
): SiloScopeFactory<Raw> {
  const o = checkObject("options", options);
  checkKnownKeys("", o, [...OPTION_KEYS, ...extraKeys]);
  const { tenant: resolver, required = false, allowTenantOverride = false, onError } = options;
  if (resolver !== undefined && typeof resolver !== "function") {
    throw new SiloValidationError("tenant", "must be a function of the request, e.g. fromHeader(\"x-tenant-id\")");
  }
  checkBool("required", required);
  checkBool("allowTenantOverride", allowTenantOverride);
  if (onError !== undefined && typeof onError !== "function") throw new SiloValidationError("onError", "must be a function");
  if (options.errorResponse !== undefined && typeof options.errorResponse !== "function") {
    throw new SiloValidationError("errorResponse", "must be a function ({ error, response }) => response | undefined");
  }
  if (required && resolver === undefined) {
    throw new SiloValidationError("tenant", "is needed with required: true (otherwise every request would be rejected)");
  }
  const clientFor = options.client === undefined && envPerRequest ? clientFromEnv : clientSource(options.client);
  // Read process.env now, so a missing setting fails at start-up instead of on a request.
  if (!envPerRequest) clientFor();

  return {
    async scopeFor(view, context = {}) {
      let tenant: string | undefined;
      try {
        tenant = await resolveTenant(view, resolver, required);
      } catch (err) {
        if (err instanceof SiloValidationError && err.field === "tenant") return { ok: false, status: 400, error: err };
        throw err;
      }
      const client = clientFor(context.env);
      return { ok: true, scope: createRequestScope({ client, tenant, allowTenantOverride, ...(onError ? { onError } : {}), ...context }) };
    },
  };
}

/**
 * The request's tenant from `resolver`: undefined for the default tenant, or
 * `SiloValidationError` for field `tenant` when it is missing but required, or invalid.
 */
export async function resolveTenant<Raw>(view: SiloRequestView<Raw>, resolver: TenantResolver<Raw> | undefined, required: boolean): Promise<string | undefined> {
  const value = resolver === undefined ? undefined : await resolver(view);
  if (value === undefined || value === null) {
    if (required) throw new SiloValidationError("tenant", "is required, and this request names none");
    return undefined;
  }
  return checkResolvedTenant("tenant", value);
}

/** Options of `createRequestScope()`. */
export interface RequestScopeOptions extends Omit<RequestContext, "env"> {
  client: SiloGRPCClient;
  /** The resolved, validated tenant; undefined for the default tenant. */
  tenant: string | undefined;
  /** See `SiloAdapterOptions.onError`. Default: the client's `logger.error`, else `console.error`. */
  onError?: (failure: BackgroundEnqueueFailure) => void | Promise<void>;
  /** See `SiloAdapterOptions.allowTenantOverride`. Default false. */
  allowTenantOverride?: boolean;
  /**
   * Changes how a `SiloError` thrown by the handler is answered over HTTP: receives the error and
   * the default answer from the table in core/http-error.ts (400, 503 with Retry-After, 413, 429,
   * 500) and returns the answer to send, or `undefined` to keep the default. Default: the table.
   */
  errorResponse?: SiloErrorResponseHandler;
}

/** The scope of one request, for a tenant resolved already. */
export function createRequestScope({
  client,
  tenant,
  waitUntil,
  deadlineMs,
  onError = (failure) => logBackgroundFailure(failure, client),
  allowTenantOverride = false,
}: RequestScopeOptions): SiloScope {
  checkTenant("tenant", tenant);
  checkBool("allowTenantOverride", allowTenantOverride);
  const cap = <O extends CallOptions>(op: string, options: O | undefined): O | undefined => {
    const remaining = deadlineMs?.();
    if (remaining === undefined) return options;
    if (!(remaining > 0)) throw new SiloDeadlineExceededError(`${op}: no time left within this request's deadline`);
    const base = options?.timeoutMs ?? clientTimeout(client);
    return { ...options, timeoutMs: Math.max(1, Math.floor(Math.min(base, remaining))) } as O;
  };

  // Handles returned by the scope keep its deadline. Async, so a spent deadline rejects, never throws.
  const ops: JobOperations = {
    getJob: async (id, t, o) => client.getJob(id, t, cap("GetJob", o)),
    getJobStatus: async (id, t, o) => client.getJobStatus(id, t, cap("GetJob", o)),
    getJobResult: async <T>(id: string, t: string | undefined, o?: CallOptions) => client.getJobResult<T>(id, t, cap("GetJobResult", o)),
    awaitJobResult: <T>(id: string, t: string | undefined, o?: AwaitJobOptions) => {
      const remaining = deadlineMs?.();
      if (remaining === undefined) return client.awaitJobResult<T>(id, t, o);
      if (!(remaining > 0)) return Promise.reject(new SiloDeadlineExceededError(`awaitResult(${id}): no time left within this request's deadline`));
      const timeoutMs = Math.max(1, Math.floor(Math.min(o?.timeoutMs ?? Infinity, remaining)));
      return client.awaitJobResult<T>(id, t, { ...o, timeoutMs });
    },
    cancelJob: async (id, t, o) => client.cancelJob(id, t, cap("CancelJob", o)),
    deleteJob: async (id, t, o) => client.deleteJob(id, t, cap("DeleteJob", o)),
    restartJob: async (id, t, o) => client.restartJob(id, t, cap("RestartJob", o)),
    expediteJob: async (id, t, o) => client.expediteJob(id, t, cap("ExpediteJob", o)),
  };
  const withTenant = <P>(options: EnqueueJobOptions<P>): EnqueueJobOptions<P> => {
    const o = checkObject("options", options) as unknown as EnqueueJobOptions<P>;
    if (o.tenant !== undefined && o.tenant !== tenant && !allowTenantOverride) {
      throw new SiloValidationError(
        "tenant",
        `${JSON.stringify(String(o.tenant).slice(0, 80))} differs from this request's tenant (${tenant === undefined ? "the default tenant" : JSON.stringify(tenant)}); ` +
          "a request scope enqueues only for its own tenant. Drop options.tenant, or create the middleware with allowTenantOverride: true",
      );
    }
    return o.tenant !== undefined || tenant === undefined ? o : { ...o, tenant };
  };
  const enqueue = async <P>(options: EnqueueJobOptions<P>, callOptions?: CallOptions): Promise<JobHandle> => {
    const handle = await client.enqueue(withTenant(options), cap("Enqueue", callOptions));
    return new JobHandle(ops, handle.id, handle.tenant);
  };

  return {
    tenant,
    client,
    enqueue,
    async enqueueInBackground(options) {
      const given = (options as { id?: unknown } | undefined)?.id;
      const id = given === undefined ? crypto.randomUUID() : checkJobId("id", given);
      const full = { ...withTenant(options), id };
      // Validate now, so a programming error throws here instead of surfacing only in onError.
      buildEnqueueRequest(full as EnqueueJobOptions, id);
      const jobTenant = full.tenant;
      const done = enqueue(full).then(
        () => undefined,
        async (err: unknown) => {
          const error = toSiloError(err, `Enqueue ${id}`);
          try {
            await onError({ error, options: full as EnqueueJobOptions, tenant: jobTenant, id });
          } catch (hookErr) {
            console.error(`silo-edge: onError threw while reporting the failed background enqueue of job ${id}:`, hookErr, "; the enqueue failed with:", error);
          }
        },
      );
      if (waitUntil) waitUntil(done);
      else await done;
      return id;
    },
    handle: (id) => new JobHandle(ops, checkJobId("id", id), tenant),
    getJob: (id, o) => ops.getJob(id, tenant, o),
    getJobStatus: (id, o) => ops.getJobStatus(id, tenant, o),
    getJobResult: <T>(id: string, o?: CallOptions) => ops.getJobResult<T>(id, tenant, o),
    awaitResult: <T>(id: string, o?: AwaitJobOptions) => ops.awaitJobResult<T>(id, tenant, o),
    cancelJob: (id, o) => ops.cancelJob(id, tenant, o),
    deleteJob: (id, o) => ops.deleteJob(id, tenant, o),
    restartJob: (id, o) => ops.restartJob(id, tenant, o),
    expediteJob: (id, o) => ops.expediteJob(id, tenant, o),
  };
}

/** The default `onError`: never lose a failed background enqueue silently. */
function logBackgroundFailure({ error, tenant, id }: BackgroundEnqueueFailure, client: SiloGRPCClient): void {
  // The client's logger when it has one (structured, as a log pipeline wants it), else console.
  const logger = (client as { logger?: SiloLogger }).logger;
  if (logger !== undefined) {
    logger.error({ jobId: id, tenant, code: error.code, error: error.message }, "silo-edge: background enqueue failed");
    return;
  }
  console.error(`silo-edge: background enqueue of job ${id}${tenant === undefined ? "" : ` for tenant ${JSON.stringify(tenant)}`} failed: ${error.message}`, error);
}

function clientTimeout(client: SiloGRPCClient): number {
  const t = (client as { timeoutMs?: unknown }).timeoutMs;
  return typeof t === "number" && t > 0 ? t : 10_000;
}
