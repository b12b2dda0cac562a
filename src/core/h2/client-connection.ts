import type { ByteStream, ByteStreamEvents, OpenByteStream } from "./byte-stream.js";
import { HpackDecoder, HpackError } from "./hpack.js";
import { resolveH2Limits, type H2Limits } from "./limits.js";
import { H2ProtocolError } from "./protocol-error.js";
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameType,
  MAX_WINDOW,
  Setting,
  controlFrame,
  goawayFrame,
  readUint31,
  readUint32,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
  writeUint32,
} from "./frames.js";

// A client-side HTTP/2 connection (RFC 9113) over one byte stream, for unary request/response
// exchanges: everything the gRPC channel needs and nothing else. `node:http2` costs two to three
// times the CPU per call (a Duplex stream, async-hooks wrappers and nghttp2 callbacks per
// request); here a call is one buffer written and a few frames parsed.
//
// Runtime-neutral: Uint8Array only, no `node:` modules. The socket is an OpenByteStream
// (byte-stream.ts) that the runtime supplies; the frame codec lives in frames.ts and HPACK in
// hpack.ts, so this file holds only connection state (Go's ClientConn).
//
// Covered: h2c with prior knowledge and h2 over TLS (ALPN), HPACK (stateless literal encoding,
// full decoding), connection and stream flow control in both directions, CONTINUATION,
// padding, SETTINGS (max concurrent streams queue locally, window and frame size changes),
// PING (answered; sent for liveness checks), GOAWAY (streams above the last id fail as never
// sent), RST_STREAM both ways. Not covered, because unary clients never need them: server push
// (disabled in our SETTINGS), priorities (ignored), informational responses (skipped).

/** Decoded header fields of one HEADERS block; repeated names become arrays. */
export type H2Headers = Record<string, string | string[]>;

/** What a stream reports to the one who opened it. Exactly one of the terminal callbacks runs. */
export interface H2StreamHandler {
  /** A HEADERS block (response headers, then trailers) arrived; `endStream` ends the stream. */
  onHeaders(headers: H2Headers, endStream: boolean): void;
  /** Response body bytes; `endStream` ends the stream. The chunk may share memory with a socket read. */
  onData(chunk: Uint8Array, endStream: boolean): void;
  /** Terminal: the server reset the stream with an HTTP/2 error code. */
  onReset(errorCode: number): void;
  /**
   * Terminal: the server's response broke a per-stream limit (a header list over
   * `maxHeaderListSize`); we reset the stream. The server did receive the request.
   */
  onStreamError(error: H2ProtocolError): void;
  /**
   * Terminal: the connection failed or went away under the stream. `mayHaveBeenSent` is false
   * when the server provably never saw the request (never written, refused by GOAWAY).
   */
  onConnectionError(mayHaveBeenSent: boolean, cause: Error): void;
}

/** A request the connection carries (or holds until the server allows another stream). */
export class H2Stream {
  /** Stream id; 0 while queued. */
  id = 0;
  /** True once the HEADERS frame was handed to the socket. */
  written = false;
  /** True once the stream ended or was reset (no more callbacks). */
  closed = false;
  sendWindow = 0;
  #bodyOffset = 0;
  recvUnacked = 0;
  /** What the server may still send on this stream before our next WINDOW_UPDATE. */
  recvWindow = STREAM_WINDOW;
  /** Bytes the server may send on this stream in all: the initial window plus our updates. */
  recvGranted = STREAM_WINDOW;
  /**
   * Most response body bytes (DATA payloads, padding included) the handler will take. Once the
   * windows granted reach it, no more WINDOW_UPDATEs go out for the stream, so a server that
   * keeps sending breaks flow control. Default: unbounded.
   */
  recvBudget = Infinity;

  constructor(
    readonly headerBlock: Uint8Array,
    readonly body: Uint8Array,
    readonly handler: H2StreamHandler,
  ) {}

