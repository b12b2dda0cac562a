import type { ConnectionOptions } from "node:tls";
import { Code, ConnectError } from "../core/rpc-error.js";
import { encodeGrpcFrame, splitUnaryGrpcBody } from "../core/grpc-frame.js";
import { codeFromHttpStatus, decodeGrpcMessage, encodeGrpcTimeout, errorFromGrpcStatus } from "../core/grpc-status.js";
import { Http2DeliveryFailure } from "../core/delivery-failure.js";
import { sealGrpcFrame, type UnaryBytesOptions, type UnaryBytesResponse, type UnaryChannel } from "../core/unary-channel.js";
import { ErrorCode } from "../core/h2/frames.js";
import { H2Stream, type H2Headers, type H2StreamHandler } from "../core/h2/client-connection.js";
import { resolveH2Limits, type H2Limits } from "../core/h2/limits.js";
import type { H2ProtocolError } from "../core/h2/protocol-error.js";
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, DEFAULT_MAX_SEND_MESSAGE_BYTES } from "../core/message-size-limits.js";
import { contentTypeProto, GrpcRequestHeaders, protocolHeaders, userAgent, type RequestHeaderRecord } from "./grpc-request-headers.js";
import {
  dropSession,
  getPooledSession,
  needsLivenessCheck,
  reconnectDelay,
  releaseSession,
  retainSession,
  verifySession,
} from "./http2-session-pool.js";
import type { Http2SessionTarget, PooledHttp2Session } from "./http2-session-pool.js";

// Unary gRPC over our own HTTP/2 client connection (core/h2/client-connection.ts), without protobuf:
// framed bytes in, bytes out. The Connect `Transport` of grpc-http2-transport.ts and the
// client's `SiloRpc` both run on it.

/** Options of {@link createGrpcHttp2Channel}. */
export interface GrpcHttp2ChannelOptions {
  /**
   * Where the Silo server listens: `http://host:port` for cleartext HTTP/2 (h2c) or
   * `https://host:port` for HTTP/2 over TLS. A path prefix is kept. Required.
   */
  baseUrl: string;
  /** Deadline for calls that set no `timeoutMs`. Default: none (calls may wait forever). */
  defaultTimeoutMs?: number | undefined;
  /**
   * Close a pooled session that carried no call for this long. The first channel that opens a
   * session for an origin sets it. `0` keeps sessions open until the server closes them.
   * Default: 60_000.
   */
  idleTimeoutMs?: number | undefined;
  /**
   * Before reusing a session that has been idle longer than this, ping it and replace it if it
   * does not answer, so a connection that died unnoticed (Lambda freeze/thaw, NAT timeout) is
   * replaced without failing the call. Default: 5_000.
   */
  pingIdleAfterMs?: number | undefined;
  /** How long the liveness ping of an idle session may take before the session is replaced. Default: 1_000. */
  pingTimeoutMs?: number | undefined;
  /**
   * TLS options for `https` base URLs, for example `{ ca }` for a private CA or `servername`.
   * Channels with TLS options get their own session pool entry. Default: Node's TLS defaults.
   */
  tlsOptions?: ConnectionOptions | undefined;
  /**
   * HTTP/2 flood and size limits (CONTINUATION frames per header block, header block and header
   * list sizes, queued acknowledgements, SETTINGS entries); each field defaults as nghttp2 does,
   * see `H2Limits`. The first channel that opens a session for an origin sets them.
   */
  http2Limits?: Partial<H2Limits> | undefined;
  /**
   * Largest response message accepted, in bytes. A response that declares or sends more fails
   * at once with `ResourceExhausted`; its stream is reset, so nothing past the cap is buffered.
   * Default: 134_217_728 (128 MiB, the upstream client's).
   */
  maxReceiveMessageBytes?: number | undefined;
  /** Largest request message sent, in bytes; a larger one fails before anything is sent. Default: 134_217_728 (128 MiB). */
  maxSendMessageBytes?: number | undefined;
}

