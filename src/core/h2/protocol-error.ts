import type { H2Limits } from "./limits.js";

/**
 * The server broke HTTP/2 or one of our limits. Connection-level ones close the connection with
 * GOAWAY carrying `errorCode`; a stream-level one (a header list over `maxHeaderListSize`) resets
 * only its stream. `limit` names the {@link H2Limits} field that was crossed, if any.
 */
export class H2ProtocolError extends Error {
  override readonly name = "H2ProtocolError";
  constructor(
    message: string,
    /** HTTP/2 error code (RFC 9113 §7) we sent with GOAWAY or RST_STREAM. */
    readonly errorCode: number,
    /** The limit the server crossed; undefined for other protocol violations. */
    readonly limit?: keyof H2Limits,
  ) {
    super(message);
  }
}
