import { Code, ConnectError } from "./rpc-error.js";
import type { JobStatus } from "./job-types.js";

/**
 * Stable error codes, the same strings the upstream `@silo/client` uses where it has the class
 * (`SILO_JOB_NOT_FOUND`, `SILO_UNAVAILABLE`...), plus silo-edge's own. Branch on `error.code` or
 * `instanceof`, not on messages: codes never change between releases, messages may.
 */
export type SiloErrorCode =
  | "SILO_VALIDATION"
  | "SILO_CONFIGURATION"
  | "SILO_INTERNAL"
  | "SILO_TOPOLOGY_NOT_LOADED"
  | "SILO_GRPC_ERROR"
  | "SILO_NOT_FOUND"
  | "SILO_ALREADY_EXISTS"
  | "SILO_JOB_NOT_FOUND"
  | "SILO_JOB_ALREADY_EXISTS"
  | "SILO_JOB_NOT_TERMINAL"
  | "SILO_TASK_NOT_FOUND"
  | "SILO_TASK_LEASE_LOST"
  | "SILO_DUPLICATE_TASK_DELIVERY"
  | "SILO_INVALID_ARGUMENT"
  | "SILO_FAILED_PRECONDITION"
  | "SILO_UNAUTHENTICATED"
  | "SILO_PERMISSION_DENIED"
  | "SILO_RESOURCE_EXHAUSTED"
  | "SILO_UNAVAILABLE"
  | "SILO_DEADLINE_EXCEEDED"
  | "SILO_CANCELLED";

/** Options shared by every Silo error. */
export interface SiloErrorOptions {
  /** The underlying error (usually a `ConnectError`). */
  cause?: unknown;
  /**
   * gRPC status code name of the server's answer, when it differs from the class's own (a
   * duplicate id the stock server reports as INTERNAL, a connection reset reported as UNAVAILABLE).
   */
  grpcCode?: string;
  /** Names the operation in the message, e.g. `"GetJob"`: the message becomes `"<context>: <message>"`. */
  context?: string;
  /** Appended to the message in parentheses: the dev server's note on which flag fits. */
  hint?: string;
}

function withContext(message: string, options: SiloErrorOptions | undefined): string {
  const text = options?.hint ? `${message} (${options.hint})` : message;
  return options?.context ? `${options.context}: ${text}` : text;
}

/** Metadata silo-edge's dev server adds to some refusals, saying which flag fits (dev-server/errors.ts). */
const DEV_SERVER_HINT_HEADER = "x-silo-dev-server-hint";

/**
 * Base class of every error this package throws (the upstream client's classes included), so one
 * `instanceof SiloError` catches them all.
 */
export class SiloError extends Error {
  override name = "SiloError";
  /** Stable, machine-readable code. */
  readonly code: SiloErrorCode;
  /** gRPC status code name of the server's answer (`"NOT_FOUND"`...), when there was one. */
  readonly grpcCode: string | undefined;
  /**
   * On errors from `enqueue` (other than validation): the id the job was sent with, generated
   * or given. After a `SiloUnavailableError` or `SiloDeadlineExceededError` the job may exist
   * anyway; look it up with `client.handle(jobId, tenant)`, or enqueue again with `id: jobId` and
   * treat `JobAlreadyExistsError` as success.
   */
  jobId: string | undefined;

  constructor(code: SiloErrorCode, message: string, options: SiloErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.grpcCode = options.grpcCode;
    this.jobId = undefined;
  }
}

/** An option or argument was invalid; raised before any network call. */
export class SiloValidationError extends SiloError {
  override name = "SiloValidationError";
  /** Dotted path of the offending option, e.g. `"metadata.userId"` or `"limits[0].key"`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super("SILO_VALIDATION", `invalid ${field}: ${problem}`);
    this.field = field;
  }
}

/** Configuration (options, environment variables, bindings) is missing or malformed. */
export class SiloConfigurationError extends SiloError {
  override name = "SiloConfigurationError";
  /** Every problem found, one per setting. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super("SILO_CONFIGURATION", `silo-edge is not configured: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/**
 * A gRPC status the server (or the transport) answered with. `grpcMessage` is the status message
 * as received; subclasses exist for the codes callers branch on, and any other code (INTERNAL,
 * UNIMPLEMENTED...) is this class itself with code `SILO_GRPC_ERROR`.
 */
export class SiloGrpcError extends SiloError {
  override name = "SiloGrpcError";
  declare readonly grpcCode: string;
  /** The gRPC status message as received. */
  readonly grpcMessage: string;