/** A gRPC-over-HTTP/2 channel to one origin; `send` is the transport's lower-level entry. */
export interface GrpcHttp2Channel extends UnaryChannel {
  readonly origin: string;
  /** Path of the base URL without a trailing slash; usually "". */
  readonly pathPrefix: string;
  /**
   * Sends a framed request with complete HTTP/2 request headers (`:path` included; `:scheme`
   * and `:authority` are added when missing).
   */
  send(headers: RequestHeaderRecord, frame: Uint8Array, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<Http2UnaryResult>;
}

// `HeadersInit` is a DOM lib type; this package compiles against Node's types only.
type HeadersInit = ConstructorParameters<typeof Headers>[0];

/**
 * Creates a unary gRPC channel over HTTP/2, with connections pooled per origin and shared by
 * all channels and transports.
 */
export function createGrpcHttp2Channel(options: GrpcHttp2ChannelOptions): GrpcHttp2Channel {
  const {
    baseUrl,
    defaultTimeoutMs,
    idleTimeoutMs = 60_000,
    pingIdleAfterMs = 5_000,
    pingTimeoutMs = 1_000,
    tlsOptions,
    maxReceiveMessageBytes = DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
    maxSendMessageBytes = DEFAULT_MAX_SEND_MESSAGE_BYTES,
  } = options;
  checkMessageCap("maxReceiveMessageBytes", maxReceiveMessageBytes);
  checkMessageCap("maxSendMessageBytes", maxSendMessageBytes);
  const url = parseBaseUrl(baseUrl);
  let limits: H2Limits;
  try {
    limits = resolveH2Limits(options.http2Limits);
  } catch (e) {
    throw new ConnectError((e as Error).message, Code.InvalidArgument);
  }
  const state: TransportState = {
    target: {
      key: tlsOptions === undefined ? url.origin : `${url.origin}#tls${tlsOptionsId(tlsOptions)}`,
      origin: url.origin,
      tlsOptions,
      idleTimeoutMs,
      limits,
    },
    pingIdleAfterMs,
    pingTimeoutMs,
    maxReceiveMessageBytes,
  };
  const encoder = new GrpcRequestHeaders(url.scheme, url.authority);
  const call = (block: () => Uint8Array, frame: Uint8Array, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<Http2UnaryResult> => {
    if (frame.length - 5 > maxSendMessageBytes) {
      return Promise.reject(
        new ConnectError(
          `the request message of ${frame.length - 5} bytes is over maxSendMessageBytes (${maxSendMessageBytes}); nothing was sent`,
          Code.ResourceExhausted,
        ),
      );
    }
    let headerBlock: Uint8Array;
    try {
      headerBlock = block();
    } catch (e) {
      return Promise.reject(ConnectError.from(e, Code.InvalidArgument));
    }
    return new UnaryCall(state, headerBlock, frame, signal, timeoutMs).promise;
  };
  const pathPrefix = url.pathPrefix;
  return {
    origin: url.origin,
    pathPrefix,
    send: (headers, frame, signal, timeoutMs) => call(() => encoder.fromRecord(headers), frame, signal, timeoutMs),
    unaryBytes(path: string, bytes: Uint8Array, { signal, timeoutMs, headers }: UnaryBytesOptions): Promise<UnaryBytesResponse> {
      const timeout = timeoutMs === undefined ? defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
      return call(() => encoder.forCall(pathPrefix + path, timeout, metadataRecord(headers)), encodeGrpcFrame(bytes), signal, timeout);
    },
    unaryFrame(path: string, frame: Uint8Array, { signal, timeoutMs, headers }: UnaryBytesOptions): Promise<UnaryBytesResponse> {
      const timeout = timeoutMs === undefined ? defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
      return call(() => encoder.forCall(pathPrefix + path, timeout, metadataRecord(headers)), sealGrpcFrame(frame), signal, timeout);
    },
  };
}

export interface TransportState {
  readonly target: Http2SessionTarget;
  readonly pingIdleAfterMs: number;
  readonly pingTimeoutMs: number;
  readonly maxReceiveMessageBytes: number;
}

function checkMessageCap(field: string, value: number): void {
  // The gRPC length prefix is a uint32.
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ConnectError(`${field} must be an integer between 0 and 4294967295, got ${String(value)}`, Code.InvalidArgument);
  }
}

interface ParsedBaseUrl {
  origin: string;
  scheme: "http" | "https";
  /** host[:port] as the URL spells it, for `:authority`. */
  authority: string;
  /** Path of the base URL without a trailing slash; usually "". */
  pathPrefix: string;
}

function parseBaseUrl(baseUrl: string): ParsedBaseUrl {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new ConnectError(
      `baseUrl "${baseUrl}" is not a valid URL; pass e.g. "http://127.0.0.1:7450" or "https://silo.example.com"`,
      Code.InvalidArgument,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConnectError(
      `baseUrl "${baseUrl}" must start with http:// (h2c) or https:// (h2 over TLS)`,
      Code.InvalidArgument,
    );
  }
  return {
    origin: parsed.origin,
    scheme: parsed.protocol === "https:" ? "https" : "http",
    authority: parsed.host,
    pathPrefix: parsed.pathname.replace(/\/+$/, ""),
  };
}

const tlsOptionIds = new WeakMap<ConnectionOptions, number>();
let nextTlsOptionsId = 1;
function tlsOptionsId(tlsOptions: ConnectionOptions): number {
  let id = tlsOptionIds.get(tlsOptions);
  if (id === undefined) {
    id = nextTlsOptionsId++;
    tlsOptionIds.set(tlsOptions, id);
  }
  return id;
}

/** The complete request headers of a call, for the Connect `Transport`'s unary path. */
export function outgoingHeaders(
  path: string,
  timeoutMs: number | undefined,
  header: HeadersInit | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    ":method": "POST",
    ":path": path,
    "content-type": contentTypeProto,
    te: "trailers",
    "user-agent": userAgent,
  };
  if (timeoutMs !== undefined) headers["grpc-timeout"] = encodeGrpcTimeout(timeoutMs);
  if (header !== undefined) {
    // Going through Headers validates names and values and joins repeated names, so each name
    // arrives once; a caller's user-agent wins.
    (isHeadersObject(header as object) ? (header as Headers) : new Headers(header)).forEach((value, name) => {
      if (!(name in protocolHeaders)) headers[name] = value;
    });
  }
  return headers;
}

