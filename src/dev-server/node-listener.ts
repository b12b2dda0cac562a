import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";

/** Handler compatible with both `http` and `http2` compat request events (the Connect handler's shape). */
export type NodeRequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** The client connection preface every HTTP/2 connection starts with (RFC 9113, 3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Bun's `node:http2` server reads a handed-over socket through its 'data' events, not its buffer,
 * so bytes put back with `unshift` never reach the session; there the sniffed bytes are re-emitted.
 */
const REPLAYS_BY_DATA_EVENT = "bun" in process.versions;

/**
 * One node's TCP port, speaking gRPC over HTTP/2 cleartext and gRPC-web / Connect over
 * HTTP/1.1 at the same time. The first bytes of each connection decide: the HTTP/2 preface goes
 * to an `http2` server, anything else to an `http` server. Both servers never listen themselves;
 * they are fed sockets through their 'connection' event.
 */
export class NodeListener {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  constructor(handler: NodeRequestHandler) {
    this.h1 = http.createServer(handler as http.RequestListener);
    // Long-running "hang" tests hold requests open; the default 5 min request timeout is fine,
    // but keep-alive sockets must not keep a test process waiting after close().
    this.h1.keepAliveTimeout = 5_000;
    this.h2 = http2.createServer({}, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
    // A broken client must never take the server down: swallow per-session errors.
    this.h2.on("sessionError", () => undefined);
    this.h2.on("session", (session) => session.on("error", () => undefined));
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Bind `host:port` (port 0 picks a free port) and resolve with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    if (this.server !== undefined) throw new Error("node is already listening");
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", () => undefined);
    this.server = server;
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("listener has no TCP address");
    return address.port;
  }

  /** Stop accepting and destroy every open connection, so clients see a broken connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    // What http.Server does for the sockets it accepts itself: without it, Nagle's algorithm holds a
    // response's last small write until the client's delayed ACK (tens of ms per HTTP/1.1 call).
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    let head: Buffer = Buffer.alloc(0);
    const sniff = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const looksH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (looksH2 && head.length < H2_PREFACE.length) return;
      socket.off("data", sniff);
      if (looksH2 && REPLAYS_BY_DATA_EVENT) {
        this.h2.emit("connection", socket);
        socket.emit("data", head);
        return;
      }
      socket.pause();
      // Put the sniffed bytes back. http2 drains a socket's buffered bytes into its session;
      // http's parser reads them through 'data' once the socket flows again.
      socket.unshift(head);
      if (looksH2) {
        this.h2.emit("connection", socket);
      } else {
        this.h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", sniff);
  }
}
