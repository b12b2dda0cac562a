import { parseArgs } from "node:util";
import { startDevServer } from "./dev-server.js";
import type { DevServerOptions } from "./dev-server.js";
import { formatRange } from "./shard-ranges.js";
import { watchParent } from "./parent-watch.js";

const USAGE = `Usage: silo-edge dev [options]

Start an in-memory, Silo-compatible dev server (gRPC over HTTP/2, gRPC-web and Connect over HTTP/1.1).
For development and tests only, NOT FOR PRODUCTION: jobs live in memory, there is no TLS, and
without --token anyone who can reach the address can use it.

Options:
  --host <host>       interface to bind (default 127.0.0.1); a non-loopback host
                      without --token prints a warning
  --port <port>       port of node 0; node i uses port+i; 0 picks free ports (default 7450)
  --nodes <n>         number of nodes (default 1)
  --shards <n>        number of shards (default 1)
  --tenancy           require tenants, like a server with tenancy enabled (default off)
  --token <secret>    require "authorization: Bearer <secret>" on every RPC (default: no auth)
  --lease-ms <ms>     worker lease length in ms (default 10000)
  --no-gubernator     act as a server started without Gubernator: rate-limited jobs never run
  -h, --help          show this help
`;

/** Thrown for bad command lines; the CLI prints it with the usage and exits 2. */
class UsageError extends Error {}

function integer(name: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return Number(raw);
}

/** Parse `dev [options]`; returns undefined when help was asked for. */
export function parseDevArgs(argv: readonly string[]): DevServerOptions | undefined {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") return undefined;
  if (command !== "dev") {
    throw new UsageError(command === undefined ? "missing command" : `unknown command "${command}"`);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        nodes: { type: "string" },
        shards: { type: "string" },
        tenancy: { type: "boolean" },
        token: { type: "string" },
        "lease-ms": { type: "string" },
        "no-gubernator": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help === true) return undefined;
  const options: DevServerOptions = {};
  if (v.host !== undefined) options.host = v.host;
  const port = integer("port", v.port, 0);
  if (port !== undefined) {
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got "${v.port}"`);
    options.port = port;
  }
  const nodes = integer("nodes", v.nodes, 1);
  if (nodes !== undefined) options.nodes = nodes;
  const shards = integer("shards", v.shards, 1);
  if (shards !== undefined) options.shards = shards;
  if (v.tenancy === true) options.tenancy = true;
  if (v.token !== undefined) {
    if (v.token === "") throw new UsageError("--token must not be empty");
    options.token = v.token;
  }
  const leaseMs = integer("lease-ms", v["lease-ms"], 1);
  if (leaseMs !== undefined) options.leaseMs = leaseMs;
  if (v["no-gubernator"] === true) options.gubernator = "none";
  return options;
}

/** Entry point of `silo-edge`; resolves with the exit code once the server has stopped. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: DevServerOptions | undefined;
  try {
    options = parseDevArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`silo-edge: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  // Installed before anything is printed: whoever reads our output may signal us at once, and a
  // SIGINT with no listener kills the process (exit 130 through the bin wrapper). Listeners stay
  // installed: Ctrl-C reaches both the bin wrapper (which forwards it) and this process, and a
  // second SIGINT with no listener would kill us before close() finishes.
  let stopWatching = (): void => undefined;
  const stopRequested = new Promise<void>((resolve) => {
    process.on("SIGINT", () => resolve());
    process.on("SIGTERM", () => resolve());
    process.on("SIGHUP", () => resolve());
    stopWatching = watchParent((why) => {
      process.stdout.write(`silo-edge dev server: ${why}, stopping\n`);
      resolve();
    });
  });
  let server;
  try {
    server = await startDevServer(options);
  } catch (err) {
    // Option combinations the flags alone cannot catch (for example port + nodes > 65535).
    if (!(err instanceof RangeError)) throw err;
    process.stderr.write(`silo-edge: ${err.message}\n`);
    return 2;
  }
  server.addresses.forEach((address, i) => process.stdout.write(`node ${i} listening on ${address}\n`));
  for (const shard of server.shards()) {
    const range = formatRange({ start: shard.rangeStart, end: shard.rangeEnd });
    process.stdout.write(`shard ${shard.id} ${range} on node ${shard.nodeIndex} (${server.addresses[shard.nodeIndex]})\n`);
  }
  const notes = [options.tenancy === true ? "tenancy on" : "", options.gubernator === "none" ? "no gubernator: rate-limited jobs never run" : ""].filter((n) => n !== "");
  process.stdout.write(`silo-edge dev server ready${notes.length > 0 ? ` (${notes.join("; ")})` : ""}; Ctrl-C to stop\n`);
  await stopRequested;
  stopWatching();
  await server.close();
  process.stdout.write("silo-edge dev server stopped\n");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`silo-edge: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
