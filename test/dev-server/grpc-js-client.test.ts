import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../src/dev-server/index.js";
import { startDevServer } from "../../src/dev-server/index.js";
import { encodeGrpcMessage } from "../../src/dev-server/grpc-message.js";

type Callback = (err: grpc.ServiceError | null, res: Record<string, unknown>) => void;
type RawClient = grpc.Client & Record<string, (req: object, md: grpc.Metadata, cb: Callback) => void>;

const protoPath = fileURLToPath(new URL("../../proto/silo/v1/silo.proto", import.meta.url));

/** grpc-js is what the official Node client is built on; it must read the same text as from tonic. */
describe("a grpc-js client", () => {
  let server: DevServer;
  let client: RawClient;

  beforeAll(async () => {
    server = await startDevServer({ port: 0, nodes: 2, shards: 2, tenancy: true });
    const definition = loader.loadSync(protoPath, { longs: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      silo: { v1: { Silo: new (address: string, creds: grpc.ChannelCredentials) => RawClient } };
    };
    client = new pkg.silo.v1.Silo(server.addresses[0] as string, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  const call = (method: string, req: object): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const fn = client[method] as (req: object, md: grpc.Metadata, cb: Callback) => void;
      fn.call(client, req, new grpc.Metadata(), (err, res) => (err ? reject(err) : resolve(res)));
    });

  const failure = (method: string, req: object): Promise<grpc.ServiceError> =>
    call(method, req).then(
      () => {
        throw new Error("expected the call to fail");
      },
      (e: grpc.ServiceError) => e,
    );

  it("reads messages with colons and non-ASCII exactly as the server wrote them", async () => {
    const bad = await failure("Enqueue", { shard: "bad", tenant: "t", taskGroup: "g" });
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toBe("invalid shard ID: bad");
    const shard = server.shards()[0];
    const misrouted = await failure("Enqueue", { shard: shard?.id, tenant: "zzzzz", taskGroup: "g" });
    expect(misrouted.details).toBe(
      `tenant 'zzzzz' is not within shard ${shard?.id} range [-∞, 8000000000000000); refresh topology and retry`,
    );
  });

  it("sees the redirect metadata of a shard owned by another node", async () => {
    const remote = server.shards().find((s) => s.nodeIndex === 1);
    const err = await failure("GetJob", { shard: remote?.id, tenant: "t", id: "x" });
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.metadata.get("x-silo-shard-owner-addr")).toEqual([server.addresses[1]]);
  });
});

describe("grpc-message encoding", () => {
  it("keeps printable ASCII and percent-encodes '%' and everything else", () => {
    expect(encodeGrpcMessage("a: b/c,d")).toBe("a: b/c,d");
    expect(encodeGrpcMessage("100% ∞\n")).toBe("100%25 %E2%88%9E%0A");
  });
});
