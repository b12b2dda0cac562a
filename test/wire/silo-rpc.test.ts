// SiloRpc on a fake channel: what reaches the wire, and how encode/decode failures surface.
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EnqueueRequestSchema, GetJobResponseSchema } from "../../src/gen/silo/v1/silo_pb.js";
import { createSiloRpc } from "../../src/core/silo-rpc.js";
import type { UnaryBytesOptions, UnaryBytesResponse, UnaryChannel } from "../../src/core/unary-channel.js";

function fakeChannel(answer: Uint8Array = new Uint8Array(0)) {
  const calls: { path: string; frame: Uint8Array; options: UnaryBytesOptions }[] = [];
  const respond = (): Promise<UnaryBytesResponse> =>
    Promise.resolve({ bytes: answer, header: new Headers({ "x-h": "1" }), trailer: new Headers({ "x-t": "2" }) });
  const channel: UnaryChannel = {
    unaryFrame(path, frame, options) {
      calls.push({ path, frame: frame.slice(), options });
      return respond();
    },
    unaryBytes() {
      throw new Error("SiloRpc sends frames");
    },
  };
  return { channel, calls };
}

describe("SiloRpc", () => {
  it("sends the message after 5 reserved frame bytes to /silo.v1.Silo/<Method>, with the caller's options", async () => {
    const { channel, calls } = fakeChannel();
    const rpc = createSiloRpc(channel);
    const signal = new AbortController().signal;
    await rpc.enqueue({ shard: "s", id: "j", taskGroup: "g", tenant: "t" }, { signal, timeoutMs: 5, headers: { authorization: "Bearer x" } });
    expect(calls[0]!.path).toBe("/silo.v1.Silo/Enqueue");
    expect(calls[0]!.options).toEqual({ signal, timeoutMs: 5, headers: { authorization: "Bearer x" } });
    const sent = fromBinary(EnqueueRequestSchema, calls[0]!.frame.subarray(5));
    expect(equals(EnqueueRequestSchema, sent, create(EnqueueRequestSchema, { shard: "s", id: "j", taskGroup: "g", tenant: "t" }))).toBe(true);
  });

  it("rejects a message it cannot encode with INTERNAL, and encodes the next call cleanly", async () => {
    const { channel, calls } = fakeChannel();
    const rpc = createSiloRpc(channel);
    const err = await rpc.enqueue({ id: "first", startAtMs: 2n ** 64n, taskGroup: "g" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Internal);
    expect((err as ConnectError).rawMessage).toBe("failed to serialize silo.v1.EnqueueRequest");
    expect(calls).toHaveLength(0);
    await rpc.enqueue({ id: "second", taskGroup: "g" });
    const sent = fromBinary(EnqueueRequestSchema, calls[0]!.frame.subarray(5));
    expect(sent.id).toBe("second");
    expect(sent.startAtMs).toBe(0n);
  });

  it("decodes the response into a message of the generated type", async () => {
    const answer = toBinary(GetJobResponseSchema, create(GetJobResponseSchema, { id: "j", status: 2, metadata: { a: "b" } }));
    const rpc = createSiloRpc(fakeChannel(answer).channel);
    const res = await rpc.getJob({ shard: "s", id: "j" });
    expect(res.$typeName).toBe("silo.v1.GetJobResponse");
    expect(equals(GetJobResponseSchema, res, create(GetJobResponseSchema, { id: "j", status: 2, metadata: { a: "b" } }))).toBe(true);
  });

  it("turns an undecodable response into INTERNAL with the response headers and trailers as metadata", async () => {
    const rpc = createSiloRpc(fakeChannel(new Uint8Array([0x0a, 0x05, 0x61])).channel);
    const err = (await rpc.getJob({ shard: "s", id: "j" }).catch((e: unknown) => e)) as ConnectError;
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("protocol error: failed to decode silo.v1.GetJobResponse");
    expect(err.metadata.get("x-h")).toBe("1");
    expect(err.metadata.get("x-t")).toBe("2");
  });
});
