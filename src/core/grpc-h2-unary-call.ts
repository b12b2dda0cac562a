import { Code, ConnectError } from "./rpc-error.js";
import { splitUnaryGrpcBody } from "./grpc-frame.js";
import { codeFromHttpStatus, decodeGrpcMessage, errorFromGrpcStatus } from "./grpc-status.js";
import { Http2DeliveryFailure } from "./delivery-failure.js";
import type { UnaryBytesResponse } from "./unary-channel.js";
import { ErrorCode } from "./h2/frames.js";
import { concatBlocks } from "./h2/hpack.js";
import { H2Stream, type H2Headers, type H2StreamHandler, type Http2ClientConnection } from "./h2/client-connection.js";
import type { H2ProtocolError } from "./h2/protocol-error.js";
import { contentTypeProto } from "./grpc-request-headers.js";

// One unary gRPC call on an HTTP/2 client connection (core/h2/client-connection.ts): response
// validation, caps, deadlines, resends after REFUSED_STREAM or a connection that died unsent.
// Runtime-neutral: where connections come from is the caller's H2SessionSource (Node's
// per-origin pool in src/node/http2-session-pool.ts; one connection per request in a Worker).

/** A connection as the call uses it; the source may keep more state on it. */
export interface H2SessionHandle {
  readonly session: Http2ClientConnection;
  /** Pending liveness check, shared by concurrent callers. */
  verifying: Promise<boolean> | undefined;
}

/** Where calls get their connections. Methods take the handles `get` returned. */
export interface H2SessionSource {
  /** `http://host:port` or `https://host:port`, for messages. */
  readonly origin: string;
  /** How long a call must wait before a new connection may be opened (reconnect backoff); 0 for now. */
  reconnectDelay(): number;
  /** The connection to use now, opened if needed. */
  get(): H2SessionHandle;
  /** True when `entry` must pass `verify` before it carries a call. */
  needsLivenessCheck(entry: H2SessionHandle): boolean;
  /** Resolves true when `entry` is usable; false drops it (the next `get` opens another). */
  verify(entry: H2SessionHandle): Promise<boolean>;
  /** A stream starts on `entry`. */
  retain(entry: H2SessionHandle): void;
  /** A stream on `entry` is over. */
  release(entry: H2SessionHandle): void;
  /** `entry` takes no new streams: forget it. */
  drop(entry: H2SessionHandle): void;
  /**
   * Give each call its own deadline timer instead of the process-wide shared one. workerd needs
   * it: a timer belongs to the request that set it and dies with it, and its callback must not
   * touch another request's connection. Default: false (shared timer, cheaper on Node).
   */
  readonly timerPerCall?: boolean;
}

/** What every call of one channel shares. */
export interface UnaryCallState {
  readonly sessions: H2SessionSource;
  readonly maxReceiveMessageBytes: number;
}

/** A successful unary response; `Headers` objects are built only if someone reads them. */
export class Http2UnaryResult implements UnaryBytesResponse {
  #header: Headers | undefined;
  #trailer: Headers | undefined;

  constructor(
    readonly rawHeaders: H2Headers,
    readonly rawTrailers: H2Headers | undefined,
    readonly bytes: Uint8Array,
  ) {}

