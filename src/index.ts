// silo-edge: the Silo job-queue client for serverless and edge runtimes.

export { SiloGRPCClient, SiloClient, DEFAULT_TENANT_ROUTE } from "./core/silo-client.js";
export type { SiloRpcClient, AttemptOptions } from "./core/silo-client.js";
export { JobHandle } from "./core/job-handle.js";
export type { AwaitResultOptions } from "./core/job-handle.js";
export type { SiloClientOptions, CallOptions, TokenOption } from "./core/client-options.js";
export type { SiloLogger, LogFields } from "./core/logger.js";
export type { SiloTlsOptions, PemInput } from "./core/tls-options.js";
export type { EnqueueOptions } from "./core/enqueue-options.js";
export type { EnqueueManyOptions, EnqueueManyResult } from "./core/enqueue-many.js";
export { DEFAULT_PRIORITY } from "./core/enqueue-options.js";
export { JobStatus, AttemptStatus, GubernatorAlgorithm } from "./core/job-types.js";
export type {
  Int64Like,
  RetryPolicy,
  ConcurrencyLimit,
  RateLimit,
  RateLimitRetryPolicy,
  FloatingConcurrencyLimit,
  JobLimit,
  Job,
  JobAttempt,
  JobResult,
} from "./core/job-types.js";
export {
  SiloError,
  SiloValidationError,
  SiloConfigurationError,
  JobNotFoundError,
  JobAlreadyExistsError,
  JobNotTerminalError,
  SiloInvalidArgumentError,
  SiloFailedPreconditionError,
  SiloUnauthenticatedError,
  SiloPermissionDeniedError,
  SiloResourceExhaustedError,
  SiloUnavailableError,
  SiloDeadlineExceededError,
  SiloCancelledError,
  toSiloError,
} from "./core/errors.js";
export type { SiloErrorCode, SiloErrorOptions } from "./core/errors.js";
export { hashTenant } from "./core/tenant-hash.js";
export { Topology } from "./core/topology.js";
export type { ShardRoute, TopologySnapshot } from "./core/topology.js";
export { createMemoryTopologyStore, createKvTopologyStore } from "./core/topology-store.js";
export type { TopologyStore, KvLike, KvTopologyStoreOptions } from "./core/topology-store.js";
export { clearTopologyCache } from "./core/topology-cache.js";
export type { Protocol } from "./core/protocol.js";
export type { ServerAddress, ServersOption } from "./core/server-address.js";
export { encodePayload, decodePayload } from "./core/payload-codec.js";
export { createRequestScope, createScopeFactory, resolveTenant } from "./core/request-scope.js";
export type {
  SiloScope,
  SiloAdapterOptions,
  BackgroundEnqueueFailure,
  RequestContext,
  RequestScopeOptions,
  ScopeOutcome,
  SiloScopeFactory,
} from "./core/request-scope.js";
export type { SiloRequestView } from "./core/request-view.js";
export { siloHttpError } from "./core/http-error.js";
export type { SiloErrorResponse, SiloErrorResponseHandler } from "./core/http-error.js";
export { fromHeader, fromSubdomain, fromRouteParam, fromQueryParam, fromJwtClaim, fixedTenant, firstOf } from "./core/tenant-resolvers.js";
export type { TenantResolver, TenantValue, FromSubdomainOptions } from "./core/tenant-resolvers.js";
export { clientFromEnv, clientOptionsFromEnv } from "./core/env-config.js";
export type { SiloEnv, SiloClientOption, EnvSource } from "./core/env-config.js";
