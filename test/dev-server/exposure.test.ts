import { afterEach, describe, expect, it, vi } from "vitest";
import { SiloGRPCClient, SiloUnauthenticatedError, clearTopologyCache } from "silo-edge";
import { startDevServer } from "silo-edge/dev";

/**
 * The dev server answers anyone who can reach it unless it has a token. On loopback (the
 * default) that is this machine; on any other address it says so, loudly, when it starts.
 */

afterEach(() => {
  vi.restoreAllMocks();
  clearTopologyCache();
});

function captureWarnings(): string[] {
  const warnings: string[] = [];
  vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(" ")));
  return warnings;
}

describe("the dev server on a non-loopback address", () => {
  it("warns that anyone who can reach it can use it, when it has no token", async () => {
    const warnings = captureWarnings();
    const server = await startDevServer({ host: "0.0.0.0", port: 0 });
    try {
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("WARNING: listening on 0.0.0.0 without a token");
      expect(warnings[0]).toContain("not for production");
    } finally {
      await server.close();
    }
  });

  it.each([
    ["with a token", { host: "0.0.0.0", token: "dev-token" }],
    ["on 127.0.0.1 (the default)", {}],
    ["on localhost", { host: "localhost" }],
  ])("stays quiet %s", async (_name, options) => {
    const warnings = captureWarnings();
    const server = await startDevServer({ port: 0, ...options });
    await server.close();
    expect(warnings).toEqual([]);
  });
});

describe("the dev server's token check", () => {
  it.each([
    ["a shorter token", "dev"],
    ["a longer token", "dev-token-and-more"],
    ["a token differing in its last character", "dev-tokeN"],
  ])("refuses %s and accepts the right one", async (_name, wrong) => {
    const server = await startDevServer({ port: 0, token: "dev-token" });
    try {
      const bad = new SiloGRPCClient({ servers: server.addresses, useTls: false, token: wrong, timeoutMs: 2_000 });
      const err = await bad.refreshTopology().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SiloUnauthenticatedError);
      clearTopologyCache();
      const good = new SiloGRPCClient({ servers: server.addresses, useTls: false, token: "dev-token", timeoutMs: 2_000 });
      expect((await good.refreshTopology()).shards.length).toBe(1);
    } finally {
      await server.close();
    }
  });
});
