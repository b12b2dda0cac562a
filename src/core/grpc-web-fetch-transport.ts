import { Code, ConnectError } from "@connectrpc/connect";
import type {
  ContextValues,
  Interceptor,
  StreamResponse,
  Transport,
  UnaryResponse,
} from "@connectrpc/connect";
import { create, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import type {
  DescMessage,
  DescMethod,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { encodeGrpcFrame, splitUnaryGrpcBody } from "./grpc-frame.js";
import type { UnaryGrpcBody } from "./grpc-frame.js";
import { codeFromHttpStatus, decodeGrpcMessage, encodeGrpcTimeout, errorFromGrpcStatus } from "./grpc-status.js";
import { chainUnaryInterceptors, runInterceptedUnaryCall } from "./intercepted-unary-call.js";

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
}

const contentTypeProto = "application/grpc-web+proto";
const userAgent = "silo-edge (grpc-web-fetch)";

/**
 * Creates a Connect `Transport` that speaks binary gRPC-web over `fetch`, for unary calls only.
 * It sets no `redirect`, `mode` or `credentials` on the request: workerd rejects
 * `redirect: "error"` and does not implement the other two.
 */
export function createGrpcWebFetchTransport(options: GrpcWebFetchTransportOptions): Transport {
  const { baseUrl, interceptors = [], defaultTimeoutMs } = options;
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") {
    throw new ConnectError(
      "createGrpcWebFetchTransport: no fetch available; pass the `fetch` option",
      Code.InvalidArgument,
    );
  }
  const base = parseBaseUrl(baseUrl);
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
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = encodeGrpcFrame(toBinary(method.input, message));
    } catch (e) {
      throw new ConnectError(`failed to serialize ${method.input.typeName}`, Code.Internal, undefined, undefined, e);
    }
    const { header, trailer, payload } = await fetchUnary(fetchFn, url, headers, body, signal, timeoutMs);
    let output: MessageShape<O>;
    try {
      output = fromBinary(method.output, payload);
    } catch (e) {
      throw new ConnectError(
        `protocol error: failed to decode ${method.output.typeName}`,
        Code.Internal,
        metadataOf(header, trailer),
        undefined,
        e,
      );
    }
    return { stream: false, service: method.parent, method, message: output, header, trailer };
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
      const timeout = timeoutMs === undefined ? defaultTimeoutMs : timeoutMs <= 0 ? undefined : timeoutMs;
      const message = isMessage(input, method.input) ? (input as MessageShape<I>) : create(method.input, input);
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

