import * as http2 from "node:http2";
import * as net from "node:net";
import { toBinary } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import { GetClusterInfoRequestSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { expectError, transports } from "./harness.js";

/** Send raw bytes on a fresh TCP connection; resolve with whatever comes back before close. */
function rawExchange(address: string, bytes: Buffer): Promise<Buffer> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(port), host, () => socket.write(bytes));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(Buffer.concat(chunks)));
    socket.setTimeout(2_000, () => socket.destroy());
  });
}

/** One gRPC request over a raw HTTP/2 client: resolves with the status and grpc-status. */
function h2Request(address: string, headers: Record<string, string>, body: Uint8Array): Promise<{ status: number; grpcStatus: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ...headers });
    let status = 0;
    let grpcStatus: string | undefined;
    req.on("response", (h) => {
      status = Number(h[":status"]);
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
    });
    req.on("trailers", (t) => {
      if (t["grpc-status"] !== undefined) grpcStatus = String(t["grpc-status"]);
    });
    req.on("data", () => undefined);
    req.on("end", () => {
      session.close();
      resolve({ status, grpcStatus });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A gRPC length-prefixed frame. */
function frame(message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

describe("bad input", () => {
  let server: DevServer;
  let address: string;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, maxBodyBytes: 64 * 1024 });
    address = server.addresses[0] as string;
  });
  afterAll(() => server.close());

  const stillServes = async (): Promise<void> => {
    for (const transport of transports) {
      expect((await transport.client(address).getClusterInfo({})).numShards).toBe(1);
    }
  };

  it("answers garbage over HTTP/1.1 with 400 and keeps serving", async () => {
    const reply = await rawExchange(address, Buffer.from("\x00\x01GARBAGE \xff\xfe\r\n\r\n", "latin1"));
    expect(reply.toString("latin1")).toMatch(/^HTTP\/1\.1 400/);
    await stillServes();
  });

  it("serves a request without a usable Host instead of crashing", async () => {
    const request = (host: string) =>
      `POST /silo.v1.Silo/GetClusterInfo HTTP/1.${host === "" ? "0" : "1"}\r\n${host}` +
      "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    for (const host of ["", "Host: not a host\r\n"]) {
      const reply = await rawExchange(address, Buffer.from(request(host), "latin1"));
      expect(reply.toString("latin1")).toMatch(/^HTTP\/1\.1 200/);
    }
    await stillServes();
  });

  it("drops garbage after the HTTP/2 preface and keeps serving", async () => {
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
    await rawExchange(address, Buffer.concat([preface, Buffer.from([0, 0, 4, 0xff, 0xff, 1, 2, 3, 4, 9, 9, 9, 9])]));
    await stillServes();
  });

  it("survives a connection that closes halfway through the preface", async () => {
    await rawExchange(address, Buffer.from("PRI * HTTP", "latin1"));
    await stillServes();
  });

  it("answers a wrong content type with an error over HTTP/1.1 and HTTP/2", async () => {
    const res = await fetch(`http://${address}/silo.v1.Silo/GetClusterInfo`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    expect(res.status).toBe(415);
    const h2 = await h2Request(address, { ":path": "/silo.v1.Silo/GetClusterInfo", "content-type": "text/plain" }, Buffer.from("hi"));
    expect(h2.status).toBe(415);
    await stillServes();
  });

  it("answers a malformed protobuf with INTERNAL, as tonic does, over gRPC and gRPC-web", async () => {
    const garbage = frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    const h2 = await h2Request(address, { ":path": "/silo.v1.Silo/Enqueue", "content-type": "application/grpc", te: "trailers" }, garbage);
    expect(h2.grpcStatus).toBe(String(Code.Internal));
    const web = await fetch(`http://${address}/silo.v1.Silo/Enqueue`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: garbage,
    });
    const text = Buffer.from(await web.arrayBuffer()).toString("latin1");
    expect(web.headers.get("grpc-status") ?? text).toContain(`grpc-status: ${Code.Internal}`);
    await stillServes();
  });

  it("serves a well-formed raw gRPC request over HTTP/2", async () => {
    const body = frame(toBinary(GetClusterInfoRequestSchema, create(GetClusterInfoRequestSchema)));
    const res = await h2Request(address, { ":path": "/silo.v1.Silo/GetClusterInfo", "content-type": "application/grpc", te: "trailers" }, body);
    expect(res).toEqual({ status: 200, grpcStatus: "0" });
  });

  it.each(transports)("refuses an oversized body with RESOURCE_EXHAUSTED over $name and keeps serving", async (transport) => {
    const shard = server.shards()[0]?.id as string;
    const big = new Uint8Array(200 * 1024).fill(7);
    const err = await expectError(
      transport.client(address).enqueue({ shard, taskGroup: "g", payload: { encoding: { case: "msgpack", value: big } } }),
      Code.ResourceExhausted,
    ).catch((e: unknown) => e);
    // Some HTTP/1.1 clients see the server close while still sending; either way it is an error.
    expect(err).toBeInstanceOf(ConnectError);
    await stillServes();
  });
});
