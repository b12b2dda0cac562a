/**
 * Cause of the `Code.Unavailable` ConnectError a gRPC HTTP/2 transport raises when the connection
 * failed under a call. It tells a retry layer whether resending is safe for a call that is not
 * idempotent (an enqueue): the transport itself never resends a request that may have reached
 * the server.
 */
export class Http2DeliveryFailure extends Error {
  override readonly name = "Http2DeliveryFailure";

  /**
   * False when the server provably never received the request (connection refused, stream
   * refused, stream above the server's GOAWAY); true when it may have received and processed it.
   */
  readonly requestMayHaveBeenSent: boolean;

  constructor(message: string, requestMayHaveBeenSent: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.requestMayHaveBeenSent = requestMayHaveBeenSent;
  }
}

/**
 * Whether a failed call may have reached the server: `false` when it provably did not (safe to
 * resend), `true` when it may have, `undefined` when the error carries no delivery information
 * (for example an error status the server returned, which means it did receive the call).
 */
export function requestMayHaveBeenSent(error: unknown): boolean | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Http2DeliveryFailure) return cause.requestMayHaveBeenSent;
  if (error instanceof Http2DeliveryFailure) return error.requestMayHaveBeenSent;
  return undefined;
}
