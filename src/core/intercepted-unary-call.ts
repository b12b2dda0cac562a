import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import type { ContextValues, Interceptor, UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import type { DescMessage, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";

// The interceptor path of our unary transports, with the contract of Connect's runUnaryCall: one
// AbortSignal per call that fires on cancel, deadline, error and (with no reason) completion.
// Web-safe. Transports without interceptors skip all of this.

// `HeadersInit` is a DOM lib type; this package compiles against Node's types only.
type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** The innermost function of an interceptor chain: runs one unary call on the wire. */
export type UnaryFn = (req: UnaryRequest) => Promise<UnaryResponse>;

/** Wraps `inner` in the interceptors; the first interceptor is the outermost, as in Connect. */
export function chainUnaryInterceptors(interceptors: readonly Interceptor[], inner: UnaryFn): UnaryFn {
  let next = inner as unknown as Parameters<Interceptor>[0];
  for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next);
  return next as unknown as UnaryFn;
}

/** One call entering an interceptor chain. */
export interface InterceptedUnaryCall<I extends DescMessage, O extends DescMessage> {
  method: DescMethodUnary<I, O>;
  url: string;
  message: MessageShape<I>;
  /** Headers the caller passed; protocol headers are added by `protocolHeaders`. */
  header: HeadersInit | undefined;
  signal: AbortSignal | undefined;
  /** Already normalized: undefined means no deadline. */
  timeoutMs: number | undefined;
  contextValues: ContextValues | undefined;
  /** Sets the protocol's request headers (content type, grpc-timeout, ...) on the request. */
  protocolHeaders: (header: Headers, timeoutMs: number | undefined) => void;
}

/** Runs a call through the chain; the chain's inner function must honour `req.signal`. */
export async function runInterceptedUnaryCall<I extends DescMessage, O extends DescMessage>(
  chain: UnaryFn,
  call: InterceptedUnaryCall<I, O>,
): Promise<UnaryResponse<I, O>> {
  const controller = new AbortController();
  const userSignal = call.signal;
  const onUserAbort = (): void => controller.abort(userSignal?.reason);
  if (userSignal !== undefined) {
    if (userSignal.aborted) controller.abort(userSignal.reason);
    else userSignal.addEventListener("abort", onUserAbort, { once: true });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (call.timeoutMs !== undefined) {
    const timeoutMs = call.timeoutMs;
    const deadline = (): void =>
      controller.abort(new ConnectError(`the call exceeded its deadline of ${timeoutMs} ms`, Code.DeadlineExceeded));
    timer = setTimeout(deadline, timeoutMs);
  }
  const header = new Headers(call.header);
  call.protocolHeaders(header, call.timeoutMs);
  const req: UnaryRequest<I, O> = {
    stream: false,
    service: call.method.parent,
    method: call.method,
    requestMethod: "POST",
    url: call.url,
    header,
    contextValues: call.contextValues ?? createContextValues(),
    message: call.message,
    signal: controller.signal,
  };
  try {
    const res = (await chain(req as unknown as UnaryRequest)) as unknown as UnaryResponse<I, O>;
    controller.abort();
    return res;
  } catch (e) {
    // As in Connect: once the call's signal fired (deadline, cancel), its reason is the outcome.
    const error = controller.signal.aborted
      ? ConnectError.from(controller.signal.reason, Code.Canceled)
      : ConnectError.from(e);
    controller.abort(error);
    throw error;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    userSignal?.removeEventListener("abort", onUserAbort);
  }
}
