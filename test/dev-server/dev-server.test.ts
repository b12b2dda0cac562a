import * as net from "node:net";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { initialRanges, startDevServer } from "../../src/dev-server/index.js";
import { toConnectError } from "../../src/dev-server/errors.js";
import { retryDelayMs } from "../../src/dev-server/retry-backoff.js";
import { formatRange } from "../../src/dev-server/shard-ranges.js";
import { create } from "@bufbuild/protobuf";
import { RetryPolicySchema } from "../../src/gen/silo/v1/silo_pb.js";

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * startDevServer on a port seen free just before. Test files run side by side, so another one may
 * take that port or the next one meanwhile: on EADDRINUSE, probe again.
 */
async function startOnFreePort(nodes: number): Promise<{ port: number; server: Awaited<ReturnType<typeof startDevServer>> }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { port, server: await startDevServer({ port, nodes }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt === 5) throw err;
    }
  }
}

describe("startDevServer", () => {
  it("puts node i on port + i", async () => {
    const { port, server } = await startOnFreePort(2);
    try {
      expect(server.addresses).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port + 1}`]);
    } finally {
      await server.close();
    }
  });

  it("logs through the log option and closes twice without error", async () => {
    const lines: string[] = [];
    const server = await startDevServer({ port: 0, log: (l) => lines.push(l) });
    await server.close();
    await server.close();
    expect(lines.some((l) => l.includes(server.addresses[0] as string))).toBe(true);
    expect(lines.at(-1)).toBe("dev server closed");
  });

  it("reports every invalid option together", async () => {
    await expect(startDevServer({ nodes: 0, shards: 1.5, leaseMs: -1, token: "" })).rejects.toThrow(
      /nodes must be an integer >= 1.*shards must be an integer >= 1.*leaseMs must be > 0.*token must not be empty/,
    );
  });

  it("refuses a port that is already taken", async () => {
    const first = await startDevServer({ port: 0 });
    try {
      const port = Number(first.addresses[0]?.split(":")[1]);
      await expect(startDevServer({ port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});

describe("shard ranges", () => {
  it("use one unbounded range for a single shard", () => {
    expect(initialRanges(1)).toEqual([{ start: "", end: "" }]);
  });

  it("split the u64 space at floor(i * 2^64 / N)", () => {
    expect(initialRanges(3)).toEqual([
      { start: "", end: "5555555555555555" },
      { start: "5555555555555555", end: "aaaaaaaaaaaaaaaa" },
      { start: "aaaaaaaaaaaaaaaa", end: "" },
    ]);
  });

  it("print like the server's range Display", () => {
    expect(formatRange({ start: "", end: "8000000000000000" })).toBe("[-∞, 8000000000000000)");
    expect(formatRange({ start: "8000000000000000", end: "" })).toBe("[8000000000000000, +∞)");
  });
});

describe("retry backoff", () => {
  const policy = (init: Parameters<typeof create<typeof RetryPolicySchema>>[1]) => create(RetryPolicySchema, init);

  // The exponent is the failed attempt's relative number, counting from 1 (src/retry.rs upstream).
  it("grows by the factor from the relative attempt number, capped at the maximum", () => {
    const p = policy({ retryCount: 5, initialIntervalMs: 100n, maxIntervalMs: 1000n, backoffFactor: 3 });
    expect([1, 2, 3].map((n) => retryDelayMs(p, n, 0))).toEqual([300, 900, 1000]);
  });

  it("stops once the failed attempt's number is over retry_count", () => {
    const p = policy({ retryCount: 2, initialIntervalMs: 10n, maxIntervalMs: 1000n, backoffFactor: 1 });
    expect(retryDelayMs(p, 2, 0)).toBe(10);
    expect(retryDelayMs(p, 3, 0)).toBeUndefined();
    expect(retryDelayMs(undefined, 1, 0)).toBeUndefined();
  });

  it("treats a max_interval_ms of 0 as a cap of 0: the retry is immediate", () => {
    const p = policy({ retryCount: 2, initialIntervalMs: 1000n, maxIntervalMs: 0n, backoffFactor: 2 });
    expect(retryDelayMs(p, 1, 0)).toBe(0);
  });
});

describe("handler errors", () => {
  it("turn anything that is not a ConnectError into INTERNAL", () => {
    const err = toConnectError(new TypeError("boom"));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toContain("boom");
  });
});
