import { Code, ConnectError } from "./rpc-error.js";

// Reads a fetch response body as a stream with a byte cap, so a hostile or broken server cannot
// make the client buffer more than the cap: the read stops and the call fails as soon as the
// cap is crossed (or at once, when Content-Length already says it will be). Web-safe.

/** Default of the `maxReceiveMessageBytes` option: 128 MiB, the upstream client's receive limit. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 128 * 1024 * 1024;

/**
 * Bytes a gRPC-web body may hold beyond its message: two frame headers and a trailer frame with
 * status, message and metadata. 64 KiB, the size of a large HTTP/2 header list.
 */
export const GRPC_WEB_BODY_OVERHEAD_BYTES = 64 * 1024;

/** What {@link readBoundedBody} needs besides the response. */
export interface BoundedBodyOptions {
  /** Most body bytes accepted. */
  maxBytes: number;
  /** The caller's limit as configured, for the error message. */
  limitName: string;
  /** The limit's value as configured, for the error message. */
  limitBytes: number;
  /** The call's own abort (deadline or caller's signal) when it has fired, else undefined. */
  aborted: () => ConnectError | undefined;
  /** The response metadata the errors carry. */
  metadata: () => Headers;
  /**
   * Called with each chunk as it arrives (after the cap check), e.g. to reject an oversized
   * gRPC frame from its declared length before its bytes arrive. Throws to fail the call.
   */
  inspect?: (chunk: Uint8Array, receivedBefore: number) => void;
}

/** The ConnectError of a response that crosses a receive cap (RESOURCE_EXHAUSTED, never retried). */
export function receiveLimitError(what: string, limitName: string, limitBytes: number, metadata?: Headers): ConnectError {
  const hint = limitName === "maxReceiveMessageBytes" ? ". Raise maxReceiveMessageBytes if the server really sends messages this large" : "";
  return new ConnectError(
    `${what} exceeds ${limitName} (${limitBytes} bytes); the read was stopped${hint}`,
    Code.ResourceExhausted,
    metadata,
  );
}

/** The declared Content-Length of a response, or undefined when absent or malformed. */
function declaredLength(response: Response): number | undefined {
  const raw = response.headers.get("content-length");
  if (raw === null || !/^\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

function cancel(reader: { cancel(reason?: unknown): Promise<void> } | undefined, response: Response): void {
  if (reader !== undefined) reader.cancel().catch(() => undefined);
  else response.body?.cancel().catch(() => undefined);
}

/**
 * The whole body, at most `maxBytes` of it. Crossing the cap (or a Content-Length above it)
 * cancels the body and throws RESOURCE_EXHAUSTED at once. A body that breaks off is the call's
 * abort when there was one (deadline, caller's signal), else UNAVAILABLE.
 */
export async function readBoundedBody(response: Response, options: BoundedBodyOptions): Promise<Uint8Array> {
  const { maxBytes, limitName, limitBytes, aborted, metadata, inspect } = options;
  const length = declaredLength(response);
  if (length !== undefined && length > maxBytes) {
    cancel(undefined, response);
    throw receiveLimitError(`the response's Content-Length of ${length} bytes`, limitName, limitBytes, metadata());
  }
  const body = response.body;
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (e) {
        throw (
          aborted() ??
          new ConnectError(`reading the response failed: ${e instanceof Error ? e.message : String(e)}`, Code.Unavailable, metadata(), undefined, e)
        );
      }
      if (next.done) break;
      const chunk: unknown = next.value;
      if (!(chunk instanceof Uint8Array)) {
        throw new ConnectError("protocol error: the response body yielded a chunk that is not bytes", Code.Internal, metadata());
      }
      if (received + chunk.byteLength > maxBytes) {
        throw receiveLimitError(`the response body (more than ${maxBytes} bytes)`, limitName, limitBytes, metadata());
      }
      inspect?.(chunk, received);
      received += chunk.byteLength;
      chunks.push(chunk);
    }
  } catch (e) {
    cancel(reader, response);
    throw e;
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(received);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}

/**
 * An `inspect` hook for gRPC-web bodies: fails as soon as the first frame's header declares a
 * message longer than `maxMessageBytes`, before any of its payload is buffered.
 */
export function grpcFrameLengthCheck(maxMessageBytes: number, limitName: string, metadata: () => Headers): (chunk: Uint8Array, receivedBefore: number) => void {
  const header = new Uint8Array(5);
  let have = 0;
  return (chunk, receivedBefore) => {
    if (have >= 5 || receivedBefore >= 5) return;
    const take = Math.min(5 - have, chunk.byteLength);
    header.set(chunk.subarray(0, take), have);
    have += take;
    if (have < 5) return;
    // Only a plain message frame: anything else (a trailer frame, garbage) is the frame parser's
    // to report, and the body cap bounds it meanwhile.
    if (header[0] !== 0) return;
    const len = ((header[1]! << 24) >>> 0) + (header[2]! << 16) + (header[3]! << 8) + header[4]!;
    if (len > maxMessageBytes) {
      throw receiveLimitError(`a response message of ${len} bytes`, limitName, maxMessageBytes, metadata());
    }
  };
}