  constructor(message: string, grpcCode: string, grpcMessage: string, options?: SiloErrorOptions & { code?: SiloErrorCode }) {
    super(options?.code ?? "SILO_GRPC_ERROR", withContext(message, options), { ...options, grpcCode: options?.grpcCode ?? grpcCode });
    this.grpcMessage = grpcMessage;
  }
}

/** Declares one `SiloGrpcError` subclass per status code: `(grpcMessage, options?)`. */
function grpcClass(code: SiloErrorCode, grpcCode: string): new (grpcMessage: string, options?: SiloErrorOptions) => SiloGrpcError {
  return class extends SiloGrpcError {
    constructor(grpcMessage: string, options?: SiloErrorOptions) {
      super(grpcMessage, grpcCode, grpcMessage, { ...options, code });
    }
  };
}

/** NOT_FOUND from a call that names no job or task. */
export class SiloNotFoundError extends grpcClass("SILO_NOT_FOUND", "NOT_FOUND") {
  override name = "SiloNotFoundError";
}

/** ALREADY_EXISTS from a call that names no job. */
export class SiloAlreadyExistsError extends grpcClass("SILO_ALREADY_EXISTS", "ALREADY_EXISTS") {
  override name = "SiloAlreadyExistsError";
}

/** The server rejected an argument (INVALID_ARGUMENT). */
export class SiloInvalidArgumentError extends grpcClass("SILO_INVALID_ARGUMENT", "INVALID_ARGUMENT") {
  override name = "SiloInvalidArgumentError";
}

/** The job or server is not in a state that allows the call (FAILED_PRECONDITION). */
export class SiloFailedPreconditionError extends grpcClass("SILO_FAILED_PRECONDITION", "FAILED_PRECONDITION") {
  override name = "SiloFailedPreconditionError";
}

/** Missing or wrong token (UNAUTHENTICATED), or a token function that failed. */
export class SiloUnauthenticatedError extends grpcClass("SILO_UNAUTHENTICATED", "UNAUTHENTICATED") {
  override name = "SiloUnauthenticatedError";
}

/** The token is valid but not allowed to do this (PERMISSION_DENIED), e.g. ResetShards outside dev mode. */
export class SiloPermissionDeniedError extends grpcClass("SILO_PERMISSION_DENIED", "PERMISSION_DENIED") {
  override name = "SiloPermissionDeniedError";
}

/** A server limit was hit, such as the maximum message size (RESOURCE_EXHAUSTED). */
export class SiloResourceExhaustedError extends grpcClass("SILO_RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED") {
  override name = "SiloResourceExhaustedError";
}

/** No server could be reached, or it stayed unavailable through every retry (UNAVAILABLE). */
export class SiloUnavailableError extends grpcClass("SILO_UNAVAILABLE", "UNAVAILABLE") {
  override name = "SiloUnavailableError";
}

/** The call's deadline (`timeoutMs`, or a Lambda's remaining time) passed (DEADLINE_EXCEEDED). */
export class SiloDeadlineExceededError extends grpcClass("SILO_DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED") {
  override name = "SiloDeadlineExceededError";
}

/** The caller's `signal` aborted the call (CANCELLED). silo-edge only: upstream has no signals. */
export class SiloCancelledError extends grpcClass("SILO_CANCELLED", "CANCELLED") {
  override name = "SiloCancelledError";
}

/**
 * Enqueueing an id that already exists. A `SiloAlreadyExistsError`; raised both for
 * ALREADY_EXISTS and for the stock server's `INTERNAL "job already exists with id <id>"` (then
 * `grpcCode` is "INTERNAL").
 */
export class JobAlreadyExistsError extends SiloAlreadyExistsError {
  override name = "JobAlreadyExistsError";
  /** The id that was taken. */
  override jobId: string | undefined;
  /** The tenant the enqueue named. */
  readonly tenant: string | undefined;

