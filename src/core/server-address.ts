import { SiloValidationError } from "./errors.js";

/** A server as host and port. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** The `servers` option: one or more `"host:port"` strings or `{ host, port }` objects. */
export type ServersOption = string | ServerAddress | ReadonlyArray<string | ServerAddress>;

/** Silo's default port, used when an address has none. */
export const DEFAULT_SILO_PORT = 7450;

const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\d{1,3}(?:\.\d{1,3}){3})$/;

function checkPort(field: string, port: unknown): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SiloValidationError(field, `port must be an integer from 1 to 65535, got ${String(port)}`);
  }
  return port;
}

function checkHost(field: string, host: unknown): string {
  if (typeof host !== "string" || !HOST.test(host)) {
    throw new SiloValidationError(field, `host must be a host name or IP address, got ${JSON.stringify(host)}`);
  }
  return host;
}

/** Parses one address into `host:port`; IPv6 hosts keep their brackets. */
export function parseServerAddress(field: string, value: unknown): string {
  if (typeof value === "string") {
    const s = value.trim();
    if (s.includes("://") || s.includes("/")) {
      throw new SiloValidationError(field, `expected "host:port" without a scheme or path, got ${JSON.stringify(value)} (TLS is chosen with useTls)`);
    }
    if (/[@?#\\\s%]/.test(s)) {
      throw new SiloValidationError(field, `expected "host:port" without userinfo, query, fragment, spaces or escapes, got ${JSON.stringify(value)}`);
    }
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(s);
    if (!m) throw new SiloValidationError(field, `expected "host:port", got ${JSON.stringify(value)}`);
    const host = checkHost(field, m[1]);
    const port = m[2] === undefined ? DEFAULT_SILO_PORT : checkPort(field, m[2] === "" ? NaN : Number(m[2]));
    return `${host}:${port}`;
  }
  if (typeof value === "object" && value !== null) {
    const { host, port } = value as Partial<ServerAddress>;
    const h = checkHost(`${field}.host`, host);
    const p = port === undefined ? DEFAULT_SILO_PORT : checkPort(`${field}.port`, port);
    return `${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}:${p}`;
  }
  throw new SiloValidationError(field, `expected "host:port" or { host, port }, got ${String(value)}`);
}

/**
 * Normalises the `servers` option to a non-empty list of `host:port` strings. In a list, a string
 * or `{ host, port }` entry that is not a usable address is left out and reported through
 * `skipped`, as long as another entry is usable: the upstream client tolerates a seed it cannot
 * reach (typescript_client/test/client-integration.test.ts, "creates client with multiple server
 * addresses"). A single address, a list with no usable entry, or an entry of another type throws.
 */
export function parseServers(value: unknown, skipped?: (error: SiloValidationError) => void): string[] {
  if (value === undefined || value === null) throw new SiloValidationError("servers", "is required: at least one \"host:port\"");
  if (!Array.isArray(value)) return [parseServerAddress("servers", value)];
  if (value.length === 0) throw new SiloValidationError("servers", "must list at least one server");
  const servers: string[] = [];
  const errors: SiloValidationError[] = [];
  value.forEach((v: unknown, i) => {
    try {
      servers.push(parseServerAddress(`servers[${i}]`, v));
    } catch (err) {
      // Only address-shaped entries may be left out; anything else is a programming error.
      const addressShaped = typeof v === "string" || (typeof v === "object" && v !== null);
      if (!(err instanceof SiloValidationError) || !addressShaped) throw err;
      errors.push(err);
    }
  });
  if (servers.length === 0) throw errors[0]!;
  for (const err of errors) skipped?.(err);
  return servers;
}

/**
 * A node address the cluster advertises, a redirect names or an addressMap returns, strictly
 * `host:port` (IPv6 in brackets): `undefined` for anything else, such as userinfo
 * (`localhost:1@evil.example`), a path, query or fragment, a scheme, spaces or a missing port.
 * Such a string would make a URL whose real host is not the one the checks saw.
 */
export function parseNodeAddress(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!m || !HOST.test(m[1]!)) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? `${m[1]}:${port}` : undefined;
}

/** True for loopback hosts, where a cleartext token cannot be sniffed off the network. */
export function isLoopbackAddress(address: string): boolean {
  // Only a strict "host:port": "localhost:1@evil.example" names evil.example, not localhost.
  const parsed = parseNodeAddress(address);
  if (parsed === undefined) return false;
  const host = parsed.slice(0, parsed.lastIndexOf(":")).replace(/^\[|\]$/g, "");
  // A full IPv4 literal only: a host name such as "127.example.com" can resolve anywhere.
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