function parseBaseUrl(baseUrl: string): string {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new ConnectError(
      `baseUrl "${baseUrl}" is not a valid URL; pass e.g. "https://silo.example.com"`,
      Code.InvalidArgument,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConnectError(`baseUrl "${baseUrl}" must start with http:// or https://`, Code.InvalidArgument);
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
}

function setProtocolHeaders(header: Headers, timeoutMs: number | undefined): void {
  header.set("content-type", contentTypeProto);
  header.set("x-grpc-web", "1");
  if (!header.has("x-user-agent")) header.set("x-user-agent", userAgent);
  if (timeoutMs !== undefined) header.set("grpc-timeout", encodeGrpcTimeout(timeoutMs));
  else header.delete("grpc-timeout");
}

interface UnaryWireResult {
  header: Headers;
  trailer: Headers;
  payload: Uint8Array;
}

async function fetchUnary(
  fetchFn: typeof globalThis.fetch,
  url: string,
  headers: Headers | Record<string, string>,
  body: Uint8Array<ArrayBuffer>,
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Promise<UnaryWireResult> {
  // A deadline needs a controller of our own; without one the caller's signal goes to fetch as is.
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  if (timeoutMs !== undefined) {
    const c = (controller = new AbortController());
    timer = setTimeout(
      () => c.abort(new ConnectError(`the call exceeded its deadline of ${timeoutMs} ms`, Code.DeadlineExceeded)),
      timeoutMs,
    );
    if (signal !== undefined) {
      if (signal.aborted) c.abort(signal.reason);
      else signal.addEventListener("abort", (onAbort = () => c.abort(signal.reason)), { once: true });
    }
  }
  const callSignal = controller?.signal ?? signal;
  const aborted = (): ConnectError | undefined =>
    callSignal?.aborted === true ? ConnectError.from(callSignal.reason, Code.Canceled) : undefined;
  try {
    if (callSignal?.aborted === true) throw aborted();
    let response: Response;
    try {
      response = await fetchFn(url, { method: "POST", headers, body, signal: callSignal });
    } catch (e) {
      throw (
        aborted() ??
        new ConnectError(
          `could not reach ${url}: ${e instanceof Error ? e.message : String(e)}`,
          Code.Unavailable,
          undefined,
          undefined,
          e,
        )
      );
    }
    return await readUnaryResponse(response, aborted);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

async function readUnaryResponse(
  response: Response,
  aborted: () => ConnectError | undefined,
): Promise<UnaryWireResult> {
  const header = response.headers;
  const headerStatus = header.get("grpc-status") ?? undefined;
  if (response.status < 200 || response.status > 299) {
    discardBody(response);
    const message = header.get("grpc-message");
    throw new ConnectError(
      message === null ? `HTTP ${response.status}` : decodeGrpcMessage(message),
      codeFromHttpStatus(response.status),
      metadataOf(header, undefined),
    );
  }
  const contentType = header.get("content-type") ?? "";
  if (!isGrpcWebProtoContentType(contentType)) {
    discardBody(response);
    // A trailers-only error from a proxy may carry an odd content type; its status still counts.
    if (headerStatus !== undefined) {
      const headerError = errorFromGrpcStatus(headerStatus, header.get("grpc-message") ?? undefined, undefined, () =>
        metadataOf(header, undefined),
      );
      if (headerError !== null) throw headerError;
    }
    throw new ConnectError(
      `protocol error: unexpected content-type "${contentType}" (want ${contentTypeProto}); ` +
        `is ${response.url || "the server"} a gRPC-web endpoint?`,
      Code.Unknown,
      metadataOf(header, undefined),
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    throw (
      aborted() ??
      new ConnectError(
        `reading the response failed: ${e instanceof Error ? e.message : String(e)}`,
        Code.Unavailable,
        metadataOf(header, undefined),
        undefined,
        e,
      )
    );
  }
  let frames: UnaryGrpcBody;
  try {
    frames = splitUnaryGrpcBody(bytes, true);
  } catch (e) {
    const error = ConnectError.from(e, Code.Internal);
    throw new ConnectError(error.rawMessage, error.code, metadataOf(header, undefined));
  }
  const trailer = frames.trailer === undefined ? new Headers() : parseTrailer(frames.trailer);
  const statusSource = trailer.has("grpc-status") ? trailer : header;
  const grpcStatus = statusSource.get("grpc-status") ?? undefined;
  const detailsBin = statusSource.get("grpc-status-details-bin") ?? undefined;
  if (grpcStatus === undefined && detailsBin === undefined) {
    throw new ConnectError(
      frames.trailer === undefined && bytes.byteLength > 0
        ? "protocol error: the response ended without a gRPC-web trailer frame"
        : "protocol error: the response carries no grpc-status",
      Code.Internal,
      metadataOf(header, trailer),
    );
  }
  const statusError = errorFromGrpcStatus(grpcStatus, statusSource.get("grpc-message") ?? undefined, detailsBin, () =>
    metadataOf(header, trailer),
  );
  if (statusError !== null) throw statusError;
  if (frames.message === undefined) {
    throw new ConnectError(
      "protocol error: missing output message for unary method",
      Code.Unimplemented,
      metadataOf(header, trailer),
    );
  }
  return { header, trailer, payload: frames.message };
}

function discardBody(response: Response): void {
  response.body?.cancel().catch(() => {});
}

function isGrpcWebProtoContentType(value: string): boolean {
  const ct = value.toLowerCase();
  return (
    ct === contentTypeProto ||
    ct === "application/grpc-web" ||
    ct.startsWith("application/grpc-web+proto;") ||
    ct.startsWith("application/grpc-web;")
  );
}

let textDecoder: InstanceType<typeof TextDecoder> | undefined;

/** A gRPC-web trailer frame is an HTTP/1-style header block: `name: value` lines separated by CRLF. */
function parseTrailer(data: Uint8Array): Headers {
  const trailer = new Headers();
  const text = (textDecoder ??= new TextDecoder()).decode(data);
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.substring(start, end);
    start = end + 1;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    try {
      trailer.append(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
    } catch {
      // An invalid field name or value is dropped; the status fields are checked separately.
    }
  }
  return trailer;
}

function metadataOf(header: Headers, trailer: Headers | undefined): Headers {
  const metadata = new Headers(header);
  trailer?.forEach((value, name) => metadata.append(name, value));
  return metadata;
}
