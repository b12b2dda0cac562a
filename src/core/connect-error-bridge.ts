import { ConnectError } from "@connectrpc/connect";

/**
 * Turns an error of the package's own channels (core/rpc-error.ts, shaped like a ConnectError
 * but without Connect's methods, e.g. `findDetails`) into a real `ConnectError`, for the Connect
 * `Transport`s handed to generated clients. Anything else is returned unchanged.
 */
export function toConnectError(reason: unknown): unknown {
  if (!(reason instanceof ConnectError) || Object.getPrototypeOf(reason) === ConnectError.prototype) return reason;
  const error = new ConnectError(reason.rawMessage, reason.code, reason.metadata, undefined, reason.cause);
  error.details = reason.details;
  error.isWireError = (reason as { isWireError?: boolean }).isWireError === true;
  return error;
}
