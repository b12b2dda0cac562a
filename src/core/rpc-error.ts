// gRPC status codes and the error the transports raise, without loading @connectrpc/connect:
// its index pulls in some 50 modules (and @bufbuild/protobuf's reflection), which an unbundled
// `import("silo-edge")` paid for on every cold start although the enqueue path never used them.
//
// The error is shaped like Connect's `ConnectError` (same name, fields and message format), and
// Connect's own `instanceof ConnectError` accepts any error of that shape, so errors raised here
// pass through Connect clients and interceptors (the `silo-edge/connect` and `silo-edge/node`
// transports) as real Connect errors. Our `instanceof ConnectError` accepts Connect's in turn.

/** gRPC status codes, with the same names and values as Connect's `Code`. */
export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** An error detail as received on the wire (a `google.protobuf.Any`). */
export interface IncomingDetail {
  type: string;
  value: Uint8Array;
  debug?: unknown;
}

/** `invalid_argument` for `Code.InvalidArgument`, as gRPC and Connect spell codes in text. */
export function codeToString(code: Code): string {
  const name = Code[code] as string | undefined;
  if (name === undefined) return String(code);
  return name[0]!.toLowerCase() + name.slice(1).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export class ConnectError extends Error {
  /** The status code. */
  readonly code: Code;
  /** Response headers and trailers that came with the error. */
  readonly metadata: Headers;
  /** Error details (from `grpc-status-details-bin` or a Connect error body). */
  details: IncomingDetail[];
  /** The message without the `[code]` prefix. */
  readonly rawMessage: string;
  override cause: unknown;
  /** True when the error came from the server's status, not from this side. */
  isWireError = false;

  constructor(message: string, code: Code = Code.Unknown, metadata?: ConstructorParameters<typeof Headers>[0], details?: IncomingDetail[], cause?: unknown) {
    super(message.length > 0 ? `[${codeToString(code)}] ${message}` : `[${codeToString(code)}]`);
    this.name = "ConnectError";
    Object.setPrototypeOf(this, new.target.prototype);
    this.rawMessage = message;
    this.code = code;
    this.metadata = new Headers(metadata ?? {});
    this.details = details ?? [];
    this.cause = cause;
  }

  /** `reason` if it already is a Connect-shaped error; else one wrapping it (aborts become `Canceled`). */
  static from(reason: unknown, code: Code = Code.Unknown): ConnectError {
    if (reason instanceof ConnectError) return reason;
    if (reason instanceof Error) {
      if (reason.name === "AbortError" || reason.name === "TimeoutError") return new ConnectError(reason.message, Code.Canceled);
      return new ConnectError(reason.message, code, undefined, undefined, reason);
    }
    return new ConnectError(String(reason), code, undefined, undefined, reason);
  }

  /** Accepts Connect's own errors (and any error of the same shape), as Connect does for ours. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!(value instanceof Error)) return false;
    if (Object.getPrototypeOf(value) === ConnectError.prototype) return true;
    const v = value as Error & Record<string, unknown>;
    return (
      v.name === "ConnectError" &&
      typeof v.code === "number" &&
      "metadata" in v &&
      Array.isArray(v.details) &&
      typeof v.rawMessage === "string" &&
      "cause" in v
    );
  }
}
