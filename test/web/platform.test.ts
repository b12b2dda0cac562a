import { describe, expect, it } from "vitest";
import { SiloGRPCClient, SiloValidationError } from "silo-edge";

describe("the fetch-only build", () => {
  it("speaks gRPC-web by default", () => {
    expect(new SiloGRPCClient({ servers: "localhost:7450" }).protocol).toBe("grpc-web");
  });

  it("refuses HTTP/2 gRPC, which fetch cannot do, naming the protocol option", () => {
    let err: unknown;
    try {
      new SiloGRPCClient({ servers: "localhost:1", protocol: "grpc" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe("protocol");
  });
});