  get header(): Headers {
    return (this.#header ??= toHeaders(this.rawHeaders, undefined));
  }

  get trailer(): Headers {
    return (this.#trailer ??= toHeaders(this.rawTrailers, undefined));
  }

  /** Headers and trailers together, as error metadata. */
  metadata(): Headers {
    return toHeaders(this.rawHeaders, this.rawTrailers);
  }
}

function toHeaders(a: H2Headers | undefined, b: H2Headers | undefined): Headers {
  const headers = new Headers();
  appendFields(headers, a);
  appendFields(headers, b);
  return headers;
}

function appendFields(target: Headers, source: H2Headers | undefined): void {
  if (source === undefined) return;
  for (const name of Object.keys(source)) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = source[name]!;
    try {
      if (typeof value === "string") target.append(name, value);
      else for (const v of value) target.append(name, v);
    } catch {
      // A value Headers rejects (non-Latin-1) is left out of the metadata rather than failing the call.
    }
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" || value === undefined ? value : value[0];
}

function isGrpcProtoContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const ct = value.toLowerCase();
  return (
    ct === contentTypeProto ||
    ct === "application/grpc" ||
    ct.startsWith("application/grpc+proto;") ||
    ct.startsWith("application/grpc;")
  );
}

/** How often one call is resent after REFUSED_STREAM before it fails as Unavailable. */
const MAX_REFUSALS = 2;

export class UnaryCall implements H2StreamHandler {
  readonly promise: Promise<Http2UnaryResult>;
  private resolve!: (result: Http2UnaryResult) => void;
  private reject!: (error: ConnectError) => void;
  private settled = false;
  /** The stream in flight; set exactly while this call holds a reference on `entry`. */
  private stream: H2Stream | undefined;
  private entry: H2SessionHandle | undefined;
  private reused = false;
  private retried = false;
  /** Times the server refused the stream (REFUSED_STREAM); resent up to MAX_REFUSALS times. */
  private refusals = 0;
  /** Date.now() at which the call fails with DEADLINE_EXCEEDED; Infinity without a deadline. */
  deadlineAt = Infinity;
  private responseHeaders: H2Headers | undefined;
  private trailers: H2Headers | undefined;
  private chunk: Uint8Array | undefined;
  private chunks: Uint8Array[] | undefined;
  /** Pending wait for the pool's reconnect backoff. */
  private backoffTimer: ReturnType<typeof setTimeout> | undefined;
  /** This call's own deadline timer, where the source asks for one (timerPerCall). */
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  /** Response body bytes received on the current stream. */
  private received = 0;
  /** Length the response's gRPC message declares; -1 until its 5-byte prefix arrived. */
  private declared = -1;

  constructor(
    private readonly state: UnaryCallState,
    private readonly headerBlock: Uint8Array,
    private readonly frame: Uint8Array,
    private readonly signal: AbortSignal | undefined,
    private readonly timeoutMs: number | undefined,
  ) {
    this.promise = new Promise<Http2UnaryResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (signal !== undefined) {
      if (signal.aborted) {
        this.fail(ConnectError.from(signal.reason, Code.Canceled));
        return;
      }
      signal.addEventListener("abort", this, { once: true });
    }
    if (timeoutMs !== undefined) {
      this.deadlineAt = Date.now() + timeoutMs;
      if (state.sessions.timerPerCall === true) this.deadlineTimer = setTimeout(() => this.deadlineExceeded(), Math.min(timeoutMs, 0x7fffffff));
      else trackDeadline(this);
    }
    this.start();
  }

  /** EventListener for the caller's AbortSignal (an object listener avoids a closure). */
  handleEvent(): void {
    this.fail(ConnectError.from(this.signal?.reason, Code.Canceled));
  }

  deadlineExceeded(): void {
    this.fail(new ConnectError(`the call exceeded its deadline of ${this.timeoutMs} ms`, Code.DeadlineExceeded));
  }

  private start(): void {
    const wait = this.state.sessions.reconnectDelay();
    if (wait > 0) {
      if (Date.now() + wait >= this.deadlineAt) {
        // As gRPC fails calls fast in TRANSIENT_FAILURE: waiting out a backoff that outlasts the
        // deadline would only turn "the server is down" into a deadline error.
        const message = `no connection to ${this.state.sessions.origin}: the last attempts failed and the next is ${Math.ceil(wait)} ms away, past this call's deadline`;
        this.failUnavailable(message, false);
        return;
      }
      // The last connection attempts failed: wait for the backoff (the deadline still holds).
      this.backoffTimer = setTimeout(() => {
        this.backoffTimer = undefined;
        if (!this.settled) this.start();
      }, wait);
      return;
    }
    const entry = this.state.sessions.get();
    if (entry.verifying !== undefined || this.state.sessions.needsLivenessCheck(entry)) {
      this.state.sessions.verify(entry).then(
        (alive) => {
          if (!this.settled) this.send(alive ? entry : this.state.sessions.get());
        },
        () => {
          if (!this.settled) this.send(this.state.sessions.get());
        },
      );
      return;
    }
    this.send(entry);
  }

