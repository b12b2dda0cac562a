import { Code, ConnectError } from "@connectrpc/connect";
import type {
  ContextValues,
  Interceptor,
  StreamResponse,
  Transport,
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
import { encodeGrpcTimeout } from "./grpc-status.js";
import {
  channelFetch,
  contentTypeProto,
  fetchUnary,
  grpcWebReader,
  metadataOf,
  parseBaseUrl,
  receiveLimit,
  setProtocolHeaders,
  userAgent,
} from "./grpc-web-fetch-channel.js";
import { chainUnaryInterceptors, runInterceptedUnaryCall } from "./intercepted-unary-call.js";
import { toConnectError } from "./connect-error-bridge.js";
import { callTimeout, frameRequest, normalizeMessage, parseResponse } from "./unary-message-codec.js";

// Web-safe (Cloudflare workerd, browsers, Node): fetch, Headers, TextDecoder, AbortSignal only.

// `HeadersInit` is a DOM lib type; this package compiles against Node's types only.
type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** Options of {@link createGrpcWebFetchTransport}. */
export interface GrpcWebFetchTransportOptions {
  /** Where the gRPC-web endpoint listens, e.g. `https://silo.example.com`. A path prefix is kept. Required. */
  baseUrl: string;
  /** fetch implementation, e.g. a Worker service binding's `fetch`. Default: `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Connect interceptors run around every call (the first one is the outermost). Default: none. */
  interceptors?: Interceptor[];
  /** Deadline for calls that set no `timeoutMs`. Default: none (calls may wait forever). */
  defaultTimeoutMs?: number;
  /**
   * Largest response message accepted, in bytes; a larger one stops the read and fails the call
   * with RESOURCE_EXHAUSTED. Default 128 MiB.
   */
  maxReceiveMessageBytes?: number;
}

/**
 * Creates a Connect `Transport` that speaks binary gRPC-web over `fetch`, for unary calls only.
 * Redirects are never followed (`redirect: "manual"`; workerd rejects `"error"`): a 3xx answer
 * fails the call. It sets no `mode` or `credentials`, which workerd does not implement.
 */
export function createGrpcWebFetchTransport(options: GrpcWebFetchTransportOptions): Transport {
  const { baseUrl, interceptors = [], defaultTimeoutMs } = options;
  const fetchFn = channelFetch("createGrpcWebFetchTransport", options.fetch);
  const base = parseBaseUrl(baseUrl);
  const read = grpcWebReader(receiveLimit(options.maxReceiveMessageBytes));
  const urls = new WeakMap<DescMethod, string>();
  const urlOf = (method: DescMethod): string => {
    let url = urls.get(method);
    if (url === undefined) {
      url = `${base}/${method.parent.typeName}/${method.name}`;
      urls.set(method, url);
    }
    return url;
  };

  const runUnary = async <I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    url: string,
    headers: Headers | Record<string, string>,
    message: MessageShape<I>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<UnaryResponse<I, O>> => {
    try {
      const body = frameRequest(method.input, message);
      const { header, trailer, bytes: payload } = await fetchUnary(fetchFn, url, headers, body, signal, timeoutMs, read);
      const output = parseResponse(method.output, payload, () => metadataOf(header, trailer));
      return { stream: false, service: method.parent, method, message: output, header, trailer };
    } catch (e) {
      throw toConnectError(e);
    }
  };

  const intercepted =
    interceptors.length === 0
      ? undefined
      : chainUnaryInterceptors(interceptors, (req) =>
          runUnary(req.method, req.url, req.header, req.message, req.signal, undefined),
        );

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
        let headers: Headers | Record<string, string>;
        if (header === undefined) {
          headers = { "content-type": contentTypeProto, "x-grpc-web": "1", "x-user-agent": userAgent };
          if (timeout !== undefined) headers["grpc-timeout"] = encodeGrpcTimeout(timeout);
        } else {
          headers = new Headers(header);
          setProtocolHeaders(headers, timeout);
        }
        return runUnary(method, urlOf(method), headers, message, signal, timeout);
      }
      return runInterceptedUnaryCall(intercepted, {
        method,
        url: urlOf(method),
        message,
        header,
        signal,
        timeoutMs: timeout,
        contextValues,
        protocolHeaders: setProtocolHeaders,
      });
    },

    stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
    ): Promise<StreamResponse<I, O>> {
      return Promise.reject(
        new ConnectError(
          `${method.parent.typeName}/${method.name} is a streaming method; the gRPC-web fetch transport ` +
            "supports unary calls only (use Connect's createGrpcWebTransport, or the gRPC transport on Node)",
          Code.Unimplemented,
        ),
      );
    },
  };
}