  get bodyRemaining(): number {
    return this.body.length - this.#bodyOffset;
  }

  takeBody(n: number): Uint8Array {
    const chunk = this.body.subarray(this.#bodyOffset, this.#bodyOffset + n);
    this.#bodyOffset += n;
    return chunk;
  }
}

/** Options of {@link Http2ClientConnection}. */
export interface H2ConnectionOptions {
  /**
   * Runs the batched socket write soon after the frames of one tick were queued. Default
   * `queueMicrotask`; Node passes `process.nextTick`, which batches across promise callbacks too.
   */
  readonly defer?: ((callback: () => void) => void) | undefined;
  /** Flood and size limits; each field defaults as documented in {@link H2Limits}. */
  readonly limits?: Partial<H2Limits> | undefined;
}

/** Receive window we grant each stream; large enough that a unary response never waits for it. */
const STREAM_WINDOW = 1 << 20;
/** Receive window we grant the connection. */
const CONNECTION_WINDOW = 16 << 20;
/** Last client stream id (2^31 - 1 is odd). */
const MAX_STREAM_ID = MAX_WINDOW;

const SETTINGS_ACK = controlFrame(FrameType.SETTINGS, Flag.ACK, 0, new Uint8Array(0));

export { H2ProtocolError };

/**
 * One HTTP/2 connection. Lifecycle hooks (`onGoaway`, `onClose`) are plain
 * properties the pool sets; requests go through {@link request}.
 */
export class Http2ClientConnection {
  /** True once the socket (and TLS handshake) connected. */
  connected = false;
  /** True once the server's first SETTINGS frame arrived: an HTTP/2 server is really there. */
  established = false;
  /** True once the connection takes no new streams (GOAWAY sent or received, closing, failed). */
  draining = false;
  /** True once the socket is closed. */
  destroyed = false;
  /** Highest stream id the server will process, from its GOAWAY; -1 while none arrived. */
  #goawayLastStreamId = -1;
  onGoaway: (() => void) | undefined;
  /** The socket closed: `error` says why, undefined for an orderly close. */
  onClose: ((error: Error | undefined) => void) | undefined;
  /** The server's first SETTINGS frame arrived (`established` became true). */
  onEstablished: (() => void) | undefined;

  readonly #socket: ByteStream;
  readonly #defer: (callback: () => void) => void;
  readonly #decoder = new HpackDecoder();
  readonly #streams = new Map<number, H2Stream>();
  readonly #queued: H2Stream[] = [];
  readonly #blocked = new Set<H2Stream>();
  #nextStreamId = 1;
  #peerMaxConcurrent = Infinity;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  #connSendWindow = DEFAULT_WINDOW;
  #recvConnUnacked = 0;
  /** What the server may still send on the connection before our next WINDOW_UPDATE. */
  #recvConnWindow = CONNECTION_WINDOW;
  readonly #limits: H2Limits;
  /** SETTINGS/PING acks queued since the socket was last seen with nothing unsent. */
  #acksQueued = 0;
  #input: Uint8Array | undefined;
  #outgoing: Uint8Array[] = [];
  #flushScheduled = false;
  /** Stream id and fragments of a header block awaiting CONTINUATION. */
  #continuing:
    | { streamId: number; endStream: boolean; parts: Uint8Array[]; size: number; continuations: number }
    | undefined;
  readonly #pings = new Map<number, (error: Error | null) => void>();
  #pingCounter = 0;
  #closeCallbacks: Array<() => void> = [];

