import type { ByteStream, ByteStreamEvents, OpenByteStream } from "../core/h2/byte-stream.js";

// The HTTP/2 core's byte stream over a Worker's `connect()` (cloudflare:sockets). `connect` is
// passed in rather than imported, so this file loads anywhere (tests, type checks); only
// src/workers/platform-workerd.ts imports cloudflare:sockets.

/** The part of a cloudflare:sockets `Socket` the adapter uses. */
export interface CfSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<unknown>;
  close(): Promise<void>;
}

/** `connect` from cloudflare:sockets, as far as the adapter calls it. */
export type CfConnect = (
  address: { hostname: string; port: number },
  options: { secureTransport: "off" | "on"; allowHalfOpen: boolean },
) => CfSocket;

/** Where and how to connect. */
export interface CfSocketByteStreamOptions {
  readonly connect: CfConnect;
  readonly hostname: string;
  readonly port: number;
  /**
   * TLS (`secureTransport: "on"`). `connect()` offers no ALPN, so the far end must speak HTTP/2
   * on TLS without negotiating it (a TCP-level TLS terminator in front of Silo).
   */
  readonly tls: boolean;
}

/** An {@link OpenByteStream} over `connect()`. */
export function cfSocketByteStream(options: CfSocketByteStreamOptions): OpenByteStream {
  return (events) => openCfSocket(options, events);
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function openCfSocket(options: CfSocketByteStreamOptions, events: ByteStreamEvents): ByteStream {
  const { hostname, port, tls } = options;
  let closed = false;
  const close = (error: Error | undefined): void => {
    if (closed) return;
    closed = true;
    events.onClose(error);
  };
  let socket: CfSocket;
  try {
    // Called unbound: workerd's connect rejects any `this` ("Illegal invocation").
    const connect = options.connect;
    socket = connect({ hostname, port }, { secureTransport: tls ? "on" : "off", allowHalfOpen: false });
  } catch (e) {
    // connect() throws at once for an address it refuses; the core hears of it after open returns.
    const error = asError(e);
    queueMicrotask(() => close(error));
    return { write() {}, end() {}, destroy() {} };
  }
  const writer = socket.writable.getWriter();
  let buffered = 0;
  socket.opened.then(
    () => {
      if (!closed) events.onOpen();
    },
    (e: unknown) => close(asError(e)),
  );
  void (async () => {
    const reader = socket.readable.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || closed) break;
        // Each read is a fresh chunk, so the core may keep references into it.
        events.onData(value);
      }
      close(undefined);
    } catch (e) {
      close(asError(e));
    }
  })();
  return {
    write(bytes) {
      if (closed) return;
      buffered += bytes.length;
      writer.write(bytes).then(
        () => {
          buffered -= bytes.length;
        },
        (e: unknown) => close(asError(e)),
      );
    },
    end() {
      writer.close().catch(() => {});
    },
    destroy() {
      closed = true;
      socket.close().catch(() => {});
    },
    bufferedAmount: () => buffered,
  };
}
