// The socket seam under the HTTP/2 core: the only thing the core needs from a runtime is an
// ordered, reliable byte stream to the server. Go's http2 transport sits on a net.Conn the same
// way; nghttp2 on send/recv callbacks.
//
// Writing an adapter (node:net/node:tls in src/node/h2/node-byte-stream.ts; a Worker's
// `connect()` from cloudflare:sockets would be another):
// - `open(events)` starts connecting and returns at once. It must not call any event before it
//   returns; the core writes its connection preface right away, so `write` before the transport
//   is connected must queue the bytes (Node's socket does; a `WritableStreamDefaultWriter` does).
// - `onOpen` once the transport (and TLS, with "h2" negotiated where ALPN exists) is up. Without
//   it the core treats a later failure as "never connected": streams fail as not sent.
// - `onData(chunk)` for every chunk read, in order. The core keeps references into the chunk, so
//   the adapter must not reuse its memory afterwards (a fresh buffer per read).
// - `onClose(error)` once when the stream is finished: `undefined` for an orderly close by the
//   peer, an Error for anything else (connect refused, reset, TLS failure). Further events are
//   ignored, so calling it again (e.g. "error" then "close") is harmless.
// - `end()` after the core's last bytes (a graceful close: flush, then FIN); `destroy()` drops
//   everything at once. Neither may throw; neither has to call `onClose` (the core already
//   knows), but may.
// - `bufferedAmount` is optional: bytes the adapter holds unsent. The core uses it to bound the
//   acknowledgements it queues for a peer that stopped reading.
// - `ref`/`unref` are optional: Node uses them so an idle pooled connection does not keep the
//   process alive. Runtimes without the notion leave them out.
// - Writes never throw; a failed write surfaces as `onClose(error)`.

/** What the adapter reports to the core. */
export interface ByteStreamEvents {
  /** Connected; bytes written from now on reach the peer. At most once. */
  onOpen(): void;
  /** Bytes from the peer, in order. The core may keep references into `chunk`. */
  onData(chunk: Uint8Array): void;
  /** The stream is over: `undefined` when the peer closed it, else why it failed. */
  onClose(error: Error | undefined): void;
}

/** A connected (or connecting) byte stream, as the core drives it. */
export interface ByteStream {
  /** Queues bytes for the peer, in order; queues them too while still connecting. */
  write(bytes: Uint8Array): void;
  /** Closes gracefully once everything written has been sent. */
  end(): void;
  /** Closes at once, dropping anything unsent. */
  destroy(): void;
  /**
   * Bytes written but not yet taken by the transport (Node's `writableLength`). Lets the core
   * tell a peer that stops reading from one that is merely busy; without it the core assumes
   * every write is taken at once.
   */
  bufferedAmount?(): number;
  /** Keep the host process alive while this stream is open (Node only). */
  ref?(): void;
  /** Let the host process exit although this stream is open (Node only). */
  unref?(): void;
}

/** Starts connecting and returns the stream; reports through `events` from then on. */
export type OpenByteStream = (events: ByteStreamEvents) => ByteStream;
