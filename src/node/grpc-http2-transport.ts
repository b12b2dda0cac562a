import type {
  ContextValues,
  Interceptor,
  StreamResponse,
  Transport,
  UnaryRequest,
  UnaryResponse,
} from "@connectrpc/connect";
import type {
  DescMessage,
  DescMethod,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import type { ConnectionOptions } from "node:tls";
import type { H2Limits } from "../core/h2/limits.js";
import { encodeGrpcTimeout } from "../core/grpc-status.js";
import { chainUnaryInterceptors, runInterceptedUnaryCall } from "../core/intercepted-unary-call.js";
import { toConnectError } from "../core/connect-error-bridge.js";
import { callTimeout, frameRequest, normalizeMessage, parseResponse } from "../core/unary-message-codec.js";
import { createGrpcHttp2Channel, outgoingHeaders } from "./grpc-http2-channel.js";
import { contentTypeProto, userAgent } from "../core/grpc-request-headers.js";
import type { Http2UnaryResult } from "./grpc-http2-channel.js";

/** Options of {@link createGrpcHttp2Transport}. */
export interface GrpcHttp2TransportOptions {
  /**
   * Where the Silo server listens: `http://host:port` for cleartext HTTP/2 (h2c) or
   * `https://host:port` for HTTP/2 over TLS. A path prefix is kept. Required.
   */
  baseUrl: string;
  /**
   * Connect interceptors run around every unary call (the first one is the outermost), and
   * around streaming calls through the fallback transport. Default: none.
   */
  interceptors?: Interceptor[];
  /** Deadline for calls that set no `timeoutMs`. Default: none (calls may wait forever). */
  defaultTimeoutMs?: number;
  /**
   * Close a pooled session that carried no call for this long. The first transport that opens a
   * session for an origin sets it. `0` keeps sessions open until the server closes them.
   * Default: 60_000.
   */
  idleTimeoutMs?: number;
  /**
   * Before reusing a session that has been idle longer than this, ping it and replace it if it
   * does not answer, so a connection that died unnoticed (Lambda freeze/thaw, NAT timeout) is
   * replaced without failing the call. Default: 5_000.
   */
  pingIdleAfterMs?: number;
  /** How long the liveness ping of an idle session may take before the session is replaced. Default: 1_000. */
  pingTimeoutMs?: number;
  /**
   * TLS options for `https` base URLs, for example `{ ca }` for a private CA or `servername`.
   * Transports with TLS options get their own session pool entry. Default: Node's TLS defaults.
   */
  tlsOptions?: ConnectionOptions;
  /**
   * HTTP/2 flood and size limits of our client connection; each field defaults as nghttp2 does
   * (see `H2Limits`). The first transport that opens a session for an origin sets them.
   */
  http2Limits?: Partial<H2Limits>;
  /**
   * Largest response message accepted, in bytes; a larger one fails at once with
   * `ResourceExhausted` and is not buffered. Default: 134_217_728 (128 MiB).
   */
  maxReceiveMessageBytes?: number;
  /** Largest request message sent, in bytes; a larger one fails before sending. Default: 134_217_728 (128 MiB). */
  maxSendMessageBytes?: number;
}

// `HeadersInit` is a DOM lib type; this package compiles against Node's types only.
type HeadersInit = ConstructorParameters<typeof Headers>[0];

/**
 * Creates a Connect `Transport` that speaks gRPC over HTTP/2, with connections pooled per origin
 * and shared by all transports. Unary calls run on {@link createGrpcHttp2Channel} (the package's
 * own HTTP/2 client, see core/h2/client-connection.ts); streaming calls go to connect-node's gRPC
 * transport (over `node:http2`), loaded on first use.
 */
export function createGrpcHttp2Transport(options: GrpcHttp2TransportOptions): Transport {
  const { baseUrl, interceptors = [], defaultTimeoutMs, tlsOptions } = options;
  const channel = createGrpcHttp2Channel(options);
  const paths = new WeakMap<DescMethod, string>();
  const pathOf = (method: DescMethod): string => {
    let path = paths.get(method);
    if (path === undefined) {
      path = `${channel.pathPrefix}/${method.parent.typeName}/${method.name}`;
      paths.set(method, path);
    }
    return path;
  };

  const runUnary = async <I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    headers: Record<string, string>,
    message: MessageShape<I>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<UnaryResponse<I, O>> => {
    try {
      const raw = await channel.send(headers, frameRequest(method.input, message), signal, timeoutMs);
      return unaryResponse(method, parseResponse(method.output, raw.bytes, () => raw.metadata()), raw);
    } catch (e) {
      throw toConnectError(e);
    }
  };

  // With no interceptors a call needs no AbortController, no Headers and no request object.
  const intercepted = interceptors.length === 0 ? undefined : chainUnaryInterceptors(interceptors, (req) =>
    runUnary(req.method, headersFromRequest(req, pathOf), req.message, req.signal, undefined),
  );

  let streamTransport: Promise<Transport> | undefined;

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const timeout = callTimeout(timeoutMs, defaultTimeoutMs);
      const message = normalizeMessage(method.input, input);
      if (intercepted === undefined) {
        return runUnary(method, outgoingHeaders(pathOf(method), timeout, header), message, signal, timeout);
      }
      return runInterceptedUnaryCall(intercepted, {
        method,
        url: `${channel.origin}${pathOf(method)}`,
        message,
        header,
        signal,
        timeoutMs: timeout,
        contextValues,
        protocolHeaders: setProtocolHeaders,
      });
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      streamTransport ??= import("@connectrpc/connect-node").then(({ createGrpcTransport }) =>
        createGrpcTransport({ baseUrl, interceptors, defaultTimeoutMs, nodeOptions: tlsOptions }),
      );
      const transport = await streamTransport;
      return transport.stream(method, signal, timeoutMs, header, input, contextValues);
    },
  };
}

function setProtocolHeaders(header: Headers, timeoutMs: number | undefined): void {
  header.set("content-type", contentTypeProto);
  header.set("te", "trailers");
  if (!header.has("user-agent")) header.set("user-agent", userAgent);
  if (timeoutMs !== undefined) header.set("grpc-timeout", encodeGrpcTimeout(timeoutMs));
}

function headersFromRequest(req: UnaryRequest, pathOf: (method: DescMethod) => string): Record<string, string> {
  let path = pathOf(req.method);
  if (!req.url.endsWith(path)) path = new URL(req.url).pathname;
  const headers: Record<string, string> = { ":method": "POST", ":path": path };
  req.header.forEach((value, name) => {
    if (name === "connection" || name === "host" || name === "content-length" || name === "transfer-encoding") return;
    headers[name] = value;
  });
  return headers;
}

function unaryResponse<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  message: MessageShape<O>,
  raw: Http2UnaryResult,
): UnaryResponse<I, O> {
  return {
    stream: false,
    service: method.parent,
    method,
    message,
    get header(): Headers {
      return raw.header;
    },
    get trailer(): Headers {
      return raw.trailer;
    },
  };
}
