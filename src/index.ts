// silo-edge: the Silo job-queue client for serverless and edge runtimes.

export { SiloGRPCClient, SiloClient } from "./core/silo-client.js";
export type { SiloRpcClient } from "./core/silo-client.js";
export { SiloJobClient } from "./core/job-client-protocols.js";
export { DEFAULT_TENANT_ROUTE } from "./core/silo-job-client.js";
export type { SiloJobRpcClient, AttemptOptions } from "./core/silo-job-client.js";
export { JobHandle } from "./core/job-handle.js";
export type { ImportJobOptions, ImportAttemptOptions, ImportJobResult } from "./core/import-jobs.js";
export type { QueryBindParameter, QueryColumnInfo, QueryResult } from "./core/query.js";
export type { AwaitJobOptions } from "./core/job-handle.js";
export type { SiloGRPCClientOptions, ShardRoutingConfig, RpcOptionsLike, CallOptions, TokenOption } from "./core/client-options.js";
export type { SiloLogger, LogFields } from "./core/logger.js";
export type { SiloTlsOptions, PemInput } from "./core/tls-options.js";
export type { EnqueueJobOptions } from "./core/enqueue-options.js";
export type { EnqueueManyOptions, EnqueueManyResult } from "./core/enqueue-many.js";
export { DEFAULT_PRIORITY } from "./core/enqueue-options.js";
export { JobStatus, AttemptStatus, GubernatorAlgorithm, GubernatorBehavior } from "./core/job-types.js";
export type {
  Int64Like,
  RetryPolicy,
  ConcurrencyLimitConfig,
  RateLimitConfig,
  RateLimitRetryPolicyConfig,
  FloatingConcurrencyLimitConfig,
  JobLimit,
  Job,
  JobAttempt,
  JobResult,
  GetJobOptions,
} from "./core/job-types.js";
export type {
  SerializedBytes,
  ConcurrencyLimit,
  FloatingConcurrencyLimit,
  GubernatorRateLimit,
  Limit,
  RawTask,
  RefreshTask,
  LeaseTaskOptions,
  LeaseTasksOptions,
  LeaseTasksResult,
  SuccessOutcome,
  FailureOutcome,
  CancelledOutcome,
  TaskOutcome,
  ReportOutcomeOptions,
  RefreshSuccessOutcome,
  RefreshFailureOutcome,
  RefreshOutcome,
  ReportRefreshOutcomeOptions,
  HeartbeatResult,
  ShardInfoWithRange,
  ShardOwner,
} from "./core/task-types.js";
export { shardForTenant, initHasher } from "./core/shard-lookup.js";
export {
  SiloError,
  SiloValidationError,
  SiloConfigurationError,
  SiloGrpcError,
  SiloNotFoundError,
  SiloAlreadyExistsError,
  JobNotFoundError,
  JobAlreadyExistsError,
  JobNotTerminalError,
  TaskNotFoundError,
  TaskLeaseLostError,
  DuplicateTaskDeliveryError,
  SiloInvalidArgumentError,
  SiloFailedPreconditionError,
  SiloUnauthenticatedError,
  SiloPermissionDeniedError,
  SiloResourceExhaustedError,
  SiloUnavailableError,
  SiloDeadlineExceededError,
  SiloCancelledError,
  toSiloError,
  isConnectivityError,
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
export { encodeBytes, decodeBytes, tolerantDecodeAttemptBytes } from "./core/upstream-bytes.js";
export { PayloadDecodeError } from "./core/payload-decode-error.js";
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
export { SiloWorker } from "./worker/silo-worker.js";
export type {
  SiloWorkerOptions,
  TaskContext,
  TaskHandler,
  RefreshTaskContext,
  RefreshHandler,
} from "./worker/silo-worker-types.js";
export type { Task, CancellationReason } from "./worker/silo-task.js";
export { WorkerMetrics } from "./worker/worker-metrics.js";
export type { OtelMeter, OtelCounter, OtelObservableGauge, OtelAttributes } from "./core/otel-types.js";
