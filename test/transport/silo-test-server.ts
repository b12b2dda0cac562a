import * as http from "node:http";
import * as http2 from "node:http2";
import { Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { EnqueueResponseSchema, Silo } from "../../src/gen/silo/v1/silo_pb.js";

/** A real Connect server for the Silo service on a real socket, for transport tests and benchmarks. */
export interface SiloTestServer {
  port: number;
  /** `http://127.0.0.1:<port>` (`https://` with `tls`) */
  readonly baseUrl: string;
  /** HTTP/2 sessions (or HTTP/1 connections) accepted since start. */
  readonly connections: number;
  /** Calls received per method name (`enqueue`, `getJob`, ...). */
  readonly calls: Map<string, number>;
  /** Called when `expediteJob` is received, before it hangs until the client gives up. */
  onExpedite: (() => void) | undefined;
  /** Kills every open connection at once (no GOAWAY), like a crashed server. */
  dropConnections(): void;
  /** Sends GOAWAY on every open HTTP/2 session and closes it once its streams are done. */
  goAway(): void;
  /** Closes the listener and kills all connections. */
  close(): Promise<void>;
  /** Closes, then listens again on the same port, like a restarted server. */
  restart(): Promise<void>;
}

export interface SiloTestServerOptions {
  /** `"h2c"` for gRPC, `"http1"` for gRPC-web and Connect over fetch. Default: "h2c". */
  protocol?: "h2c" | "http1";
  /** Default: 0 (any free port). */
  port?: number;
  /** Serve HTTP/2 over TLS with this key and certificate (only with protocol "h2c"). Default: cleartext. */
  tls?: { key: string; cert: string };
}

/** Sleeps for `ms`, resolving early (without error) when the call is aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startSiloTestServer(options: SiloTestServerOptions = {}): Promise<SiloTestServer> {
  const protocol = options.protocol ?? "h2c";
  const calls = new Map<string, number>();
  const count = (method: string): void => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
  };
  let connections = 0;
  const open = new Set<Socket | http2.ServerHttp2Session>();

  const state: SiloTestServer = {
    port: options.port ?? 0,
    get baseUrl() {
      return `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${state.port}`;
    },
    get connections() {
      return connections;
    },
    calls,
    onExpedite: undefined,
    dropConnections() {
      for (const c of open) c.destroy();
      open.clear();
    },
    goAway() {
      for (const c of open) if (!(c instanceof Socket)) c.close();
    },
    close: async () => {
      state.dropConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    restart: async () => {
      await state.close();
      server = createServer();
      await listen(state.port);
    },
  };

  const impl: Partial<ServiceImpl<typeof Silo>> = {
    enqueue(req, ctx) {
      count("enqueue");
      const echo = ctx.requestHeader.get("x-test-echo");
      if (echo !== null) ctx.responseHeader.set("x-test-echo", echo);
      return { id: req.id === "" ? "generated-id" : req.id };
    },
    getJob(req) {
      count("getJob");
      if (req.id === "missing") {
        throw new ConnectError("shard not found", Code.NotFound, new Headers({ "x-silo-shard-owner-addr": "x:1" }));
      }
      if (req.id === "percent") throw new ConnectError("50% done, ünïcode", Code.FailedPrecondition);
      if (req.id === "details") {
        throw new ConnectError("with details", Code.Aborted, undefined, [
          { desc: EnqueueResponseSchema, value: { id: "detail-id" } },
        ]);
      }
      return { id: req.id, priority: 7 };
    },
    async deleteJob(req, ctx) {
      count("deleteJob");
      const ms = Number(req.id.replace(/^sleep:/, ""));
      await sleep(ms, ctx.signal);
      return {};
    },
    async expediteJob(_req, ctx) {
      count("expediteJob");
      state.onExpedite?.();
      await sleep(30_000, ctx.signal);
      return {};
    },
    async *queryArrow(req) {
      count("queryArrow");
      for (let i = 0; i < 3; i++) yield { ipcData: new TextEncoder().encode(`${req.sql}:${i}`) };
    },
  };
  const handler = connectNodeAdapter({ routes: (router) => router.service(Silo, impl) });

  function createServer(): http.Server | http2.Http2Server | http2.Http2SecureServer {
    if (protocol === "h2c") {
      const s = options.tls === undefined ? http2.createServer(handler) : http2.createSecureServer(options.tls, handler);
      s.on("session", (session) => {
        connections++;
        open.add(session);
        session.on("close", () => open.delete(session));
      });
      return s;
    }
    const s = http.createServer(handler);
    s.keepAliveTimeout = 60_000;
    s.on("connection", (socket) => {
      connections++;
      open.add(socket);
      socket.on("close", () => open.delete(socket));
    });
    return s;
  }

  let server = createServer();
  function listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        state.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }
  await listen(state.port);
  return state;
}