  constructor(open: OpenByteStream, options: H2ConnectionOptions = {}) {
    this.#defer = options.defer ?? queueMicrotask;
    this.#limits = resolveH2Limits(options.limits);
    const events: ByteStreamEvents = {
      onOpen: () => {
        if (!this.destroyed) this.connected = true;
      },
      onData: (chunk) => this.#receive(chunk),
      onClose: (error) => this.destroy(error),
    };
    this.#socket = open(events);
    // Preface, our settings and the connection window, before anything else.
    const settings = settingsFrame([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
      [Setting.MAX_HEADER_LIST_SIZE, this.#limits.maxHeaderListSize],
    ]);
    const windowUpdate = windowUpdateFrame(0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    const first = new Uint8Array(CLIENT_PREFACE.length + settings.length + windowUpdate.length);
    for (let i = 0; i < CLIENT_PREFACE.length; i++) first[i] = CLIENT_PREFACE.charCodeAt(i);
    first.set(settings, CLIENT_PREFACE.length);
    first.set(windowUpdate, CLIENT_PREFACE.length + settings.length);
    this.#socket.write(first);
  }

  /** Keep (or stop keeping) the process alive for this socket. */
  ref(): void {
    this.#socket.ref?.();
  }

  unref(): void {
    this.#socket.unref?.();
  }

  /**
   * Starts a request: HEADERS (with END_STREAM when `body` is empty), then `body` as DATA ending
   * the stream. Returns false, starting nothing, when the connection takes no new streams.
   */
  request(stream: H2Stream): boolean {
    if (this.draining || this.destroyed) return false;
    if (this.#streams.size >= this.#peerMaxConcurrent) {
      this.#queued.push(stream);
      return true;
    }
    return this.#open(stream);
  }

  /** Abandons a stream: a queued one is dropped, an open one reset with CANCEL. No callback runs. */
  cancel(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    if (stream.id === 0) {
      const i = this.#queued.indexOf(stream);
      if (i >= 0) this.#queued.splice(i, 1);
      return;
    }
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    if (!this.destroyed) this.#write(rstStreamFrame(stream.id, ErrorCode.CANCEL));
    this.#streamEnded();
  }

  /** Sends a PING; `callback` gets null when the peer answered, an error when the connection failed. */
  ping(callback: (error: Error | null) => void): boolean {
    if (this.destroyed) return false;
    const payload = new Uint8Array(8);
    const id = ++this.#pingCounter >>> 0;
    writeUint32(payload, 4, id);
    this.#pings.set(id, callback);
    this.#write(controlFrame(FrameType.PING, 0, 0, payload));
    return true;
  }

  /** Takes no new streams; closes the socket once in-flight streams ended. */
  close(callback?: () => void): void {
    if (callback !== undefined) {
      if (this.destroyed) queueMicrotask(callback);
      else this.#closeCallbacks.push(callback);
    }
    if (this.destroyed) return;
    if (!this.draining) {
      this.draining = true;
      this.#write(goawayFrame(0, ErrorCode.NO_ERROR));
    }
    for (const stream of this.#queued.splice(0)) this.#failStream(stream, false, new Error("the connection is closing"));
    if (this.#streams.size === 0) this.#endSocket();
  }

  /** Closes the socket at once; open streams fail with `error` (or "the connection closed"). */
  destroy(error: Error | undefined): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.draining = true;
    this.#socket.destroy();
    this.#outgoing = [];
    this.#input = undefined;
    this.#continuing = undefined;
    // The pool forgets the connection first, so a stream that is resent below gets a new one.
    this.onClose?.(error);
    const cause = error ?? new Error("the connection closed");
    for (const stream of this.#queued.splice(0)) this.#failStream(stream, false, cause);
    for (const stream of [...this.#streams.values()]) this.#failStream(stream, this.connected && stream.written, cause);
    this.#streams.clear();
    this.#blocked.clear();
    for (const callback of this.#pings.values()) callback(cause);
    this.#pings.clear();
    for (const callback of this.#closeCallbacks.splice(0)) callback();
  }

  #open(stream: H2Stream): boolean {
    const id = this.#nextStreamId;
    if (id > MAX_STREAM_ID) {
      // Out of stream ids: this connection is done; the pool opens another.
      this.draining = true;
      this.onGoaway?.();
      return false;
    }
    this.#nextStreamId += 2;
    stream.id = id;
    stream.sendWindow = this.#peerInitialWindow;
    this.#streams.set(id, stream);
    this.#write(this.#headersFrames(stream));
    stream.written = true;
    if (stream.bodyRemaining > 0) this.#sendBody(stream);
    return true;
  }

  /** HEADERS (and CONTINUATION) frames for a stream, ending it when there is no body. */
  #headersFrames(stream: H2Stream): Uint8Array {
    const block = stream.headerBlock;
    const endStream = stream.body.length === 0 ? Flag.END_STREAM : 0;
    const max = this.#peerMaxFrameSize;
    if (block.length <= max) {
      const frame = new Uint8Array(FRAME_HEADER_LENGTH + block.length);
      writeFrameHeader(frame, 0, block.length, FrameType.HEADERS, endStream | Flag.END_HEADERS, stream.id);
      frame.set(block, FRAME_HEADER_LENGTH);
      return frame;
    }
    const count = Math.ceil(block.length / max);
    const frame = new Uint8Array(FRAME_HEADER_LENGTH * count + block.length);
    let o = 0;
    for (let i = 0, at = 0; i < count; i++, at += max) {
      const part = block.subarray(at, at + max);
      const last = i === count - 1 ? Flag.END_HEADERS : 0;
      const type = i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      writeFrameHeader(frame, o, part.length, type, (i === 0 ? endStream : 0) | last, stream.id);
      frame.set(part, o + FRAME_HEADER_LENGTH);
      o += FRAME_HEADER_LENGTH + part.length;
    }
    return frame;
  }

  /** Sends as much of the stream's body as the windows allow; the rest waits for WINDOW_UPDATE. */
  #sendBody(stream: H2Stream): void {
    while (stream.bodyRemaining > 0) {
      const n = Math.min(stream.bodyRemaining, stream.sendWindow, this.#connSendWindow, this.#peerMaxFrameSize);
      if (n <= 0) {
        this.#blocked.add(stream);
        return;
      }
      const chunk = stream.takeBody(n);
      stream.sendWindow -= n;
      this.#connSendWindow -= n;
      const frame = new Uint8Array(FRAME_HEADER_LENGTH + n);
      writeFrameHeader(frame, 0, n, FrameType.DATA, stream.bodyRemaining === 0 ? Flag.END_STREAM : 0, stream.id);
      frame.set(chunk, FRAME_HEADER_LENGTH);
      this.#write(frame);
    }
    this.#blocked.delete(stream);
  }

  #flushBlocked(): void {
    for (const stream of [...this.#blocked]) {
      if (this.#connSendWindow <= 0) return;
      this.#sendBody(stream);
    }
  }

  /** Queues bytes for the socket; everything queued in one tick goes out in one write. */
  #write(frame: Uint8Array): void {
    this.#outgoing.push(frame);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      this.#defer(this.#flushBound);
    }
  }

  readonly #flushBound = (): void => this.flush();

  /** @internal */
  flush(): void {
    this.#flushScheduled = false;
    const frames = this.#outgoing;
    if (frames.length === 0 || this.destroyed) return;
    this.#outgoing = [];
    this.#socket.write(frames.length === 1 ? frames[0]! : concatBytes(frames));
    // Acks count as queued until the socket is seen with nothing left to send.
    if (this.#acksQueued !== 0 && (this.#socket.bufferedAmount?.() ?? 0) === 0) this.#acksQueued = 0;
  }

  /** Queues a SETTINGS or PING acknowledgement, within `maxOutboundAcks`. */
  #writeAck(frame: Uint8Array): void {
    if (++this.#acksQueued > this.#limits.maxOutboundAcks) {
      throw new H2ProtocolError(
        `the server sent more than ${this.#limits.maxOutboundAcks} SETTINGS/PING frames while not reading our acknowledgements`,
        ErrorCode.ENHANCE_YOUR_CALM,
        "maxOutboundAcks",
      );
    }
    this.#write(frame);
  }

  #endSocket(): void {
    this.flush();
    this.#socket.end();
  }

  #streamEnded(): void {
    while (this.#queued.length > 0 && this.#streams.size < this.#peerMaxConcurrent && !this.draining) {
      const next = this.#queued.shift()!;
      if (!this.#open(next)) {
        this.#failStream(next, false, new Error("the connection ran out of stream ids"));
        for (const rest of this.#queued.splice(0)) this.#failStream(rest, false, new Error("the connection ran out of stream ids"));
      }
    }
    if (this.draining && this.#streams.size === 0 && !this.destroyed) this.#endSocket();
  }

  #failStream(stream: H2Stream, mayHaveBeenSent: boolean, cause: Error): void {
    if (stream.closed) return;
    stream.closed = true;
    if (stream.id !== 0) {
      this.#streams.delete(stream.id);
      this.#blocked.delete(stream);
    }
    stream.handler.onConnectionError(mayHaveBeenSent, cause);
  }

  // ---- receiving ----

  #receive(chunk: Uint8Array): void {
    if (this.destroyed) return;
    let buf = chunk;
    if (this.#input !== undefined) {
      buf = concatBytes([this.#input, chunk]);
      this.#input = undefined;
    }
    let offset = 0;
    try {
      while (buf.length - offset >= FRAME_HEADER_LENGTH) {
        const length = (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
        if (length > DEFAULT_MAX_FRAME_SIZE) {
          throw new H2ProtocolError(`frame of ${length} bytes exceeds our maximum frame size`, ErrorCode.FRAME_SIZE_ERROR);
        }
        const end = offset + FRAME_HEADER_LENGTH + length;
        if (end > buf.length) break;
        const type = buf[offset + 3]!;
        const flags = buf[offset + 4]!;
        const streamId = readUint31(buf, offset + 5);
        this.#frame(type, flags, streamId, buf.subarray(offset + FRAME_HEADER_LENGTH, end));
        offset = end;
        if (this.destroyed) return;
      }
    } catch (e) {
      this.#protocolError(e);
      return;
    }
    if (offset < buf.length) this.#input = buf.subarray(offset);
  }

  #protocolError(e: unknown): void {
    const error =
      e instanceof H2ProtocolError
        ? e
        : e instanceof HpackError
          ? new H2ProtocolError(`bad header compression: ${e.message}`, ErrorCode.COMPRESSION_ERROR)
          : new H2ProtocolError(`internal error: ${String(e)}`, ErrorCode.INTERNAL_ERROR);
    if (!this.destroyed) {
      // Client GOAWAY names the last server-initiated stream; there are none.
      this.#outgoing.push(goawayFrame(0, error.errorCode));
      this.flush();
    }
    const cause = new H2ProtocolError(`HTTP/2 protocol error from the server: ${error.message}`, error.errorCode, error.limit);
    this.destroy(cause);
  }

  #frame(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    if (this.#continuing !== undefined && type !== FrameType.CONTINUATION) {
      throw new H2ProtocolError("expected CONTINUATION", ErrorCode.PROTOCOL_ERROR);
    }
    switch (type) {
      case FrameType.DATA:
        this.#dataFrame(flags, streamId, payload);
        return;
      case FrameType.HEADERS:
        this.#headersFrame(flags, streamId, payload);
        return;
      case FrameType.CONTINUATION:
        this.#continuationFrame(flags, streamId, payload);
        return;
      case FrameType.RST_STREAM:
        this.#rstStreamFrame(streamId, payload);
        return;
      case FrameType.SETTINGS:
        this.#settingsFrame(flags, streamId, payload);
        return;
      case FrameType.PING:
        this.#pingFrame(flags, streamId, payload);
        return;
      case FrameType.GOAWAY:
        this.#goawayFrame(streamId, payload);
        return;
      case FrameType.WINDOW_UPDATE:
        this.#windowUpdateFrame(streamId, payload);
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2ProtocolError("PUSH_PROMISE although push is disabled", ErrorCode.PROTOCOL_ERROR);
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5).
        return;
    }
  }

  /** The stream a frame belongs to, undefined for a closed one; a never-opened id is an error. */
  #streamFor(streamId: number, what: string): H2Stream | undefined {
    if (streamId === 0) throw new H2ProtocolError(`${what} on stream 0`, ErrorCode.PROTOCOL_ERROR);
    const stream = this.#streams.get(streamId);
    if (stream === undefined && (streamId >= this.#nextStreamId || streamId % 2 === 0)) {
      throw new H2ProtocolError(`${what} on stream ${streamId}, which was never opened`, ErrorCode.PROTOCOL_ERROR);
    }
    return stream;
  }

  #dataFrame(flags: number, streamId: number, payload: Uint8Array): void {
    const stream = this.#streamFor(streamId, "DATA");
    // Flow control counts the whole payload, padding included, and closed streams too.
    const n = payload.length;
    if ((this.#recvConnWindow -= n) < 0) {
      throw new H2ProtocolError("the server sent more DATA than the connection's flow-control window allows", ErrorCode.FLOW_CONTROL_ERROR);
    }
    this.#recvConnUnacked += n;
    if (this.#recvConnUnacked >= CONNECTION_WINDOW / 2) {
      this.#write(windowUpdateFrame(0, this.#recvConnUnacked));
      this.#recvConnWindow += this.#recvConnUnacked;
      this.#recvConnUnacked = 0;
    }
    if (stream === undefined) return;
    if ((stream.recvWindow -= n) < 0) {
      throw new H2ProtocolError(`the server sent more DATA than stream ${streamId}'s flow-control window allows`, ErrorCode.FLOW_CONTROL_ERROR);
    }
    const data = unpad(flags, payload);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (endStream) {
      this.#finish(stream);
    } else {
      stream.recvUnacked += n;
      if (stream.recvUnacked >= STREAM_WINDOW / 2) {
        const increment = Math.min(stream.recvUnacked, stream.recvBudget - stream.recvGranted);
        stream.recvUnacked = 0;
        if (increment > 0) {
          this.#write(windowUpdateFrame(stream.id, increment));
          stream.recvWindow += increment;
          stream.recvGranted += increment;
        }
      }
    }
    stream.handler.onData(data, endStream);
  }

  #headersFrame(flags: number, streamId: number, payload: Uint8Array): void {
    let block = unpad(flags, payload);
    if ((flags & Flag.PRIORITY) !== 0) {
      if (block.length < 5) throw new H2ProtocolError("HEADERS too short for its priority", ErrorCode.FRAME_SIZE_ERROR);
      block = block.subarray(5);
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) === 0) {
      this.#checkHeaderBlockSize(block.length);
      this.#continuing = { streamId, endStream, parts: [block], size: block.length, continuations: 0 };
      return;
    }
    this.#checkHeaderBlockSize(block.length);
    this.#headerBlock(streamId, endStream, block);
  }