  private send(entry: H2SessionHandle): void {
    this.entry = entry;
    // Only a connection that was already up can have died unnoticed; a failed fresh connect is
    // not worth repeating at once.
    this.reused = entry.session.connected;
    const stream = new H2Stream(this.headerBlock, this.frame, this);
    // The server gets no window for more than twice what we would accept (padding counts too).
    stream.recvBudget = 2 * (this.state.maxReceiveMessageBytes + 5);
    this.state.sessions.retain(entry);
    this.stream = stream;
    if (!entry.session.request(stream)) {
      this.streamDone();
      this.state.sessions.drop(entry);
      this.connectionFailed(false, new Error("the connection takes no new streams"));
    }
  }

  /** The stream is over (ended, reset, failed or cancelled): give back the connection reference. */
  private streamDone(): void {
    if (this.stream === undefined) return;
    this.stream = undefined;
    this.state.sessions.release(this.entry as H2SessionHandle);
  }

  onHeaders(headers: H2Headers, endStream: boolean): void {
    if (this.responseHeaders === undefined) this.responseHeaders = headers;
    else this.trailers = headers;
    if (endStream) {
      this.streamDone();
      this.complete();
    }
  }

  onData(chunk: Uint8Array, endStream: boolean): void {
    if (chunk.length > 0) {
      const received = (this.received += chunk.length);
      // Checked before the chunk is kept: nothing past the cap is buffered.
      if (this.declared >= 0 ? received > this.declared + 5 : received > this.state.maxReceiveMessageBytes + 5) {
        this.bodyTooLarge();
        return;
      }
      if (this.chunk === undefined) this.chunk = chunk;
      else (this.chunks ??= [this.chunk]).push(chunk);
      // Only a gRPC response has a length prefix; anything else is judged whole when it ends.
      if (this.declared < 0 && received >= 5 && this.isGrpcResponse()) {
        this.declared = this.declaredLength();
        if (this.declared > this.state.maxReceiveMessageBytes || received > this.declared + 5) {
          this.bodyTooLarge();
          return;
        }
      }
    }
    if (endStream) {
      this.streamDone();
      this.complete();
    }
  }

  onReset(errorCode: number): void {
    this.streamDone();
    if (errorCode === ErrorCode.REFUSED_STREAM) {
      // The server did not process it (RFC 9113 §8.7). A burst on a new connection, sent before
      // the server's stream limit was known, meets this; the limit is known now, so the resend
      // waits its turn.
      if (!this.settled && this.refusals++ < MAX_REFUSALS) {
        this.resetResponse();
        this.send(this.state.sessions.get());
        return;
      }
      this.retried = true; // a working connection that keeps refusing: no fresh-connection resend either
      this.connectionFailed(false, new Error("the server refused the stream (REFUSED_STREAM)"));
      return;
    }
    if (errorCode === ErrorCode.CANCEL) {
      // The server's cancel, not the caller's: Canceled would read as "your signal aborted it".
      this.failUnavailable(`${this.state.sessions.origin} cancelled the stream (RST_STREAM CANCEL); the request may have been processed`, true);
      return;
    }
    this.fail(
      new ConnectError(
        `the server reset the stream (HTTP/2 error code ${errorCode})`,
        codeFromRstCode(errorCode),
        this.metadataIfAny(),
      ),
    );
  }

  private isGrpcResponse(): boolean {
    const headers = this.responseHeaders;
    return headers !== undefined && first(headers[":status"]) === "200" && isGrpcProtoContentType(first(headers["content-type"]));
  }

  /** The gRPC length prefix of the response, from the first five bytes received. */
  private declaredLength(): number {
    const prefix = new Uint8Array(5);
    let n = 0;
    for (const part of this.chunks ?? [this.chunk!]) {
      for (let i = 0; i < part.length && n < 5; i++) prefix[n++] = part[i]!;
      if (n === 5) break;
    }
    return ((prefix[1]! << 24) >>> 0) + ((prefix[2]! << 16) | (prefix[3]! << 8) | prefix[4]!);
  }

  /** The response is over the receive cap, or carries more than its one message: stop reading it. */
  private bodyTooLarge(): void {
    const cap = this.state.maxReceiveMessageBytes;
    if (this.declared > cap) {
      this.fail(
        new ConnectError(
          `the response message declares ${this.declared} bytes, over maxReceiveMessageBytes (${cap})`,
          Code.ResourceExhausted,
        ),
      );
    } else if (this.declared >= 0) {
      this.fail(new ConnectError("protocol error: received extra output message for unary method", Code.Unimplemented));
    } else {
      this.fail(new ConnectError(`the response is over maxReceiveMessageBytes (${cap})`, Code.ResourceExhausted));
    }
  }

