import { Code, ConnectError } from "./rpc-error.js";
import { encodeGrpcTimeout } from "./grpc-status.js";
import { concatBlocks as concat, encodeField } from "./h2/hpack.js";

// HPACK header blocks of gRPC requests. Encoding is stateless (literals, never the peer's dynamic
// table), so the parts that repeat (method, scheme, authority, protocol headers, each path, a
// frozen metadata record) are encoded once per channel and a call only concatenates them.

/** Request headers as a plain record; pseudo-headers (`:path`, `:method`) included. */
export type RequestHeaderRecord = Readonly<Record<string, string | number | readonly string[] | undefined>>;

export const userAgent = "silo-edge (grpc-http2)";
export const contentTypeProto = "application/grpc+proto";

/** Headers the transport owns; user headers with these names are ignored. */
export const protocolHeaders: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  "content-type": true,
  te: true,
  "grpc-timeout": true,
  "content-length": true,
  connection: true,
  host: true,
  "transfer-encoding": true,
  "keep-alive": true,
  upgrade: true,
});

/** Header fields whose values an intermediary must never index (RFC 7541 §7.1.3). */
const sensitive: Record<string, true> = Object.assign(Object.create(null) as Record<string, true>, {
  authorization: true,
  "proxy-authorization": true,
  cookie: true,
});

// RFC 9110 token characters, lower case only (HTTP/2 field names must be lower case); a
// pseudo-header starts with ":".
const validName = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;
// Field values: no NUL, CR or LF, and no leading or trailing whitespace (RFC 9113 §8.2.1).
const invalidValue = /[\0\r\n]|^[ \t]|[ \t]$/;

function field(name: string, value: string): Uint8Array {
  if (!validName.test(name)) {
    throw new ConnectError(`invalid request header name "${name}"`, Code.InvalidArgument);
  }
  if (invalidValue.test(value)) {
    throw new ConnectError(`invalid value for request header "${name}"`, Code.InvalidArgument);
  }
  return encodeField(name, value, sensitive[name] === true);
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** Encodes the request header blocks of one channel (one scheme and authority). */
export class GrpcRequestHeaders {
  /** `:method: POST`, `:scheme`, `:authority`. */
  readonly #start: Uint8Array;
  /** content-type, te and user-agent. */
  readonly #protocol: Uint8Array;
  /** content-type and te, for calls that bring their own user-agent. */
  readonly #protocolNoAgent: Uint8Array;
  readonly #paths = new Map<string, Uint8Array>();
  readonly #frozenMetadata = new WeakMap<object, { block: Uint8Array; agent: boolean }>();

  readonly #scheme: "http" | "https";
  readonly #authority: string;

  constructor(scheme: "http" | "https", authority: string) {
    this.#scheme = scheme;
    this.#authority = authority;
    this.#start = concat([encodeField(":method", "POST"), encodeField(":scheme", scheme), encodeField(":authority", authority)]);
    this.#protocolNoAgent = concat([encodeField("content-type", contentTypeProto), encodeField("te", "trailers")]);
    this.#protocol = concat([this.#protocolNoAgent, encodeField("user-agent", userAgent)]);
  }

  /**
   * The block of a channel call: `path`, the protocol headers, the deadline and `metadata` (a
   * plain record; names are lower-cased, protocol headers in it ignored). A frozen record is
   * encoded once.
   */
  forCall(path: string, timeoutMs: number | undefined, metadata: Readonly<Record<string, string>> | undefined): Uint8Array {
    let pathBlock = this.#paths.get(path);
    if (pathBlock === undefined) {
      pathBlock = field(":path", path);
      if (this.#paths.size < 256) this.#paths.set(path, pathBlock);
    }
    let meta: Uint8Array = EMPTY;
    let agent = false;
    if (metadata !== undefined) {
      const cached = this.#frozenMetadata.get(metadata);
      if (cached !== undefined) {
        meta = cached.block;
        agent = cached.agent;
      } else {
        const parts: Uint8Array[] = [];
        for (const name in metadata) {
          const lower = name.toLowerCase();
          if (lower in protocolHeaders || lower.charCodeAt(0) === 58 /* ":" */) continue;
          if (lower === "user-agent") agent = true;
          parts.push(field(lower, metadata[name]!));
        }
        meta = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : concat(parts);
        if (Object.isFrozen(metadata)) this.#frozenMetadata.set(metadata, { block: meta, agent });
      }
    }
    const timeout = timeoutMs === undefined ? EMPTY : encodeField("grpc-timeout", encodeGrpcTimeout(timeoutMs));
    const protocol = agent ? this.#protocolNoAgent : this.#protocol;
    const out = new Uint8Array(this.#start.length + pathBlock.length + protocol.length + timeout.length + meta.length);
    let o = 0;
    out.set(this.#start, o);
    out.set(pathBlock, (o += this.#start.length));
    out.set(protocol, (o += pathBlock.length));
    out.set(timeout, (o += protocol.length));
    out.set(meta, o + timeout.length);
    return out;
  }

  /**
   * The block for a complete header record (the Connect `Transport`'s path): pseudo-headers
   * first, `:scheme` and `:authority` added when missing, array values sent as repeated fields.
   */
  fromRecord(headers: RequestHeaderRecord): Uint8Array {
    const pseudo: Uint8Array[] = [];
    const regular: Uint8Array[] = [];
    let hasScheme = false;
    let hasAuthority = false;
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      const target = lower.charCodeAt(0) === 58 /* ":" */ ? pseudo : regular;
      if (lower === ":scheme") hasScheme = true;
      if (lower === ":authority") hasAuthority = true;
      if (Array.isArray(value)) for (const v of value as readonly string[]) target.push(field(lower, v));
      else target.push(field(lower, String(value)));
    }
    if (!hasScheme) pseudo.push(encodeField(":scheme", this.#scheme));
    if (!hasAuthority) pseudo.push(encodeField(":authority", this.#authority));
    return concat([...pseudo, ...regular]);
  }
}
