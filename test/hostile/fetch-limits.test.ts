import type * as http from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { SiloError, SiloGRPCClient, clearTopologyCache, type Protocol } from "silo-edge";
import { createGrpcWebFetchTransport } from "silo-edge/connect";
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES } from "../../src/core/bounded-body-reader.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetJobResponseSchema, Silo } from "../../src/gen/silo/v1/silo_pb.js";
import { answer, grpcFrame, okContentType, startFetchServer, writeForever, type FetchServer } from "./fetch-server.js";
import { measure, MiB } from "./heap-probe.js";

/**
 * A hostile server on the fetch transports (gRPC-web and Connect over HTTP/1.1) that sends too
 * much, or too slowly. Every case must fail with a typed error within the deadline plus 1 s,
 * with memory growth well under 64 MB, and the client must stop reading (the server sees the
 * connection go). The receive limit is the upstream client's 128 MiB by default
 * (typescript_client/src/client.ts: maxReceiveMessageLength).
 */

const DEADLINE_MS = 2_000;
const SLACK_MS = 1_000;
/** "Well under 64 MB". */
const MAX_GROWTH = 32 * MiB;

const zeros = new Uint8Array(64 * 1024);

interface Case {
  name: string;
  /** The client's maxReceiveMessageBytes; undefined for the default. */
  limit: (protocol: Protocol) => number | undefined;
  script: (protocol: Protocol, closed: () => void) => (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void;
  code: SiloError["code"];
  /** The message must say which limit was crossed. */
  message: RegExp;
}

const cases: Case[] = [
  {
    name: "an endless body",
    limit: () => 4 * MiB,
    script: (protocol, closed) => async (_req, res) => {
      res.on("close", closed);
      res.writeHead(200, { "content-type": okContentType(protocol) });
      await writeForever(res, zeros);
    },
    code: "SILO_RESOURCE_EXHAUSTED",
    message: /maxReceiveMessageBytes \(4194304 bytes\)/,
  },
  {
    name: "a 1 GB body",
    // gRPC-web: the default limit, refused from the frame's declared length before its bytes
    // arrive. Connect has no length prefix, so a smaller limit keeps the buffered part small.
    limit: (protocol) => (protocol === "connect" ? 8 * MiB : undefined),
    script: (protocol, closed) => async (_req, res) => {
      res.on("close", closed);
      res.writeHead(200, { "content-type": okContentType(protocol) });
      if (protocol !== "connect") res.write(grpcFrame(0, new Uint8Array(0), 1024 * MiB).subarray(0, 5));
      await writeForever(res, zeros, 1024 * MiB);
    },
    code: "SILO_RESOURCE_EXHAUSTED",
    message: /maxReceiveMessageBytes/,
  },
  {
    name: "a Content-Length of 1 TB",
    limit: () => undefined,
    script: (protocol, closed) => (_req, res) => {
      res.on("close", closed);
      res.writeHead(200, { "content-type": okContentType(protocol), "content-length": String(1024 * 1024 * MiB) });
      res.write(zeros);
      // ...and then nothing: the client must not wait for the rest.
    },
    code: "SILO_RESOURCE_EXHAUSTED",
    message: new RegExp(`Content-Length of ${1024 * 1024 * MiB} bytes exceeds maxReceiveMessageBytes \\(${DEFAULT_MAX_RECEIVE_MESSAGE_BYTES} bytes\\)`),
  },
  {
    name: "a slow drip of one byte every 100 ms, past the deadline",
    limit: () => undefined,
    script: (protocol, closed) => async (_req, res) => {
      res.on("close", closed);
      res.writeHead(200, { "content-type": okContentType(protocol) });
      while (!res.destroyed) {
        res.write(new Uint8Array(1));
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    code: "SILO_DEADLINE_EXCEEDED",
    message: /deadline/,
  },
];

describe.each<Protocol>(["grpc-web", "connect"])("a hostile %s server", (protocol) => {
  let server: FetchServer;

  beforeAll(async () => {
    server = await startFetchServer(protocol);
  });
  afterEach(() => clearTopologyCache());
  afterAll(() => server.close());

  it.each(cases)("sending $name fails fast, typed, with bounded memory, and the read is stopped", async ({ limit, script, code, message }) => {
    let serverSawClose = false;
    const sawClose = new Promise<void>((resolve) => {
      server.script = script(protocol, () => {
        serverSawClose = true;
        resolve();
      });
    });
    const maxReceiveMessageBytes = limit(protocol);
    const client = new SiloGRPCClient({
      servers: server.address,
      useTls: false,
      protocol,
      timeoutMs: DEADLINE_MS,
      shardRouting: { maxRetries: 0 },
      ...(maxReceiveMessageBytes === undefined ? {} : { maxReceiveMessageBytes }),
    });
    await client.refreshTopology();

    const { outcome, ms, peakGrowth } = await measure(() => client.getJob("job-1"));

    expect(outcome).toBeInstanceOf(SiloError);
    expect((outcome as SiloError).code).toBe(code);
    expect((outcome as SiloError).message).toMatch(message);
    expect(ms).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
    expect(peakGrowth).toBeLessThan(MAX_GROWTH);
    // The client cancelled the body: the server sees the connection end instead of writing on.
    await Promise.race([sawClose, new Promise((r) => setTimeout(r, SLACK_MS))]);
    expect(serverSawClose).toBe(true);
  });

  it.each([
    ["exactly at", 0, "job-"],
    ["one byte over", -1, null],
  ] as const)("reads a message %s maxReceiveMessageBytes in full, and refuses one byte more", async (_name, delta, want) => {
    const message = toBinary(GetJobResponseSchema, create(GetJobResponseSchema, { id: `job-${"x".repeat(100_000)}` }));
    server.script = (_req, res) => answer(res, protocol, message);
    const client = new SiloGRPCClient({
      servers: server.address,
      useTls: false,
      protocol,
      timeoutMs: DEADLINE_MS,
      shardRouting: { maxRetries: 0 },
      maxReceiveMessageBytes: message.byteLength + delta,
    });
    const outcome = await client.getJob("job-1").catch((e: unknown) => e);
    if (want === null) {
      expect(outcome).toBeInstanceOf(SiloError);
      expect((outcome as SiloError).code).toBe("SILO_RESOURCE_EXHAUSTED");
    } else {
      expect((outcome as { id: string }).id.startsWith(want)).toBe(true);
      expect((outcome as { id: string }).id).toHaveLength(100_004);
    }
  });

  it("rejects a maxReceiveMessageBytes that is not a positive integer before any call", () => {
    for (const bad of [0, -1, 1.5, "1000", Number.NaN]) {
      expect(() => new SiloGRPCClient({ servers: server.address, useTls: false, protocol, maxReceiveMessageBytes: bad as number })).toThrow(/maxReceiveMessageBytes/);
    }
  });
});

describe("a hostile Connect server's error body", () => {
  it("is read only up to 1 MiB: an endless JSON error fails typed, fast and with bounded memory", async () => {
    const server = await startFetchServer("connect");
    try {
      server.script = async (_req, res) => {
        res.writeHead(500, { "content-type": "application/json" });
        res.write('{"code":"internal","message":"');
        await writeForever(res, new Uint8Array(64 * 1024).fill(0x61));
      };
      const client = new SiloGRPCClient({ servers: server.address, useTls: false, protocol: "connect", timeoutMs: DEADLINE_MS, shardRouting: { maxRetries: 0 } });
      await client.refreshTopology();
      const { outcome, ms, peakGrowth } = await measure(() => client.getJob("job-1"));
      expect(outcome).toBeInstanceOf(SiloError);
      expect((outcome as SiloError).code).toBe("SILO_RESOURCE_EXHAUSTED");
      expect((outcome as SiloError).message).toContain("the error body limit (1048576 bytes)");
      expect(ms).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
      expect(peakGrowth).toBeLessThan(MAX_GROWTH);
    } finally {
      clearTopologyCache();
      await server.close();
    }
  });
});

describe("createGrpcWebFetchTransport's maxReceiveMessageBytes", () => {
  it("stops an endless body with RESOURCE_EXHAUSTED, for Connect clients built on the transport", async () => {
    const server = await startFetchServer("grpc-web");
    try {
      server.script = async (_req, res) => {
        res.writeHead(200, { "content-type": okContentType("grpc-web") });
        await writeForever(res, zeros);
      };
      const rpc = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: `http://${server.address}`, maxReceiveMessageBytes: 1024 * 1024 }));
      const { outcome, ms } = await measure(() => rpc.getJob({ id: "job-1" }, { timeoutMs: DEADLINE_MS }));
      expect(outcome).toBeInstanceOf(ConnectError);
      expect((outcome as ConnectError).code).toBe(Code.ResourceExhausted);
      expect(ms).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
    } finally {
      await server.close();
    }
  });
});
