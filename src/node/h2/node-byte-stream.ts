import { createRequire } from "node:module";
import * as net from "node:net";
import type * as tls from "node:tls";
import type { ByteStream, ByteStreamEvents, OpenByteStream } from "../../core/h2/byte-stream.js";

// The HTTP/2 core's byte stream over node:net (h2c, prior knowledge) or node:tls (h2 with ALPN).

/** Where and how to connect. */
export interface NodeByteStreamOptions {
  /** `http:` (h2c, prior knowledge) or `https:` (h2 over TLS with ALPN). */
  readonly protocol: "http:" | "https:";
  readonly hostname: string;
  readonly port: number;
  /** TLS options (CA, servername, ...) for `https:`. */
  readonly tlsOptions?: tls.ConnectionOptions | undefined;
}

// node:tls is loaded on the first https: connection, not at import: it costs a cleartext (h2c)
// process several ms of start-up for nothing. require() of a built-in is synchronous, as a socket
// is opened here.
let tlsModule: typeof tls | undefined;
const loadTls = (): typeof tls => (tlsModule ??= createRequire(import.meta.url)("node:tls") as typeof tls);
/** Size of the buffer each cleartext read lands in: Node's own read size. */
const READ_BUFFER_BYTES = 64 * 1024;

/** An {@link OpenByteStream} that connects a Node socket. */
export function nodeByteStream(options: NodeByteStreamOptions): OpenByteStream {
  return (events) => openNodeSocket(options, events);
}

function openNodeSocket(options: NodeByteStreamOptions, events: ByteStreamEvents): ByteStream {
  const { protocol, hostname, port, tlsOptions } = options;
  let socket: net.Socket;
  if (protocol === "https:") {
    const servername = tlsOptions?.servername ?? (net.isIP(hostname) === 0 ? hostname : undefined);
    const tlsSocket = loadTls().connect({
      ...tlsOptions,
      host: hostname,
      port,
      ALPNProtocols: ["h2"],
      ...(servername === undefined ? {} : { servername }),
    });
    socket = tlsSocket;
    tlsSocket.once("secureConnect", () => {
      if (tlsSocket.alpnProtocol !== "h2") {
        events.onClose(new Error(`${hostname}:${port} did not negotiate HTTP/2 (ALPN "h2") over TLS`));
        tlsSocket.destroy();
        return;
      }
      events.onOpen();
    });
  } else {
    // Reads land in one buffer and go straight to the core, past the Readable stream machinery
    // (push, "data" event, a nextTick per read), which at one call in flight ran on every call.
    // The core keeps references into chunks, so each read is copied out of the shared buffer.
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const readBytes = new Uint8Array(readBuffer.buffer, readBuffer.byteOffset, readBuffer.byteLength);
    socket = net.connect({
      host: hostname,
      port,
      onread: {
        buffer: readBuffer,
        callback: (n: number) => {
          events.onData(readBytes.slice(0, n));
          return true;
        },
      },
    });
    socket.once("connect", () => events.onOpen());
  }
  socket.setNoDelay(true);
  // TLS sockets read through the stream (node:tls takes no `onread`).
  if (protocol === "https:") socket.on("data", (chunk: Buffer) => events.onData(chunk));
  socket.on("error", (error) => {
    // A TLS server that speaks only HTTP/1.1 rejects the "h2" ALPN offer with this alert.
    if (/no application protocol/i.test(error.message)) {
      error = new Error(`${hostname}:${port} did not negotiate HTTP/2 (ALPN "h2") over TLS: ${error.message}`, { cause: error });
    }
    events.onClose(error);
  });
  socket.on("close", () => events.onClose(undefined));
  return {
    write: (bytes) => {
      socket.write(bytes);
    },
    end: () => {
      socket.end();
    },
    destroy: () => {
      socket.destroy();
    },
    bufferedAmount: () => socket.writableLength,
    ref: () => {
      socket.ref();
    },
    unref: () => {
      socket.unref();
    },
  };
}
