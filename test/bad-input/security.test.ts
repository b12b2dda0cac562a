import { createServer, connect, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { inspect } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { useCountingListener } from "../support/counting-listener.js";
import { Hono } from "hono";
import { SiloGRPCClient, SiloValidationError, clearTopologyCache, type TokenOption } from "silo-edge";
import { startDevServer } from "silo-edge/dev";
import { fromHeader, silo, type SiloVariables } from "silo-edge/hono";

const SECRET = "tok-5ecr3t-9d8c7b";

// Counts connections: the cases that must fail early prove it by leaving this at 0.
const listener = useCountingListener();

/** Everything a log line or crash report could show about `value`. */
function renderings(value: unknown): string[] {
  const out = [String(value), inspect(value, { depth: Infinity, showHidden: true }), inspect(value, { depth: Infinity, customInspect: false })];
  try {
    out.push(JSON.stringify(value) ?? "");
  } catch {
    // Errors with cycles; the other renderings cover them.
  }
  if (value instanceof Error) out.push(value.message, value.stack ?? "");
  return out;
}

describe("the token stays secret", () => {
  it.each<[string, TokenOption]>([
    ["a string token", SECRET],
    ["a token function", (): string => SECRET],
    ["an async token function", async (): Promise<string> => SECRET],
  ])("with %s, never appears in String(), JSON, util.inspect or console output of the client", (_name, token) => {
    const client = new SiloGRPCClient({ servers: ["silo-1.example.com:7450", "silo-2.example.com"], token });
    for (const text of renderings(client)) expect(text).not.toContain(SECRET);
    expect(Object.keys(client)).toEqual([]);
    expect(`${client}`).toContain("silo-1.example.com:7450");
  });

  it("never appears in the errors of failed calls, nor in anything printed while they fail", async () => {
    const printed: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void printed.push(args.map((a) => inspect(a, { depth: 6 })).join(" "))),
    );
    const server = await startDevServer({ port: 0, token: "the-right-one" });
    try {
      const failures: unknown[] = [];
      // Wrong token: UNAUTHENTICATED from the server.
      const wrong = new SiloGRPCClient({ servers: server.addresses, useTls: false, token: SECRET, timeoutMs: 2_000 });
      failures.push(await wrong.enqueue({ payload: 1, taskGroup: "g" }).catch((e: unknown) => e));
      failures.push(await wrong.getJob("x").catch((e: unknown) => e));
      // Nobody listening: UNAVAILABLE.
      clearTopologyCache();
      const down = new SiloGRPCClient({ servers: "127.0.0.1:1", useTls: false, token: SECRET, timeoutMs: 1_000 });
      failures.push(await down.enqueue({ payload: 1, taskGroup: "g" }).catch((e: unknown) => e));
      // Hanging node: DEADLINE_EXCEEDED.
      clearTopologyCache();
      server.setFault(0, "hang");
      const hung = new SiloGRPCClient({ servers: server.addresses, useTls: false, token: SECRET, timeoutMs: 300 });
      failures.push(await hung.getJob("x").catch((e: unknown) => e));
      server.setFault(0, null);
      // Cleartext to a remote host: validation.
      try {
        new SiloGRPCClient({ servers: "silo.example.com:7450", useTls: false, token: SECRET });
      } catch (e) {
        failures.push(e);
      }
      expect(failures).toHaveLength(5);
      for (const f of failures) {
        expect(f).toBeInstanceOf(Error);
        for (const text of renderings(f)) expect(text).not.toContain(SECRET);
      }
      for (const line of printed) expect(line).not.toContain(SECRET);
    } finally {
      for (const s of spies) s.mockRestore();
      await server.close();
    }
  });
});

describe("TLS by default", () => {
  it.each([
    ["a remote host name", "silo.example.com:7450", true],
    ["a remote IP", "10.1.2.3:7450", true],
    ["a host name that merely starts with 127.", "127.attacker.example:7450", true],
    ["an IPv6 address", "[2001:db8::1]:7450", true],
    ["a mix of loopback and remote servers", ["127.0.0.1:7450", "silo.example.com:7450"], true],
    ["localhost", "localhost:7450", false],
    ["127.0.0.1", "127.0.0.1:7450", false],
    ["another 127/8 address", "127.4.5.6:7450", false],
    ["IPv6 loopback", "[::1]:7450", false],
  ] as const)("for %s is %s", (_name, servers, tls) => {
    expect(new SiloGRPCClient({ servers }).toJSON().useTls).toBe(tls);
  });

  it("can be turned off explicitly for a remote host when no token is sent", () => {
    expect(new SiloGRPCClient({ servers: "silo.internal:7450", useTls: false }).toJSON().useTls).toBe(false);
  });
});

