import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { JobStatus } from "../../src/gen/silo/v1/silo_pb.js";
import { msgpack, shardForTenant, transports, unpack } from "./harness.js";

const bin = fileURLToPath(new URL("../../bin/silo-edge.js", import.meta.url));
const children: ChildProcess[] = [];

function run(args: string[], stdin: "ignore" | "pipe" = "ignore"): ChildProcess {
  const child = spawn(process.execPath, [bin, ...args], { stdio: [stdin, "pipe", "pipe"] });
  children.push(child);
  return child;
}

/** Whether anything accepts a TCP connection on `host:port`. */
function accepts(address: string): Promise<boolean> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function addressesIn(lines: string[]): string[] {
  return lines.flatMap((l) => /^node \d+ listening on (\S+)$/.exec(l)?.[1] ?? []);
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}

/** Collect stdout until the ready line; resolves with all lines printed so far. */
function readyLines(child: ChildProcess): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("ready")) resolve(out.split("\n"));
    });
    child.once("exit", (code) => reject(new Error(`CLI exited with ${code} before ready: ${out}${err}`)));
  });
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

describe("the silo-edge dev CLI", () => {
  it("starts a tenanted 2-node cluster that runs a job end to end, and stops with exit 0 on SIGINT", async () => {
    const child = run(["dev", "--nodes", "2", "--shards", "8", "--tenancy", "--port", "0", "--lease-ms", "5000"]);
    const lines = await readyLines(child);
    const addresses = lines.flatMap((l) => /^node \d+ listening on (\S+)$/.exec(l)?.[1] ?? []);
    expect(addresses).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("shard "))).toHaveLength(8);

    const grpc = transports[0];
    const info = await grpc.client(addresses[0] as string).getClusterInfo({});
    expect(info.numShards).toBe(8);
    const tenant = "cli-tenant";
    const shard = shardForTenant(info, tenant);
    const client = grpc.client(shard.grpcAddr);
    const { id } = await client.enqueue({ shard: shard.shardId, tenant, taskGroup: "cli", payload: msgpack({ n: 1 }) });
    const { tasks } = await client.leaseTasks({ workerId: "w", maxTasks: 1, taskGroup: "cli" });
    expect(tasks[0]).toMatchObject({ jobId: id, tenantId: tenant, leaseMs: 5000n });
    await client.reportOutcome({
      shard: shard.shardId,
      taskId: tasks[0]?.id as string,
      tenantId: tenant,
      outcome: { case: "success", value: msgpack({ done: true }) },
    });
    const job = await client.getJob({ shard: shard.shardId, tenant, id });
    expect(job.status).toBe(JobStatus.SUCCEEDED);
    expect(unpack(job.result)).toEqual({ done: true });

    child.kill("SIGINT");
    expect(await exitCode(child)).toBe(0);
  });

  it("stops its servers and exits 0 when its stdin closes (the process that piped it is gone)", async () => {
    const child = run(["dev", "--nodes", "2", "--port", "0"], "pipe");
    const addresses = addressesIn(await readyLines(child));
    expect(await accepts(addresses[0] as string)).toBe(true);
    child.stdin?.end();
    expect(await exitCode(child)).toBe(0);
    for (const address of addresses) expect(await accepts(address), address).toBe(false);
  });

  it("stops its servers when the process that started it is killed with SIGKILL", async () => {
    // sh starts the CLI in the background and is then killed without a chance to forward anything.
    const shell = spawn("sh", ["-c", `"${process.execPath}" "${bin}" dev --port 0 & wait`], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(shell);
    const addresses = addressesIn(await readyLines(shell));
    expect(await accepts(addresses[0] as string)).toBe(true);
    // The CLI's stdout is our pipe: it ends once every process of the CLI has exited.
    const ended = new Promise<void>((resolve) => shell.stdout?.once("end", resolve));
    shell.kill("SIGKILL");
    await ended;
    expect(await accepts(addresses[0] as string)).toBe(false);
  });

  it("exits 0 on a SIGINT sent the moment it prints its first line, before the ready line", async () => {
    // Whoever reads the output may stop the server as soon as it appears: the CLI must already
    // handle SIGINT by then, or the signal kills it (exit 130 through the bin wrapper).
    const child = run(["dev", "--port", "0", "--shards", "256"]);
    child.stdout?.once("data", () => child.kill("SIGINT"));
    expect(await exitCode(child)).toBe(0);
  });

  it("exits 2 with a clear message on an invalid flag", async () => {
    const child = run(["dev", "--nodes", "zero"]);
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    expect(await exitCode(child)).toBe(2);
    expect(err).toContain('--nodes must be an integer >= 1, got "zero"');
  });

  it("exits 2 on an unknown option", async () => {
    const child = run(["dev", "--shard", "3"]);
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    expect(await exitCode(child)).toBe(2);
    expect(err).toContain("--shard");
  });

  it("prints usage for --help and exits 0", async () => {
    const child = run(["dev", "--help"]);
    let out = "";
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    expect(await exitCode(child)).toBe(0);
    expect(out).toContain("Usage: silo-edge dev");
    expect(out).toContain("NOT FOR PRODUCTION");
  });

  it("warns on stderr when it listens on a non-loopback address without a token", async () => {
    const child = run(["dev", "--host", "0.0.0.0", "--port", "0"]);
    let err = "";
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    await readyLines(child);
    child.kill("SIGINT");
    expect(await exitCode(child)).toBe(0);
    expect(err).toContain("WARNING: listening on 0.0.0.0 without a token");
    expect(err).toContain("not for production");
  });
});
