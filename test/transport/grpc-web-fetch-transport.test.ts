import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { EnqueueResponseSchema, Silo } from "../../src/gen/silo/v1/silo_pb.js";
import { createGrpcWebFetchTransport } from "../../src/core/grpc-web-fetch-transport.js";
import { concat, frame, startRawHttp1Server, trailerFrame } from "./raw-servers.js";
import type { RawHttp1Response } from "./raw-servers.js";
import { startSiloTestServer } from "./silo-test-server.js";
import type { SiloTestServer } from "./silo-test-server.js";
import { callError } from "../support/call-error.js";

let server: SiloTestServer;

beforeAll(async () => {
  server = await startSiloTestServer({ protocol: "http1" });
});

afterAll(async () => {
  await server.close();
});

describe("createGrpcWebFetchTransport", () => {
  it("returns the server's response to a unary call made through createClient", async () => {
    const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: server.baseUrl }));
    expect((await client.enqueue({ id: "job-1" })).id).toBe("job-1");
    expect((await client.getJob({ id: "job-2" })).priority).toBe(7);
  });

  it("exposes the error code, the percent-decoded message and the server's metadata on a failed call", async () => {
    const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: server.baseUrl }));
    const notFound = await callError(client.getJob({ id: "missing" }));
    expect(notFound.code).toBe(Code.NotFound);
    expect(notFound.rawMessage).toBe("shard not found");
    expect(notFound.metadata.get("x-silo-shard-owner-addr")).toBe("x:1");
    const precondition = await callError(client.getJob({ id: "percent" }));
    expect(precondition).toMatchObject({ code: Code.FailedPrecondition, rawMessage: "50% done, ünïcode" });
  });

  it("decodes error details from grpc-status-details-bin", async () => {
    const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: server.baseUrl }));
    const err = await callError(client.getJob({ id: "details" }));
    expect(err.code).toBe(Code.Aborted);
    expect(err.findDetails(EnqueueResponseSchema)[0]?.id).toBe("detail-id");
  });

  it("fails a call that outlives its timeoutMs with DeadlineExceeded", async () => {
    const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: server.baseUrl }));
    const err = await callError(client.deleteJob({ id: "sleep:2000" }, { timeoutMs: 50 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it("cancels a call whose signal is aborted with Canceled", async () => {
    const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: server.baseUrl }));
    const controller = new AbortController();
    const pending = client.deleteJob({ id: "sleep:2000" }, { signal: controller.signal, timeoutMs: 5_000 });
    setTimeout(() => controller.abort(), 30);
    expect((await callError(pending)).code).toBe(Code.Canceled);
    const withoutDeadline = new AbortController();
    const pending2 = client.deleteJob({ id: "sleep:2000" }, { signal: withoutDeadline.signal });
    setTimeout(() => withoutDeadline.abort(), 30);
    expect((await callError(pending2)).code).toBe(Code.Canceled);
  });

  it("runs interceptors, which can set request headers and read response headers", async () => {
    const seen: string[] = [];
    const interceptor: Interceptor = (next) => async (req) => {
      req.header.set("x-test-echo", "hello");
      const res = await next(req);
      seen.push(`${req.method.name} echo=${res.header.get("x-test-echo")}`);
      return res;
    };
    const client = createClient(
      Silo,
      createGrpcWebFetchTransport({ baseUrl: server.baseUrl, interceptors: [interceptor] }),
    );
    expect((await client.enqueue({ id: "i" })).id).toBe("i");
    expect(seen).toEqual(["Enqueue echo=hello"]);
    expect((await callError(client.deleteJob({ id: "sleep:2000" }, { timeoutMs: 50 }))).code).toBe(
      Code.DeadlineExceeded,
    );
  });

  it("uses the given fetch with redirect \"manual\" and sets no mode or credentials, which workerd ignores", async () => {
    const inits: RequestInit[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      inits.push(init ?? {});
      return fetch(input, init);
    };
    const client = createClient(
      Silo,
      createGrpcWebFetchTransport({ baseUrl: server.baseUrl, fetch: recordingFetch }),
    );
    await client.enqueue({ id: "f" }, { headers: { "x-test-echo": "1" }, timeoutMs: 1_000 });
    expect(inits).toHaveLength(1);
    expect(Object.keys(inits[0] ?? {}).sort()).toEqual(["body", "headers", "method", "redirect", "signal"]);
    expect(inits[0]?.redirect).toBe("manual");
  });

  it("fails with Unavailable when nothing listens", async () => {
    const gone = await startSiloTestServer({ protocol: "http1" });
    await gone.close();
    const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: gone.baseUrl }));
    expect((await callError(client.enqueue({ id: "x" }))).code).toBe(Code.Unavailable);
  });

  it("rejects streaming calls with Unimplemented and says why", async () => {
    const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: server.baseUrl }));
    const err = await callError(
      (async () => {
        for await (const _ of client.queryArrow({ sql: "q" })) {
          // unreachable
        }
      })(),
    );
    expect(err.code).toBe(Code.Unimplemented);
    expect(err.rawMessage).toMatch(/unary calls only/);
  });
});