  onStreamError(error: H2ProtocolError): void {
    this.streamDone();
    const message = `${this.state.sessions.origin} answered with ${error.message}; the request reached the server and may have been processed`;
    this.fail(
      new ConnectError(message, Code.ResourceExhausted, undefined, undefined, new Http2DeliveryFailure(message, true, error)),
    );
  }

  onConnectionError(mayHaveBeenSent: boolean, cause: Error): void {
    this.streamDone();
    this.connectionFailed(mayHaveBeenSent, cause);
  }

  /** The response's metadata when its headers arrived, else none. */
  private metadataIfAny(): Headers | undefined {
    return this.responseHeaders === undefined ? undefined : this.metadata();
  }

  private metadata(): Headers {
    return toHeaders(this.responseHeaders, this.trailers);
  }

  /** The response ended cleanly: decide from HTTP status, content type, gRPC status and body. */
  private complete(): void {
    if (this.settled) return;
    const headers = this.responseHeaders;
    if (headers === undefined) {
      this.fail(new ConnectError("protocol error: the stream ended without response headers", Code.Internal));
      return;
    }
    const httpStatus = Number(first(headers[":status"]));
    if (httpStatus !== 200) {
      const message = first(headers["grpc-message"]);
      this.fail(
        new ConnectError(
          message === undefined ? `HTTP ${httpStatus}` : `HTTP ${httpStatus}: ${decodeGrpcMessage(message)}`,
          codeFromHttpStatus(Number.isInteger(httpStatus) ? httpStatus : 0),
          this.metadata(),
        ),
      );
      return;
    }
    const contentType = first(headers["content-type"]);
    if (!isGrpcProtoContentType(contentType)) {
      this.fail(
        new ConnectError(
          `protocol error: unexpected content-type "${contentType ?? ""}" (want ${contentTypeProto}); ` +
            `is ${this.state.sessions.origin} a gRPC server?`,
          Code.Unknown,
          this.metadata(),
        ),
      );
      return;
    }
    const trailers = this.trailers;
    const statusSource = trailers !== undefined && trailers["grpc-status"] !== undefined ? trailers : headers;
    const grpcStatus = first(statusSource["grpc-status"]);
    const detailsBin = first(statusSource["grpc-status-details-bin"]);
    if (grpcStatus === undefined && detailsBin === undefined) {
      this.fail(
        new ConnectError("protocol error: the response carries no grpc-status", Code.Internal, this.metadata()),
      );
      return;
    }
    const statusError = errorFromGrpcStatus(grpcStatus, first(statusSource["grpc-message"]), detailsBin, () =>
      this.metadata(),
    );
    if (statusError !== null) {
      this.fail(statusError.code === Code.Canceled ? serverCancelled(this.state.sessions.origin, statusError) : statusError);
      return;
    }
    const body = this.chunks !== undefined ? concatBlocks(this.chunks) : this.chunk;
    let message: Uint8Array | undefined;
    try {
      message = body === undefined ? undefined : splitUnaryGrpcBody(body, false).message;
    } catch (e) {
      const error = e as ConnectError;
      this.fail(new ConnectError(error.rawMessage, error.code, this.metadata()));
      return;
    }
    if (message === undefined) {
      this.fail(
        new ConnectError("protocol error: missing output message for unary method", Code.Unimplemented, this.metadata()),
      );
      return;
    }
    const result = new Http2UnaryResult(headers, trailers, message);
    this.settle();
    this.resolve(result);
  }

  /** Forgets a response begun on a stream that is being resent. */
  private resetResponse(): void {
    this.responseHeaders = undefined;
    this.trailers = undefined;
    this.chunk = undefined;
    this.chunks = undefined;
    this.received = 0;
    this.declared = -1;
  }