describe("a cleartext token to a non-loopback address", () => {
  it.each([
    ["a token function to a remote host", { servers: "silo.internal:7450", useTls: false, token: () => SECRET }],
    ["a host name that merely starts with 127.", { servers: "127.attacker.example:7450", useTls: false, token: SECRET }],
    ["the second of two servers", { servers: ["127.0.0.1:7450", "10.0.0.8:7450"], useTls: false, token: SECRET }],
    ["an object server", { servers: { host: "10.0.0.8", port: 7450 }, useTls: false, token: SECRET }],
  ])("throws for %s", (_name, options) => {
    let err: unknown;
    try {
      new SiloGRPCClient(options);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe("token");
    expect((err as Error).message).toContain("allowInsecureToken");
    expect((err as Error).message).not.toContain(SECRET);
  });

  it("is refused for a node address learned from the topology, before any connection to it", async () => {
    clearTopologyCache();
    const snapshot = { v: 1, fetchedAtMs: Date.now(), numShards: 1, shards: [{ id: "s1", address: "10.9.8.7:7450", nodeId: "n", rangeStart: "", rangeEnd: "" }] };
    const client = new SiloGRPCClient({ servers: listener.address, useTls: false, token: SECRET, topologyCache: { get: () => snapshot, set: () => undefined } });
    const err = await client.getJob("job").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe("token");
    expect((err as Error).message).toContain("10.9.8.7:7450");
    expect(listener.connections).toBe(0);
  });

  it("is refused for a remote address an addressMap leads to", async () => {
    clearTopologyCache();
    const snapshot = { v: 1, fetchedAtMs: Date.now(), numShards: 1, shards: [{ id: "s1", address: "127.0.0.1:9", nodeId: "n", rangeStart: "", rangeEnd: "" }] };
    const client = new SiloGRPCClient({
      servers: listener.address,
      useTls: false,
      token: SECRET,
      addressMap: { "127.0.0.1:9": "silo-node.internal:7450" },
      topologyCache: { get: () => snapshot, set: () => undefined },
    });
    const err = await client.getJob("job").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SiloValidationError);
    expect((err as SiloValidationError).field).toBe("token");
    expect(listener.connections).toBe(0);
  });

  it("is allowed with allowInsecureToken: true, and over TLS", () => {
    expect(() => new SiloGRPCClient({ servers: "10.0.0.8:7450", useTls: false, token: SECRET, allowInsecureToken: true })).not.toThrow();
    expect(() => new SiloGRPCClient({ servers: "10.0.0.8:7450", token: SECRET })).not.toThrow();
    expect(() => new SiloGRPCClient({ servers: "127.0.0.1:7450", useTls: false, token: SECRET })).not.toThrow();
  });
});

describe("the dev server", () => {
  it("binds to loopback by default", async () => {
    const server = await startDevServer({ port: 0, nodes: 2 });
    try {
      for (const a of server.addresses) expect(a).toMatch(/^127\.0\.0\.1:\d+$/);
      // Not reachable through this machine's other interfaces.
      const external = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && i.family === "IPv4" && !i.internal);
      if (external) {
        const port = Number(server.addresses[0]!.split(":")[1]);
        const reached = await new Promise<boolean>((resolve) => {
          const socket = connect({ host: external.address, port }, () => {
            socket.destroy();
            resolve(true);
          });
          socket.on("error", () => resolve(false));
          socket.setTimeout(1_000, () => {
            socket.destroy();
            resolve(false);
          });
        });
        expect(reached).toBe(false);
      }
    } finally {
      await server.close();
    }
  });
});

describe("tenants taken from request headers", () => {
  it.each([
    ["65 characters", "t".repeat(65)],
    ["empty", ""],
    ["only spaces", "   "],
  ])("are validated before use: a %s tenant header answers 400 and calls nobody", async (_name, value) => {
    const client = new SiloGRPCClient({ servers: listener.address, useTls: false });
    const app = new Hono<{ Variables: SiloVariables }>();
    app.use("*", silo({ client, tenant: fromHeader("x-tenant-id") }));
    app.post("/", async (c) => {
      await c.var.enqueue({ payload: 1, taskGroup: "g" });
      return c.text("enqueued");
    });
    const res = await app.request("/", { method: "POST", headers: { "x-tenant-id": value } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { field?: string; code?: string };
    expect(body).toMatchObject({ code: "SILO_VALIDATION", field: "tenant" });
    expect(listener.connections).toBe(0);
  });
});