describe("createGrpcWebFetchTransport against a misbehaving server", () => {
  const ok = { "content-type": "application/grpc-web+proto" };
  const validMessage = frame(0, new Uint8Array([0x0a, 0x02, 0x69, 0x64])); // EnqueueResponse{id:"id"}

  async function callAgainst(response: RawHttp1Response): Promise<ConnectError | string> {
    const raw = await startRawHttp1Server(() => response);
    try {
      const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: raw.baseUrl }));
      return (await client.enqueue({ id: "x" }, { timeoutMs: 5_000 })).id;
    } catch (e) {
      expect(e).toBeInstanceOf(ConnectError);
      return e as ConnectError;
    } finally {
      await raw.close();
    }
  }

  it("accepts a well-formed hand-written response and exposes its trailer", async () => {
    const raw = await startRawHttp1Server(() => ({
      headers: ok,
      body: concat(validMessage, trailerFrame({ "grpc-status": "0", "x-trailer": "t" })),
    }));
    try {
      const client = createClient(Silo, createGrpcWebFetchTransport({ baseUrl: raw.baseUrl }));
      let trailer: string | null = null;
      const res = await client.enqueue({}, { onTrailer: (t) => (trailer = t.get("x-trailer")) });
      expect(res.id).toBe("id");
      expect(trailer).toBe("t");
    } finally {
      await raw.close();
    }
  });

  it("reads the status of a trailers-only response from its headers", async () => {
    const err = await callAgainst({
      headers: { ...ok, "grpc-status": "7", "grpc-message": "no%20way", "x-silo-shard-owner-addr": "y:2" },
    });
    expect(err).toMatchObject({ code: Code.PermissionDenied, rawMessage: "no way" });
    expect((err as ConnectError).metadata.get("x-silo-shard-owner-addr")).toBe("y:2");
  });

  it("keeps response headers and trailers in the metadata of an error", async () => {
    const err = await callAgainst({
      headers: { ...ok, "x-from-header": "h" },
      body: trailerFrame({ "grpc-status": "14", "grpc-message": "later", "x-from-trailer": "t" }),
    });
    expect(err).toMatchObject({ code: Code.Unavailable, rawMessage: "later" });
    expect((err as ConnectError).metadata.get("x-from-header")).toBe("h");
    expect((err as ConnectError).metadata.get("x-from-trailer")).toBe("t");
  });

  it("maps non-200 HTTP statuses by the gRPC table", async () => {
    expect(await callAgainst({ status: 503, headers: { "content-type": "text/plain" }, body: new TextEncoder().encode("busy") })).toMatchObject({
      code: Code.Unavailable,
      rawMessage: "HTTP 503",
    });
    expect(await callAgainst({ status: 404, headers: { "content-type": "text/plain" } })).toMatchObject({
      code: Code.Unimplemented,
    });
    expect(await callAgainst({ status: 401, headers: {} })).toMatchObject({ code: Code.Unauthenticated });
  });

  it("fails with Unknown on a content type that is not gRPC-web", async () => {
    const err = await callAgainst({ headers: { "content-type": "text/html" }, body: new TextEncoder().encode("<html>") });
    expect(err).toMatchObject({ code: Code.Unknown });
    expect((err as ConnectError).rawMessage).toMatch(/content-type "text\/html"/);
  });

  it("fails with Internal on a truncated frame", async () => {
    const err = await callAgainst({ headers: ok, body: validMessage.subarray(0, 7) });
    expect(err).toMatchObject({ code: Code.Internal });
    expect((err as ConnectError).rawMessage).toMatch(/truncated/);
  });

  it("fails with a typed error when the connection drops mid-body", async () => {
    const err = await callAgainst({
      headers: ok,
      body: concat(validMessage, trailerFrame({ "grpc-status": "0" })),
      cutAfterBytes: 6,
    });
    expect(err).toBeInstanceOf(ConnectError);
    expect([Code.Unavailable, Code.Internal]).toContain((err as ConnectError).code);
  });

  it("fails with Internal on garbage bytes", async () => {
    const err = await callAgainst({ headers: ok, body: new TextEncoder().encode("garbage, not frames") });
    expect(err).toMatchObject({ code: Code.Internal });
  });

  it("fails with Internal when the trailer frame is missing", async () => {
    const err = await callAgainst({ headers: ok, body: validMessage });
    expect(err).toMatchObject({ code: Code.Internal });
    expect((err as ConnectError).rawMessage).toMatch(/trailer/);
  });

  it("fails with Unimplemented when an OK response carries no message", async () => {
    const err = await callAgainst({ headers: ok, body: trailerFrame({ "grpc-status": "0" }) });
    expect(err).toMatchObject({ code: Code.Unimplemented });
  });

  it("fails with Unimplemented on a second response message", async () => {
    const err = await callAgainst({ headers: ok, body: concat(validMessage, validMessage, trailerFrame({ "grpc-status": "0" })) });
    expect(err).toMatchObject({ code: Code.Unimplemented });
  });

  it("fails with Internal on data after the trailer frame", async () => {
    const err = await callAgainst({ headers: ok, body: concat(trailerFrame({ "grpc-status": "0" }), validMessage) });
    expect(err).toMatchObject({ code: Code.Internal });
  });
});