  #continuationFrame(flags: number, streamId: number, payload: Uint8Array): void {
    const c = this.#continuing;
    if (c === undefined || c.streamId !== streamId) {
      throw new H2ProtocolError("unexpected CONTINUATION", ErrorCode.PROTOCOL_ERROR);
    }
    if (++c.continuations > this.#limits.maxContinuations) {
      throw new H2ProtocolError(
        `more than ${this.#limits.maxContinuations} CONTINUATION frames in one header block`,
        ErrorCode.ENHANCE_YOUR_CALM,
        "maxContinuations",
      );
    }
    c.size += payload.length;
    this.#checkHeaderBlockSize(c.size);
    if (payload.length > 0) c.parts.push(payload);
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.#continuing = undefined;
    this.#headerBlock(streamId, c.endStream, concatBytes(c.parts));
  }

  #checkHeaderBlockSize(size: number): void {
    if (size > this.#limits.maxHeaderBlockBytes) {
      throw new H2ProtocolError(
        `a header block of more than ${this.#limits.maxHeaderBlockBytes} bytes`,
        ErrorCode.ENHANCE_YOUR_CALM,
        "maxHeaderBlockBytes",
      );
    }
  }

  #headerBlock(streamId: number, endStream: boolean, block: Uint8Array): void {
    const stream = this.#streamFor(streamId, "HEADERS");
    // Decoded even for a closed stream: the HPACK table must follow every block. Fields past the
    // list limit are counted, not kept.
    const headers: H2Headers = Object.create(null) as H2Headers;
    const maxSize = this.#limits.maxHeaderListSize;
    let size = 0;
    this.#decoder.decode(block, (name, value) => {
      size += name.length + value.length + 32;
      if (size > maxSize) return;
      const existing = headers[name];
      if (existing === undefined) headers[name] = value;
      else if (typeof existing === "string") headers[name] = [existing, value];
      else existing.push(value);
    });
    if (stream === undefined) return;
    if (size > maxSize) {
      this.cancel(stream);
      stream.handler.onStreamError(
        new H2ProtocolError(
          `the server sent a header list of ${size} bytes, over our SETTINGS_MAX_HEADER_LIST_SIZE of ${maxSize}`,
          ErrorCode.CANCEL,
          "maxHeaderListSize",
        ),
      );
      return;
    }
    const status = headers[":status"];
    if (!endStream && typeof status === "string" && status.length === 3 && status[0] === "1") return; // 1xx
    if (endStream) this.#finish(stream);
    stream.handler.onHeaders(headers, endStream);
  }

  /** The server ended the stream. */
  #finish(stream: H2Stream): void {
    stream.closed = true;
    this.#streams.delete(stream.id);
    if (this.#blocked.delete(stream) || stream.bodyRemaining > 0) {
      // The server answered before reading the whole request: tell it to stop waiting for it.
      this.#write(rstStreamFrame(stream.id, ErrorCode.NO_ERROR));
    }
    this.#streamEnded();
  }

  #rstStreamFrame(streamId: number, payload: Uint8Array): void {
    if (payload.length !== 4) throw new H2ProtocolError("RST_STREAM of the wrong size", ErrorCode.FRAME_SIZE_ERROR);
    const stream = this.#streamFor(streamId, "RST_STREAM");
    if (stream === undefined) return;
    stream.closed = true;
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    this.#streamEnded();
    stream.handler.onReset(readUint32(payload, 0));
  }

  #settingsFrame(flags: number, streamId: number, payload: Uint8Array): void {
    if (streamId !== 0) throw new H2ProtocolError("SETTINGS on a stream", ErrorCode.PROTOCOL_ERROR);
    if ((flags & Flag.ACK) !== 0) {
      if (payload.length !== 0) throw new H2ProtocolError("SETTINGS ack with a payload", ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    if (payload.length % 6 !== 0) throw new H2ProtocolError("SETTINGS of the wrong size", ErrorCode.FRAME_SIZE_ERROR);
    if (!this.established) {
      this.established = true;
      this.onEstablished?.();
    }
    if (payload.length / 6 > this.#limits.maxSettingsEntries) {
      throw new H2ProtocolError(
        `a SETTINGS frame with ${payload.length / 6} entries, more than ${this.#limits.maxSettingsEntries}`,
        ErrorCode.ENHANCE_YOUR_CALM,
        "maxSettingsEntries",
      );
    }
    for (let o = 0; o < payload.length; o += 6) {
      const id = (payload[o]! << 8) | payload[o + 1]!;
      const value = readUint32(payload, o + 2);
      switch (id) {
        case Setting.MAX_CONCURRENT_STREAMS:
          this.#peerMaxConcurrent = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new H2ProtocolError("initial window too large", ErrorCode.FLOW_CONTROL_ERROR);
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          for (const stream of this.#streams.values()) stream.sendWindow += delta;
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) {
            throw new H2ProtocolError(`bad SETTINGS_MAX_FRAME_SIZE ${value}`, ErrorCode.PROTOCOL_ERROR);
          }
          this.#peerMaxFrameSize = value;
          break;
        default:
          // HEADER_TABLE_SIZE does not matter (we never index), ENABLE_PUSH is the server's own,
          // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored.
          break;
      }
    }
    this.#writeAck(SETTINGS_ACK);
    this.#flushBlocked();
    this.#streamEnded();
  }

  #pingFrame(flags: number, streamId: number, payload: Uint8Array): void {
    if (streamId !== 0) throw new H2ProtocolError("PING on a stream", ErrorCode.PROTOCOL_ERROR);
    if (payload.length !== 8) throw new H2ProtocolError("PING of the wrong size", ErrorCode.FRAME_SIZE_ERROR);
    if ((flags & Flag.ACK) === 0) {
      this.#writeAck(controlFrame(FrameType.PING, Flag.ACK, 0, payload));
      return;
    }
    // Our pings carry their id in the low four octets and zeros in the high four.
    const key = readUint32(payload, 0) === 0 ? readUint32(payload, 4) : -1;
    const callback = this.#pings.get(key);
    if (callback !== undefined) {
      this.#pings.delete(key);
      callback(null);
    }
  }

  #goawayFrame(streamId: number, payload: Uint8Array): void {
    if (streamId !== 0) throw new H2ProtocolError("GOAWAY on a stream", ErrorCode.PROTOCOL_ERROR);
    if (payload.length < 8) throw new H2ProtocolError("GOAWAY too short", ErrorCode.FRAME_SIZE_ERROR);
    const lastStreamId = readUint31(payload, 0);
    const errorCode = readUint32(payload, 4);
    this.#goawayLastStreamId =
      this.#goawayLastStreamId < 0 ? lastStreamId : Math.min(this.#goawayLastStreamId, lastStreamId);
    this.draining = true;
    const cause = new Error(
      `the server sent GOAWAY (HTTP/2 error code ${errorCode}, last stream ${lastStreamId})`,
    );
    this.onGoaway?.();
    for (const stream of this.#queued.splice(0)) this.#failStream(stream, false, cause);
    for (const stream of [...this.#streams.values()]) {
      if (stream.id > this.#goawayLastStreamId) this.#failStream(stream, false, cause);
    }
    if (this.#streams.size === 0) this.#endSocket();
  }

  #windowUpdateFrame(streamId: number, payload: Uint8Array): void {
    if (payload.length !== 4) throw new H2ProtocolError("WINDOW_UPDATE of the wrong size", ErrorCode.FRAME_SIZE_ERROR);
    const increment = readUint31(payload, 0);
    if (streamId === 0) {
      if (increment === 0) throw new H2ProtocolError("WINDOW_UPDATE of 0", ErrorCode.PROTOCOL_ERROR);
      this.#connSendWindow += increment;
      if (this.#connSendWindow > MAX_WINDOW) throw new H2ProtocolError("window overflow", ErrorCode.FLOW_CONTROL_ERROR);
      this.#flushBlocked();
      return;
    }
    const stream = this.#streamFor(streamId, "WINDOW_UPDATE");
    if (stream === undefined) return;
    stream.sendWindow += increment;
    if (this.#blocked.has(stream)) this.#sendBody(stream);
  }
}

/** Joins byte arrays into one. */
function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

/** The payload of a DATA or HEADERS frame without its padding. */
function unpad(flags: number, payload: Uint8Array): Uint8Array {
  if ((flags & Flag.PADDED) === 0) return payload;
  if (payload.length < 1) throw new H2ProtocolError("padded frame without a pad length", ErrorCode.FRAME_SIZE_ERROR);
  const padLength = payload[0]!;
  if (padLength >= payload.length) throw new H2ProtocolError("padding exceeds the frame", ErrorCode.PROTOCOL_ERROR);
  return payload.subarray(1, payload.length - padLength);
}
