import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Status helpers with the stock server's codes. Messages are passed verbatim: clients match on
 * them (for example the duplicate-id INTERNAL), so callers copy them from the wire contract.
 */
export function invalidArgument(message: string, metadata?: Record<string, string>): ConnectError {
  return new ConnectError(message, Code.InvalidArgument, metadata);
}

export function failedPrecondition(message: string, metadata?: Record<string, string>): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition, metadata);
}

/**
 * Response metadata the dev server adds to its tenancy refusals: which flag gives the other mode.
 * The status message stays the stock server's text, byte for byte; silo-edge's client appends the
 * hint to the error message it throws (core/errors.ts).
 */
export const DEV_SERVER_HINT_HEADER = "x-silo-dev-server-hint";

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
