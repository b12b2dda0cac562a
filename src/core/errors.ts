import { Code, ConnectError } from "./rpc-error.js";

/**
 * Stable error codes. Branch on `error.code`, not on messages or class names: codes never change
 * between releases, messages may.
 */
export type SiloErrorCode =
  | "validation"
  | "configuration"
  | "job_not_found"
  | "job_already_exists"
  | "job_not_terminal"
  | "invalid_argument"
  | "failed_precondition"
  | "unauthenticated"
  | "permission_denied"
  | "resource_exhausted"
  | "unavailable"
  | "deadline_exceeded"
  | "cancelled"
  | "unimplemented"
  | "internal";

/** Options shared by every Silo error. */
export interface SiloErrorOptions {
  /** The underlying error (usually a `ConnectError`). */
  cause?: unknown;
  /** gRPC status code name of the server's answer, when there was one. */
  grpcCode?: string;
}

/** Base class of every error this package throws. */
export class SiloError extends Error {
  override name = "SiloError";
  /** Stable, machine-readable code. */
  readonly code: SiloErrorCode;
  /** gRPC status code name of the server's answer (`"NOT_FOUND"`...), when there was one. */
  readonly grpcCode: string | undefined;
  /**
   * On errors from `enqueue` (other than validation): the id the job was sent with, generated
   * or given. After an `unavailable` or `deadline_exceeded` error the job may exist anyway; look
   * it up with `client.handle(jobId, tenant)`, or enqueue again with `id: jobId` and treat
   * `JobAlreadyExistsError` as success.
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
    super("validation", `invalid ${field}: ${problem}`);
    this.field = field;
  }
}

/** Configuration (options, environment variables, bindings) is missing or malformed. */
export class SiloConfigurationError extends SiloError {
  override name = "SiloConfigurationError";
  /** Every problem found, one per setting. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super("configuration", `silo-edge is not configured: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/** No job with that id exists (on the tenant's shard). */
export class JobNotFoundError extends SiloError {
  override name = "JobNotFoundError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("job_not_found", message, options);
  }
}

/** A job with the requested id already exists. */
export class JobAlreadyExistsError extends SiloError {
  override name = "JobAlreadyExistsError";
  /** The id that was taken. */
  override jobId: string;
  constructor(jobId: string, message: string, options?: SiloErrorOptions) {
    super("job_already_exists", message, options);
    this.jobId = jobId;
  }
}

/** The job has no result yet: it is still scheduled or running. */
export class JobNotTerminalError extends SiloError {
  override name = "JobNotTerminalError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("job_not_terminal", message, options);
  }
}

/** The server rejected an argument (INVALID_ARGUMENT). */
export class SiloInvalidArgumentError extends SiloError {
  override name = "SiloInvalidArgumentError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("invalid_argument", message, options);
  }
}

/** The job or server is not in a state that allows the call (FAILED_PRECONDITION). */
export class SiloFailedPreconditionError extends SiloError {
  override name = "SiloFailedPreconditionError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("failed_precondition", message, options);
  }
}

/** Missing or wrong token (UNAUTHENTICATED). */
export class SiloUnauthenticatedError extends SiloError {
  override name = "SiloUnauthenticatedError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("unauthenticated", message, options);
  }
}

/** The token is valid but not allowed to do this (PERMISSION_DENIED). */
export class SiloPermissionDeniedError extends SiloError {
  override name = "SiloPermissionDeniedError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("permission_denied", message, options);
  }
}

/** A server limit was hit, such as the maximum message size (RESOURCE_EXHAUSTED). */
export class SiloResourceExhaustedError extends SiloError {
  override name = "SiloResourceExhaustedError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("resource_exhausted", message, options);
  }
}

/** No server could be reached, or it stayed unavailable through every retry. */
export class SiloUnavailableError extends SiloError {
  override name = "SiloUnavailableError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("unavailable", message, options);
  }
}

/** The call's deadline (`timeoutMs`, or a Lambda's remaining time) passed. */
export class SiloDeadlineExceededError extends SiloError {
  override name = "SiloDeadlineExceededError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("deadline_exceeded", message, options);
  }
}

/** The caller's `signal` aborted the call. */
export class SiloCancelledError extends SiloError {
  override name = "SiloCancelledError";
  constructor(message: string, options?: SiloErrorOptions) {
    super("cancelled", message, options);
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

const ALREADY_EXISTS = /job already exists with id (.*)$/;

/**
 * Turns anything a call threw into a `SiloError`, keeping the server's message and the original
 * error as `cause`. `context` names the operation for messages, e.g. `"GetJob job-1"`.
 */
export function toSiloError(err: unknown, context: string): SiloError {
  if (err instanceof SiloError) return err;
  const ce = ConnectError.from(err);
  const grpcCode = CODE_NAMES[ce.code] ?? "UNKNOWN";
  const opts: SiloErrorOptions = { cause: err, grpcCode };
  const message = `${context}: ${ce.rawMessage} (${grpcCode})`;
  const dup = ALREADY_EXISTS.exec(ce.rawMessage);
  if (dup && (ce.code === Code.Internal || ce.code === Code.AlreadyExists)) {
    return new JobAlreadyExistsError(dup[1] ?? "", message, opts);
  }
  // connect reports some malformed responses (a truncated or garbage frame) as INVALID_ARGUMENT;
  // the caller's arguments were fine, the server's answer was not.
  if (ce.rawMessage.startsWith("protocol error")) {
    return new SiloError("internal", `${context}: the server's response was malformed: ${ce.rawMessage} (${grpcCode})`, opts);
  }
  switch (ce.code) {
    case Code.NotFound:
      return ce.rawMessage.startsWith("job not found")
        ? new JobNotFoundError(message, opts)
        : new SiloError("internal", message, opts);
    case Code.AlreadyExists:
      return new JobAlreadyExistsError("", message, opts);
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return new SiloInvalidArgumentError(message, opts);
    case Code.FailedPrecondition:
      return ce.rawMessage.startsWith("job is not complete")
        ? new JobNotTerminalError(message, opts)
        : new SiloFailedPreconditionError(message, opts);
    case Code.Unauthenticated:
      return new SiloUnauthenticatedError(message, opts);
    case Code.PermissionDenied:
      return new SiloPermissionDeniedError(message, opts);
    case Code.ResourceExhausted:
      return new SiloResourceExhaustedError(message, opts);
    case Code.Unavailable:
      return new SiloUnavailableError(message, opts);
    case Code.DeadlineExceeded:
      return new SiloDeadlineExceededError(message, opts);
    case Code.Canceled:
      return new SiloCancelledError(message, opts);
    case Code.Unimplemented:
      return new SiloError("unimplemented", message, opts);
    default:
      return new SiloError("internal", message, opts);
  }
}