/**
 * Call metadata as a plain record. A record (what the client sends: names and values it
 * validated when they were configured) is used as is, so the Node path never touches the
 * global `Headers`, whose first use loads all of undici (~25 ms of a cold start).
 */
function metadataRecord(header: UnaryBytesOptions["headers"]): Readonly<Record<string, string>> | undefined {
  if (header === undefined || !isHeadersObject(header)) return header;
  const record: Record<string, string> = {};
  header.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

function isHeadersObject(value: object): value is Headers {
  // Duck-typed: `instanceof Headers` would itself load undici.
  return typeof (value as Headers).forEach === "function" && typeof (value as Headers).get === "function";
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

class UnaryCall implements H2StreamHandler {
  readonly promise: Promise<Http2UnaryResult>;
  private resolve!: (result: Http2UnaryResult) => void;
  private reject!: (error: ConnectError) => void;
  private settled = false;
  /** The stream in flight; set exactly while this call holds a reference on `entry`. */
  private stream: H2Stream | undefined;
  private entry: PooledHttp2Session | undefined;
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
  /** Response body bytes received on the current stream. */
  private received = 0;
  /** Length the response's gRPC message declares; -1 until its 5-byte prefix arrived. */
  private declared = -1;

  constructor(
    private readonly state: TransportState,
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
      trackDeadline(this);
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
    const wait = reconnectDelay(this.state.target);
    if (wait > 0) {
      if (Date.now() + wait >= this.deadlineAt) {
        // As gRPC fails calls fast in TRANSIENT_FAILURE: waiting out a backoff that outlasts the
        // deadline would only turn "the server is down" into a deadline error.
        const message = `no connection to ${this.state.target.origin}: the last attempts failed and the next is ${Math.ceil(wait)} ms away, past this call's deadline`;
        this.fail(new ConnectError(message, Code.Unavailable, undefined, undefined, new Http2DeliveryFailure(message, false)));
        return;
      }
      // The last connection attempts failed: wait for the backoff (the deadline still holds).
      this.backoffTimer = setTimeout(() => {
        this.backoffTimer = undefined;
        if (!this.settled) this.start();
      }, wait);
      return;
    }
    const entry = getPooledSession(this.state.target);
    if (entry.verifying !== undefined || needsLivenessCheck(entry, this.state.pingIdleAfterMs)) {
      verifySession(entry, this.state.pingTimeoutMs).then(
        (alive) => {
          if (!this.settled) this.send(alive ? entry : getPooledSession(this.state.target));
        },
        () => {
          if (!this.settled) this.send(getPooledSession(this.state.target));
        },
      );
      return;
    }
    this.send(entry);
  }

  private send(entry: PooledHttp2Session): void {
    this.entry = entry;
    // Only a connection that was already up can have died unnoticed; a failed fresh connect is
    // not worth repeating at once.
    this.reused = entry.session.connected;
    const stream = new H2Stream(this.headerBlock, this.frame, this);
    // The server gets no window for more than twice what we would accept (padding counts too).
    stream.recvBudget = 2 * (this.state.maxReceiveMessageBytes + 5);
    retainSession(entry);
    this.stream = stream;
    if (!entry.session.request(stream)) {
      this.streamDone();
      dropSession(entry);
      this.connectionFailed(false, new Error("the connection takes no new streams"));
    }
  }

  /** The stream is over (ended, reset, failed or cancelled): give back the connection reference. */
  private streamDone(): void {
    if (this.stream === undefined) return;
    this.stream = undefined;
    releaseSession(this.entry as PooledHttp2Session);
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
        this.send(getPooledSession(this.state.target));
        return;
      }
      this.retried = true; // a working connection that keeps refusing: no fresh-connection resend either
      this.connectionFailed(false, new Error("the server refused the stream (REFUSED_STREAM)"));
      return;
    }
    if (errorCode === ErrorCode.CANCEL) {
      // The server's cancel, not the caller's: Canceled would read as "your signal aborted it".
      const message = `${this.state.target.origin} cancelled the stream (RST_STREAM CANCEL); the request may have been processed`;
      this.fail(
        new ConnectError(
          message,
          Code.Unavailable,
          this.responseHeaders === undefined ? undefined : this.metadata(),
          undefined,
          new Http2DeliveryFailure(message, true),
        ),
      );
      return;
    }
    this.fail(
      new ConnectError(
        `the server reset the stream (HTTP/2 error code ${errorCode})`,
        codeFromRstCode(errorCode),
        this.responseHeaders === undefined ? undefined : this.metadata(),
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
    const message = `${this.state.target.origin} answered with ${error.message}; the request reached the server and may have been processed`;
    this.fail(
      new ConnectError(message, Code.ResourceExhausted, undefined, undefined, new Http2DeliveryFailure(message, true, error)),
    );
  }

  onConnectionError(mayHaveBeenSent: boolean, cause: Error): void {
    this.streamDone();
    this.connectionFailed(mayHaveBeenSent, cause);
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
            `is ${this.state.target.origin} a gRPC server?`,
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
      this.fail(statusError.code === Code.Canceled ? serverCancelled(this.state.target.origin, statusError) : statusError);
      return;
    }
    const body = this.chunks !== undefined ? Buffer.concat(this.chunks) : this.chunk;
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
      this.send(getPooledSession(this.state.target));
      return;
    }
    const origin = this.state.target.origin;
    const message = mayHaveBeenSent
      ? `connection to ${origin} lost after the request was sent (${cause.message}); it may have been processed`
      : `could not reach ${origin} (${cause.message})`;
    this.fail(
      new ConnectError(
        message,
        Code.Unavailable,
        this.responseHeaders === undefined ? undefined : this.metadata(),
        undefined,
        new Http2DeliveryFailure(message, mayHaveBeenSent, cause),
      ),
    );
  }

  fail(error: ConnectError): void {
    if (this.settled) return;
    this.settle();
    const stream = this.stream;
    if (stream !== undefined) {
      (this.entry as PooledHttp2Session).session.cancel(stream);
      this.streamDone();
    }
    this.reject(error);
  }

  private settle(): void {
    this.settled = true;
    if (this.backoffTimer !== undefined) clearTimeout(this.backoffTimer);
    if (this.deadlineAt !== Infinity) untrackDeadline(this);
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
  else if (withDeadline.size === 1) deadlineTimer.ref();
}

function untrackDeadline(call: UnaryCall): void {
  withDeadline.delete(call);
  // Left armed (a later sweep finds nothing), but no longer keeps the process alive.
  if (withDeadline.size === 0) deadlineTimer?.unref();
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
