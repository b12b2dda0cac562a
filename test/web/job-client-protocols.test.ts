import { describe, expect, it } from "vitest";
import { SiloJobClient as GrpcOnlyJobClient } from "silo-edge/workers-grpc";
import { SiloJobClient, SiloValidationError, type Protocol } from "silo-edge";

// On fetch-only runtimes the fetch-based protocols come with the client classes of "silo-edge":
// their constructors make them available (src/core/platform-web.ts). The SiloJobClient of
// "silo-edge/workers-grpc" does not, so a Worker that uses it alone bundles no fetch channel.
// Steps run in order: the first constructs no class of "silo-edge" yet.

const fieldOf = (protocol: Protocol): unknown => {
  try {
    new GrpcOnlyJobClient({ servers: "localhost:7450", protocol });
  } catch (e) {
    expect(e).toBeInstanceOf(SiloValidationError);
    return (e as SiloValidationError).field;
  }
  return undefined;
};

describe("which protocols a SiloJobClient has on a fetch-only runtime", () => {
  it("the workers-grpc class alone has neither gRPC-web nor Connect, and says which import brings them", () => {
    expect(fieldOf("grpc-web")).toBe("protocol");
    expect(fieldOf("connect")).toBe("protocol");
    expect(() => new GrpcOnlyJobClient({ servers: "localhost:7450" })).toThrow(/import the client from "silo-edge"/);
  });

  it("the class of silo-edge speaks gRPC-web by default, and Connect", () => {
    expect(new SiloJobClient({ servers: "localhost:7450" }).protocol).toBe("grpc-web");
    expect(new SiloJobClient({ servers: "localhost:7450", protocol: "connect" }).protocol).toBe("connect");
  });

  it("once a class of silo-edge was constructed, the bundle has the fetch channels for every client", () => {
    expect(fieldOf("grpc-web")).toBeUndefined();
    expect(new GrpcOnlyJobClient({ servers: "localhost:7450" }).protocol).toBe("grpc-web");
  });
});
