import { Http2ClientConnection } from "../core/h2/client-connection.js";
import { createGrpcH2Channel, type GrpcH2Channel, type GrpcH2ChannelOptions } from "../core/grpc-h2-channel.js";
import type { H2SessionHandle, H2SessionSource } from "../core/grpc-h2-unary-call.js";
import { cfSocketByteStream, type CfConnect } from "./cf-socket-byte-stream.js";

// gRPC over HTTP/2 from a Worker: the runtime-neutral channel (core/grpc-h2-channel.ts) on a
// connection opened with `connect()` from cloudflare:sockets.
//
// Scope of a connection: workerd lets only the request that opened a socket use it ("Cannot
// perform I/O on behalf of a different request"), and a Worker has no request identity to key a
// cache by (nor a way to ask a socket whose it is: writes from another request queued behind the
// owner's are carried out in the owner's name). What is certain is that code running in one turn
// of the event loop, with the microtasks that follow it, belongs to one request. So a connection
// takes new calls only during the turn that opened it (JOIN_WINDOW_HOPS microtasks, far more than
// the awaits between `Promise.all([...enqueues])` and the channel): all calls a request starts
// together share it, multiplexed, and no other request's call can reach it. A call started later
// (after an await on the network) opens its own connection in its own request. A connection is
// closed as soon as its window is shut and its last call answered, so none outlives its request.

/** Microtask hops during which a new connection takes more calls. */
const JOIN_WINDOW_HOPS = 100;

/** Options of {@link createGrpcSocketChannel}. */
export interface GrpcSocketChannelOptions extends GrpcH2ChannelOptions {
  /** `connect` from cloudflare:sockets. Required. */
  connect: CfConnect;
}

interface SocketSession extends H2SessionHandle {
  /** Streams in flight. */
  active: number;
  /** Out of the channel: its window shut, or the connection is going away. */
  dropped: boolean;
}

/** A unary gRPC channel over `connect()`, one connection per request turn (see above). */
export function createGrpcSocketChannel(options: GrpcSocketChannelOptions): GrpcH2Channel {
  const { connect } = options;
  return createGrpcH2Channel(options, (url, limits) => {
    const tls = url.scheme === "https";
    const parsed = new URL(url.origin);
    const hostname = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
    const port = parsed.port === "" ? (tls ? 443 : 80) : Number(parsed.port);
    let current: SocketSession | undefined;

    const drop = (entry: SocketSession): void => {
      entry.dropped = true;
      if (current === entry) current = undefined;
      if (entry.active === 0 && !entry.session.destroyed) entry.session.close();
    };
    const shutWindow = (entry: SocketSession, hops: number): void => {
      if (hops > 0) queueMicrotask(() => shutWindow(entry, hops - 1));
      else drop(entry);
    };
    const open = (): SocketSession => {
      // Wrapped: workerd's queueMicrotask throws "Illegal invocation" when called as a method.
      const session = new Http2ClientConnection(cfSocketByteStream({ connect, hostname, port, tls }), {
        limits,
        defer: (callback) => queueMicrotask(callback),
      });
      const entry: SocketSession = { session, verifying: undefined, active: 0, dropped: false };
      session.onGoaway = () => drop(entry);
      session.onClose = () => drop(entry);
      current = entry;
      shutWindow(entry, JOIN_WINDOW_HOPS);
      return entry;
    };
    const source: H2SessionSource = {
      origin: url.origin,
      reconnectDelay: () => 0,
      get: () => current ?? open(),
      needsLivenessCheck: () => false,
      verify: () => Promise.resolve(true),
      retain(handle) {
        (handle as SocketSession).active++;
      },
      release(handle) {
        const entry = handle as SocketSession;
        // Runs in the owning request (the answer arrived on its socket): close once done.
        if (--entry.active === 0 && entry.dropped && !entry.session.destroyed) entry.session.close();
      },
      drop: (handle) => drop(handle as SocketSession),
      timerPerCall: true,
    };
    return source;
  });
}