  constructor(jobId?: string, tenant?: string, grpcMessage?: string, options?: SiloErrorOptions) {
    const where = tenant ? ` in tenant "${tenant}"` : "";
    super(grpcMessage ?? (jobId ? `Job "${jobId}" already exists${where}` : `Job already exists${where}`), options);
    (this as { code: SiloErrorCode }).code = "SILO_JOB_ALREADY_EXISTS";
    this.jobId = jobId;
    this.tenant = tenant;
  }
}

/** No job with that id exists (on the tenant's shard): NOT_FOUND from a call that names a job. */
export class JobNotFoundError extends SiloError {
  override name = "JobNotFoundError";
  override jobId: string;
  /** The tenant the call named. */
  readonly tenant: string | undefined;

  constructor(jobId: string, tenant?: string, options?: SiloErrorOptions) {
    super("SILO_JOB_NOT_FOUND", withContext(`Job "${jobId}" not found${tenant ? ` in tenant "${tenant}"` : ""}`, options), options);
    this.jobId = jobId;
    this.tenant = tenant;
  }
}

/** `getJobResult` on a job that is still scheduled or running. */
export class JobNotTerminalError extends SiloError {
  override name = "JobNotTerminalError";
  override jobId: string;
  readonly tenant: string | undefined;
  /** The job's status when asked, when the client could read it. */
  readonly currentStatus: JobStatus | undefined;

  constructor(jobId: string, tenant?: string, currentStatus?: JobStatus, options?: SiloErrorOptions) {
    const where = tenant ? ` in tenant "${tenant}"` : "";
    const status = currentStatus ? ` (current status: ${currentStatus})` : "";
    super("SILO_JOB_NOT_TERMINAL", withContext(`Job "${jobId}"${where} is not in a terminal state${status}`, options), options);
    this.jobId = jobId;
    this.tenant = tenant;
    this.currentStatus = currentStatus;
  }
}

/** NOT_FOUND from a call that names a task (heartbeat, reportOutcome, reportRefreshOutcome): no such lease. */
export class TaskNotFoundError extends SiloError {
  override name = "TaskNotFoundError";
  readonly taskId: string;
  /** The server's message: "lease not found" for a missing lease, "shard not found" when routing gave up. */
  readonly grpcMessage: string | undefined;

  constructor(taskId: string, grpcMessage?: string, options?: SiloErrorOptions) {
    super("SILO_TASK_NOT_FOUND", withContext(`Task "${taskId}" not found${grpcMessage ? `: ${grpcMessage}` : ""}`, options), {
      grpcCode: "NOT_FOUND",
      ...options,
    });
    this.taskId = taskId;
    this.grpcMessage = grpcMessage;
  }
}

/** A worker learned that it no longer holds a task's lease; no outcome is reported for it. */
export class TaskLeaseLostError extends SiloError {
  override name = "TaskLeaseLostError";
  readonly taskId: string;
  override jobId: string;

  constructor(taskId: string, jobId: string, cause: Error) {
    super("SILO_TASK_LEASE_LOST", `Lease lost for task "${taskId}" (job "${jobId}"): ${cause.message}`, { cause });
    this.taskId = taskId;
    this.jobId = jobId;
  }
}

/** A worker was handed a task it is already running; the second delivery is dropped. */
export class DuplicateTaskDeliveryError extends SiloError {
  override name = "DuplicateTaskDeliveryError";
  readonly taskId: string;
  override jobId: string | undefined;

