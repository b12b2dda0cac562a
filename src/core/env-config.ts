import type { SiloGRPCClientOptions } from "./client-options.js";
import { SiloConfigurationError, SiloError } from "./errors.js";
import { PROTOCOLS, type Protocol } from "./protocol.js";
import { parseServerAddress } from "./server-address.js";
import { SiloGRPCClient } from "./silo-client.js";

/** The settings read from Worker bindings or `process.env`. */
export interface SiloEnv {
  /** Comma-separated `host:port` list of Silo servers. Required. */
  SILO_SERVERS?: string;
  /** Bearer token sent with every RPC. Default: none. */
  SILO_TOKEN?: string;
  /** `"true"` or `"false"` (also `1`/`0`, `yes`/`no`). Default `"true"`. */
  SILO_USE_TLS?: string;
  /** `"grpc"`, `"grpc-web"` or `"connect"`. Default: the runtime's (`grpc` on Node, `grpc-web` elsewhere). */
  SILO_PROTOCOL?: string;
}

/** What the `client` option of every adapter accepts. */
export type SiloClientOption = SiloGRPCClient | SiloGRPCClientOptions;

/** A bindings or environment object: only its string values are read. */
export type EnvSource = Readonly<Record<string, unknown>>;

const SETTINGS = ["SILO_SERVERS", "SILO_TOKEN", "SILO_USE_TLS", "SILO_PROTOCOL"] as const;
const TRUE = ["true", "1", "yes", "on"];
const FALSE = ["false", "0", "no", "off"];

/** Clients built from settings, keyed by the settings, so every request reuses one client. */
const clientsBySettings = new Map<string, SiloGRPCClient>();

/**
 * `process.env` when the runtime has one, else undefined. Workers without `nodejs_compat` have no
 * `process` at all, so it is looked up on `globalThis` instead of referenced.
 */
export function processEnv(): EnvSource | undefined {
  const proc = (globalThis as { process?: { env?: unknown } }).process;
  const env = proc?.env;
  return typeof env === "object" && env !== null ? (env as EnvSource) : undefined;
}

/**
 * Reads the Silo settings from `env` (Worker bindings; each setting falls back to `process.env`)
 * and turns them into client options. Every missing or malformed setting is reported together
 * in one `SiloConfigurationError`.
 */
export function clientOptionsFromEnv(env?: EnvSource): SiloGRPCClientOptions {
  const fallback = processEnv();
  const problems: string[] = [];
  const read = (name: keyof SiloEnv): string | undefined => {
    let value = env?.[name];
    if (value === undefined || value === null) value = fallback?.[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") {
      problems.push(`${name} must be a string (a plain-text variable, not a ${typeof value} binding)`);
      return undefined;
    }
    const trimmed = value.trim();
    return trimmed === "" ? undefined : trimmed;
  };

  const rawServers = read("SILO_SERVERS");
  const token = read("SILO_TOKEN");
  const rawTls = read("SILO_USE_TLS");
  const rawProtocol = read("SILO_PROTOCOL");

  const servers: string[] = [];
  if (rawServers === undefined) {
    problems.push('SILO_SERVERS is not set: set it to the Silo servers as comma-separated "host:port" (e.g. "silo.internal:7450"), or pass the client option');
  } else {
    for (const entry of rawServers.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      try {
        servers.push(parseServerAddress("SILO_SERVERS", entry));
      } catch (err) {
        problems.push(`SILO_SERVERS has an invalid address ${JSON.stringify(entry)}: ${problemOf(err)}`);
      }
    }
    if (servers.length === 0 && !problems.some((p) => p.startsWith("SILO_SERVERS"))) {
      problems.push('SILO_SERVERS lists no server: set it to comma-separated "host:port" addresses');
    }
  }

  let useTls: boolean | undefined;
  if (rawTls !== undefined) {
    const v = rawTls.toLowerCase();
    if (TRUE.includes(v)) useTls = true;
    else if (FALSE.includes(v)) useTls = false;
    else problems.push(`SILO_USE_TLS must be "true" or "false", got ${JSON.stringify(rawTls)}`);
  }

  let protocol: Protocol | undefined;
  if (rawProtocol !== undefined) {
    if ((PROTOCOLS as readonly string[]).includes(rawProtocol)) protocol = rawProtocol as Protocol;
    else problems.push(`SILO_PROTOCOL must be one of ${PROTOCOLS.map((p) => `"${p}"`).join(", ")}, got ${JSON.stringify(rawProtocol)}`);
  }

  if (problems.length > 0) throw new SiloConfigurationError(problems);
  return {
    servers,
    ...(useTls !== undefined ? { useTls } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
  };
}

/**
 * A client configured from `env` (Worker bindings, falling back to `process.env`). Clients built
 * from the same settings are cached at module scope and reused across requests.
 */
export function clientFromEnv(env?: EnvSource): SiloGRPCClient {
  // Keyed by the raw settings, so a request with known settings skips parsing them again.
  const fallback = processEnv();
  const key = JSON.stringify(SETTINGS.map((name) => env?.[name] ?? fallback?.[name] ?? null).map((v) => (typeof v === "string" ? v : v === null ? null : typeof v)));
  let client = clientsBySettings.get(key);
  if (!client) {
    const options = clientOptionsFromEnv(env);
    try {
      client = new SiloGRPCClient(options);
    } catch (err) {
      // e.g. a token over cleartext: still a configuration problem, named by its setting.
      throw new SiloConfigurationError([settingProblem(err)]);
    }
    clientsBySettings.set(key, client);
  }
  return client;
}

/**
 * Turns an adapter's `client` option into a way to get the client of a request: a given client as
 * is, client options into one client built now, and no option into a client from `env` (read
 * per call, cached by settings). Throws `SiloValidationError` for malformed client options.
 */
export function clientSource(option: SiloClientOption | undefined): (env?: EnvSource) => SiloGRPCClient {
  if (option === undefined) return clientFromEnv;
  if (isClient(option)) return () => option;
  if (typeof option !== "object" || option === null) {
    throw new SiloConfigurationError(["client must be a SiloGRPCClient or SiloGRPCClient options, or be left out to read SILO_SERVERS"]);
  }
  const client = new SiloGRPCClient(option);
  return () => client;
}

function isClient(value: unknown): value is SiloGRPCClient {
  if (value instanceof SiloGRPCClient) return true;
  // Another copy of the package (dual install) makes `instanceof` fail; recognise it by shape.
  const v = value as { enqueue?: unknown; handle?: unknown; callRouted?: unknown } | null;
  return typeof v === "object" && v !== null && typeof v.enqueue === "function" && typeof v.handle === "function" && typeof v.callRouted === "function";
}

function problemOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^invalid [^:]+: /, "");
}

function settingProblem(err: unknown): string {
  if (err instanceof SiloError && "field" in err && err.field === "token") {
    return `SILO_TOKEN ${problemOf(err)} (set SILO_USE_TLS=true)`;
  }
  return problemOf(err);
}
