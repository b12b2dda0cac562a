import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Status helpers with the stock server's codes. Messages are passed verbatim: clients match on
 * them (for example the duplicate-id INTERNAL), so callers copy them from the wire contract.
 */
export function invalidArgument(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

export function failedPrecondition(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}

export function notFound(message: string, metadata?: Record<string, string>): ConnectError {
  return new ConnectError(message, Code.NotFound, metadata);
}

export function internal(message: string): ConnectError {
  return new ConnectError(message, Code.Internal);
}

export function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}

export function unavailable(message: string): ConnectError {
  return new ConnectError(message, Code.Unavailable);
}

export function unimplemented(message: string): ConnectError {
  return new ConnectError(message, Code.Unimplemented);
}

/**
 * Anything that is not already a ConnectError is a dev-server bug; report it as INTERNAL (as
 * tonic does for a handler error) instead of connect's default UNKNOWN.
 */
export function toConnectError(reason: unknown): ConnectError {
  if (reason instanceof ConnectError) return reason;
  const message = reason instanceof Error ? reason.message : String(reason);
  return new ConnectError(`dev server internal error: ${message}`, Code.Internal);
}