  private connectionFailed(mayHaveBeenSent: boolean, cause: Error): void {
    if (this.settled) return;
    if (!mayHaveBeenSent && this.reused && !this.retried) {
      // The server never saw it: resend once on a fresh connection, invisibly to the caller.
      // Concurrent calls that failed together share the replacement connection.
      this.retried = true;
      this.resetResponse();
      this.send(this.state.sessions.get());
      return;
    }
    const origin = this.state.sessions.origin;
    this.failUnavailable(
      mayHaveBeenSent
        ? `connection to ${origin} lost after the request was sent (${cause.message}); it may have been processed`
        : `could not reach ${origin} (${cause.message})`,
      mayHaveBeenSent,
      cause,
    );
  }

  /** Fails the call as UNAVAILABLE, saying whether the request may have reached the server. */
  private failUnavailable(message: string, mayHaveBeenSent: boolean, cause?: unknown): void {
    this.fail(new ConnectError(message, Code.Unavailable, this.metadataIfAny(), undefined, new Http2DeliveryFailure(message, mayHaveBeenSent, cause)));
  }

  fail(error: ConnectError): void {
    if (this.settled) return;
    this.settle();
    const stream = this.stream;
    if (stream !== undefined) {
      (this.entry as H2SessionHandle).session.cancel(stream);
      this.streamDone();
    }
    this.reject(error);
  }

  private settle(): void {
    this.settled = true;
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    else if (this.deadlineAt !== Infinity) untrackDeadline(this);
    this.signal?.removeEventListener("abort", this);
  }
}

// Deadlines of all calls share one timer armed for the earliest: a timer per call (set, then
// cleared when the answer comes) cost more than the rest of the call's own bookkeeping, and at
// one call in flight it also rebuilt Node's timer list for that duration every time.
const withDeadline = new Set<UnaryCall>();
let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
let armedFor = Infinity;

function trackDeadline(call: UnaryCall): void {
  withDeadline.add(call);
  if (deadlineTimer === undefined || call.deadlineAt < armedFor) armDeadlineTimer(call.deadlineAt);
  else if (withDeadline.size === 1) setTimerRef(deadlineTimer, true);
}

function untrackDeadline(call: UnaryCall): void {
  withDeadline.delete(call);
  // Left armed (a later sweep finds nothing), but no longer keeps the process alive.
  if (withDeadline.size === 0) if (deadlineTimer !== undefined) setTimerRef(deadlineTimer, false);
}

function armDeadlineTimer(at: number): void {
  if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
  armedFor = at;
  deadlineTimer = setTimeout(sweepDeadlines, Math.max(0, at - Date.now()));
}

function sweepDeadlines(): void {
  deadlineTimer = undefined;
  armedFor = Infinity;
  const now = Date.now();
  let next = Infinity;
  for (const call of withDeadline) {
    if (call.deadlineAt <= now) call.deadlineExceeded();
    else if (call.deadlineAt < next) next = call.deadlineAt;
  }
  if (next !== Infinity) armDeadlineTimer(next);
}

/**
 * A grpc-status CANCELLED from the server: the server gave up on the call (shutting down, its own
 * deadline), which the caller must not mistake for its own cancellation. Unavailable, and marked
 * as possibly processed.
 */
function serverCancelled(origin: string, status: ConnectError): ConnectError {
  const message = `${origin} cancelled the call (grpc-status CANCELLED: ${status.rawMessage}); the request may have been processed`;
  return new ConnectError(message, Code.Unavailable, status.metadata, undefined, new Http2DeliveryFailure(message, true, status));
}

/** gRPC's mapping of RST_STREAM error codes. */
function codeFromRstCode(rstCode: number): Code {
  switch (rstCode) {
    case ErrorCode.REFUSED_STREAM:
      return Code.Unavailable;
    case ErrorCode.CANCEL:
      return Code.Canceled;
    case ErrorCode.ENHANCE_YOUR_CALM:
      return Code.ResourceExhausted;
    case ErrorCode.INADEQUATE_SECURITY:
      return Code.PermissionDenied;
    default:
      return Code.Internal;
  }
}

/** Node timers have ref/unref; workerd's and browsers' setTimeout return a number. */
function setTimerRef(timer: ReturnType<typeof setTimeout>, ref: boolean): void {
  const t = timer as { ref?: () => void; unref?: () => void };
  if (ref) t.ref?.();
  else t.unref?.();
}
