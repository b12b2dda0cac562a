// Client CPU per unary call and throughput of four transports, side by side in one run.
//
//   node --conditions=silo-edge-source --import tsx bench/transport.bench.ts           (~1 min)
//   node --conditions=silo-edge-source --import tsx bench/transport.bench.ts --smoke   (a few seconds)
//   --rounds=N overrides the number of rounds (default 5).
//
// The server runs in a child process, so `process.cpuUsage()` here measures the client alone.
// Each round runs every transport once per concurrency, in a rotating order; the table shows
// medians over rounds and ratios against connect-node's gRPC transport.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import type { Client, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Silo } from "../src/gen/silo/v1/silo_pb.js";
import { createGrpcHttp2Transport } from "../src/node/grpc-http2-transport.js";
import { closeAllHttp2Sessions } from "../src/node/http2-session-pool.js";
import { createGrpcWebFetchTransport } from "../src/core/grpc-web-fetch-transport.js";
import { startSiloTestServer } from "../test/transport/silo-test-server.js";

interface ServerPorts {
  h2c: number;
  http1: number;
}

interface Contender {
  name: string;
  client: Client<typeof Silo>;
}

interface Sample {
  cpuUsPerCall: number;
  callsPerSec: number;
}

const smoke = process.argv.includes("--smoke");
const roundsArg = process.argv.find((a) => a.startsWith("--rounds="));
const rounds = roundsArg !== undefined ? Math.max(1, Number(roundsArg.slice("--rounds=".length))) : smoke ? 1 : 5;
const concurrencies = [1, 64] as const;
const callsAt: Record<(typeof concurrencies)[number], number> = smoke ? { 1: 30, 64: 150 } : { 1: 250, 64: 800 };
const warmupCalls = smoke ? 20 : 100;
const baselineName = "connect-node createGrpcTransport";

const payload = new TextEncoder().encode(JSON.stringify({ to: "user@example.com", template: "welcome", n: 42 }));

async function runServer(): Promise<void> {
  const h2c = await startSiloTestServer({ protocol: "h2c" });
  const http1 = await startSiloTestServer({ protocol: "http1" });
  const ports: ServerPorts = { h2c: h2c.port, http1: http1.port };
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  // Exit with the parent.
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

async function startServerProcess(): Promise<{ child: ChildProcess; ports: ServerPorts }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ["--conditions=silo-edge-source", "--import", "tsx", self, "--server"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ports = await new Promise<ServerPorts>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bench server exited early with code ${code}`)));
    lines.once("line", (line) => resolve(JSON.parse(line) as ServerPorts));
  });
  return { child, ports };
}

async function enqueueLoop(client: Client<typeof Silo>, calls: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < calls) {
      const i = next++;
      await client.enqueue({
        shard: "00000000-0000-0000-0000-000000000001",
        id: `job-${i}`,
        tenant: "acme",
        payload: { encoding: { case: "msgpack", value: payload } },
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function measure(contender: Contender, concurrency: number): Promise<Sample> {
  const calls = callsAt[concurrency as (typeof concurrencies)[number]];
  await enqueueLoop(contender.client, warmupCalls, concurrency);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await enqueueLoop(contender.client, calls, concurrency);
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUsPerCall: (cpu.user + cpu.system) / calls, callsPerSec: (calls * 1000) / elapsedMs };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function pad(value: string, width: number, right = false): string {
  return right ? value.padStart(width) : value.padEnd(width);
}

async function main(): Promise<void> {
  const { child, ports } = await startServerProcess();
  try {
    const h2c = `http://127.0.0.1:${ports.h2c}`;
    const http1 = `http://127.0.0.1:${ports.http1}`;
    const transports: [string, Transport][] = [
      [baselineName, createGrpcTransport({ baseUrl: h2c })],
      ["connect-web createGrpcWebTransport (fetch)", createGrpcWebTransport({ baseUrl: http1 })],
      ["silo createGrpcHttp2Transport", createGrpcHttp2Transport({ baseUrl: h2c })],
      ["silo createGrpcWebFetchTransport", createGrpcWebFetchTransport({ baseUrl: http1 })],
    ];
    const contenders: Contender[] = transports.map(([name, transport]) => ({
      name,
      client: createClient(Silo, transport),
    }));
    const samples = new Map<string, Sample[]>();
    const started = performance.now();
    for (let round = 0; round < rounds; round++) {
      for (const concurrency of concurrencies) {
        for (let k = 0; k < contenders.length; k++) {
          const contender = contenders[(k + round) % contenders.length] as Contender;
          const sample = await measure(contender, concurrency);
          const key = `${contender.name}|${concurrency}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
        }
      }
      process.stderr.write(`round ${round + 1}/${rounds} done (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
    }

    const header = [
      pad("transport", 44),
      pad("in flight", 9, true),
      pad("client CPU µs/call", 19, true),
      pad("CPU vs baseline", 16, true),
      pad("calls/s", 9, true),
      pad("calls/s vs baseline", 20, true),
    ].join("  ");
    const lines = [header, "-".repeat(header.length)];
    for (const concurrency of concurrencies) {
      const base = samples.get(`${baselineName}|${concurrency}`) ?? [];
      const baseCpu = median(base.map((s) => s.cpuUsPerCall));
      const baseRate = median(base.map((s) => s.callsPerSec));
      for (const contender of contenders) {
        const list = samples.get(`${contender.name}|${concurrency}`) ?? [];
        const cpu = median(list.map((s) => s.cpuUsPerCall));
        const rate = median(list.map((s) => s.callsPerSec));
        lines.push(
          [
            pad(contender.name, 44),
            pad(String(concurrency), 9, true),
            pad(cpu.toFixed(0), 19, true),
            pad(`${(cpu / baseCpu).toFixed(2)}x`, 16, true),
            pad(rate.toFixed(0), 9, true),
            pad(`${(rate / baseRate).toFixed(2)}x`, 20, true),
          ].join("  "),
        );
      }
    }
    console.log(
      `\n\nUnary Enqueue on loopback, server in a child process; medians of ${rounds} round(s), ` +
        `${callsAt[1]} calls at 1 in flight and ${callsAt[64]} at 64 per sample (Node ${process.version}).\n`,
    );
    console.log(lines.join("\n"));
  } finally {
    await closeAllHttp2Sessions();
    child.stdin?.end();
    child.kill();
  }
}

if (process.argv.includes("--server")) {
  await runServer();
} else {
  await main();
}
