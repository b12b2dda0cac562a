import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import type { Protocol } from "silo-edge";
import { GetClusterInfoResponseSchema } from "../../src/gen/silo/v1/silo_pb.js";

// A scriptable HTTP/1.1 server on loopback that speaks just enough gRPC-web and Connect to hand
// out a topology, and answers every other call with whatever the test scripts: endless bodies,
// lying Content-Lengths, redirects, a slow drip. It records what each request carried, so a test
// can prove what never reached it.

/** What one request carried. */
export interface ReceivedRequest {
  path: string;
  authorization: string | undefined;
  headers: http.IncomingHttpHeaders;
  /** The request body as sent. */
  body: Uint8Array;
}

/** Answers one non-topology request; `res` is the raw Node response. */
export type Script = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface FetchServer {
  /** `host:port`, for `servers`. */
  readonly address: string;
  /** Every request, topology calls included, in arrival order. */
  readonly received: ReceivedRequest[];
  /** What the server answers to calls other than GetClusterInfo. */
  script: Script;
  /** The shard owner GetClusterInfo advertises. Default: this server's own address. */
  advertise: string | undefined;
  close(): Promise<void>;
}

export const SHARD_ID = "6b1c7a52-3a0e-4a57-9d0a-0d9f5b6f2a11";

/** One gRPC frame: flag byte, big-endian length, payload. */
export function grpcFrame(flags: number, payload: Uint8Array, declaredLength = payload.byteLength): Uint8Array {
  const out = new Uint8Array(payload.byteLength + 5);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, declaredLength >>> 0);
  out.set(payload, 5);
  return out;
}

export function grpcWebTrailer(fields: Record<string, string>): Uint8Array {
  const text = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return grpcFrame(0x80, new TextEncoder().encode(text));
}

/** The content type of a successful unary response of `protocol`. */
export function okContentType(protocol: Protocol): string {
  return protocol === "connect" ? "application/proto" : "application/grpc-web+proto";
}

/** A complete successful unary response of `protocol` carrying `message`. */
export function answer(res: http.ServerResponse, protocol: Protocol, message: Uint8Array, extraHeaders: Record<string, string> = {}): void {
  if (protocol === "connect") {
    res.writeHead(200, { "content-type": okContentType(protocol), ...extraHeaders });
    res.end(message);
    return;
  }
  res.writeHead(200, { "content-type": okContentType(protocol), ...extraHeaders });
  res.write(grpcFrame(0, message));
  res.end(grpcWebTrailer({ "grpc-status": "0" }));
}

/** An error answer of `protocol` with `metadata` (trailers-only for gRPC-web, JSON for Connect). */
export function answerError(res: http.ServerResponse, protocol: Protocol, grpcCode: number, connectCode: string, message: string, metadata: Record<string, string> = {}): void {
  if (protocol === "connect") {
    res.writeHead(grpcCode === 5 ? 404 : 500, { "content-type": "application/json", ...metadata });
    res.end(JSON.stringify({ code: connectCode, message }));
    return;
  }
  res.writeHead(200, { "content-type": okContentType(protocol), "grpc-status": String(grpcCode), "grpc-message": encodeURIComponent(message), ...metadata });
  res.end();
}

/** Writes `chunk` until the client goes away, waiting for the socket to drain (bounded memory here too). */
export async function writeForever(res: http.ServerResponse, chunk: Uint8Array, maxBytes = Infinity): Promise<void> {
  let sent = 0;
  while (!res.destroyed && sent < maxBytes) {
    const n = Math.min(chunk.byteLength, maxBytes - sent);
    const ok = res.write(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
    sent += n;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.once("drain", done);
        res.once("close", done);
      });
    }
  }
  if (!res.destroyed) res.end();
}

function clusterInfo(owner: string): Uint8Array {
  return toBinary(
    GetClusterInfoResponseSchema,
    create(GetClusterInfoResponseSchema, {
      numShards: 1,
      shardOwners: [{ shardId: SHARD_ID, grpcAddr: owner, nodeId: "n1", rangeStart: "", rangeEnd: "" }],
      thisNodeId: "n1",
      thisGrpcAddr: owner,
    }),
  );
}

/** Starts a scriptable server on `host` (any 127.x address) and a free port. */
export async function startFetchServer(protocol: Protocol, host = "127.0.0.1", script: Script = (_req, res) => void res.end()): Promise<FetchServer> {
  const sockets = new Set<import("node:net").Socket>();
  const state: FetchServer = {
    address: "",
    received: [],
    script,
    advertise: undefined,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    res.on("error", () => undefined);
    req.on("error", () => undefined);
    const chunks: Buffer[] = [];
    const record: ReceivedRequest = { path: req.url ?? "", authorization: req.headers.authorization, headers: req.headers, body: new Uint8Array(0) };
    state.received.push(record);
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      record.body = new Uint8Array(Buffer.concat(chunks));
      if (req.url?.endsWith("/GetClusterInfo")) {
        answer(res, protocol, clusterInfo(state.advertise ?? state.address));
        return;
      }
      Promise.resolve(state.script(req, res)).catch(() => res.destroy());
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  (state as { address: string }).address = `${host}:${(server.address() as AddressInfo).port}`;
  state.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return state;
}