  constructor(taskId: string, jobId?: string) {
    super("SILO_DUPLICATE_TASK_DELIVERY", `Task "${taskId}"${jobId ? ` for job "${jobId}"` : ""} is already running on this worker; the repeated delivery was dropped`);
    this.taskId = taskId;
    this.jobId = jobId;
  }
}

const CODE_NAMES: Record<number, string> = {
  [Code.Canceled]: "CANCELLED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

/** The gRPC status name of a Connect code (`"NOT_FOUND"`). */
export function grpcCodeName(code: Code): string {
  return CODE_NAMES[code] ?? "UNKNOWN";
}

const ALREADY_EXISTS = /job already exists with id (.*)$/;

/** What a failed call addressed; decides the NOT_FOUND / ALREADY_EXISTS flavour, as upstream does. */
export interface ErrorSubject {
  /** The job the call named (job-addressed calls, and enqueue with an explicit id). */
  jobId?: string | undefined;
  /** The task the call named (heartbeat, reportOutcome, reportRefreshOutcome). */
  taskId?: string | undefined;
  tenant?: string | undefined;
}

/**
 * Turns anything a call threw into a `SiloError`, keeping the server's message and the original
 * error as `cause`. `context` names the operation for messages, e.g. `"GetJob"`; `subject` says
 * which job or task the call named, so NOT_FOUND becomes `JobNotFoundError` / `TaskNotFoundError`.
 */
export function toSiloError(err: unknown, context: string, subject: ErrorSubject = {}): SiloError {
  if (err instanceof SiloError) return err;
  const ce = ConnectError.from(err);
  const grpcCode = grpcCodeName(ce.code);
  const raw = ce.rawMessage;
  const hint = ce.metadata.get(DEV_SERVER_HINT_HEADER) ?? undefined;
  const opts: SiloErrorOptions = { cause: err, context, grpcCode, ...(hint ? { hint: hint.slice(0, 200) } : {}) };
  const dup = ALREADY_EXISTS.exec(raw);
  if (dup && (ce.code === Code.Internal || ce.code === Code.AlreadyExists)) {
    return new JobAlreadyExistsError(dup[1] ?? subject.jobId, subject.tenant, raw, opts);
  }
  // connect reports some malformed responses (a truncated or garbage frame) as INVALID_ARGUMENT;
  // the caller's arguments were fine, the server's answer was not.
  if (raw.startsWith("protocol error")) {
    return new SiloGrpcError(`the server's response was malformed: ${raw}`, "INTERNAL", raw, opts);
  }
  switch (ce.code) {
    case Code.NotFound:
      if (subject.taskId !== undefined) return new TaskNotFoundError(subject.taskId, raw, opts);
      // After routing gave up, "shard not found" says nothing about the job: keep it generic.
      if (subject.jobId !== undefined && !raw.startsWith("shard not found")) return new JobNotFoundError(subject.jobId, subject.tenant, opts);
      return new SiloNotFoundError(raw, opts);
    case Code.AlreadyExists:
      return subject.jobId !== undefined ? new JobAlreadyExistsError(subject.jobId, subject.tenant, raw, opts) : new SiloAlreadyExistsError(raw, opts);
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return new SiloInvalidArgumentError(raw, opts);
    case Code.FailedPrecondition:
      return new SiloFailedPreconditionError(raw, opts);
    case Code.Unauthenticated:
      return new SiloUnauthenticatedError(raw, opts);
    case Code.PermissionDenied:
      return new SiloPermissionDeniedError(raw, opts);
    case Code.ResourceExhausted:
      return new SiloResourceExhaustedError(raw, opts);
    case Code.Unavailable:
      return new SiloUnavailableError(raw, opts);
    case Code.DeadlineExceeded:
      return new SiloDeadlineExceededError(raw, opts);
    case Code.Canceled:
      return new SiloCancelledError(raw, opts);
    default:
      return new SiloGrpcError(raw, grpcCode, raw, opts);
  }
}

/**
 * True for errors a retry on a fresh connection or another node may cure: UNAVAILABLE,
 * DEADLINE_EXCEEDED, and INTERNAL from an HTTP/2 stream reset (`RST_STREAM`). Accepts this
 * package's errors, raw `ConnectError`s, and errors with a string status-name `code` such as
 * protobuf-ts's `RpcError` (what the upstream client's calls throw).
 */
export function isConnectivityError(error: unknown): boolean {
  let grpcCode: string | undefined;
  let message: string;
  if (error instanceof SiloError) {
    grpcCode = error.grpcCode;
    message = error instanceof SiloGrpcError ? error.grpcMessage : error.message;
  } else if (error instanceof ConnectError) {
    grpcCode = grpcCodeName(error.code);
    message = error.rawMessage;
  } else if (error instanceof Error && typeof (error as { code?: unknown }).code === "string") {
    // protobuf-ts's RpcError, which code written for @silo/client catches: `code` is the status
    // name ("UNAVAILABLE"), as upstream's isConnectivityError reads it (typescript_client/src/client.ts).
    grpcCode = (error as unknown as { code: string }).code;
    message = error.message;
  } else {
    return false;
  }
  if (error instanceof SiloUnavailableError || error instanceof SiloDeadlineExceededError) return true;
  if (grpcCode === "UNAVAILABLE" || grpcCode === "DEADLINE_EXCEEDED") return true;
  return grpcCode === "INTERNAL" && message.includes("RST_STREAM");
}
