import type { LogFields, SiloLogger } from "../core/logger.js";
import { H2ProtocolError } from "../core/h2/protocol-error.js";

// What the Node connection pool (http2-session-pool.ts) tells the clients' loggers about its
// connections: one lost, each reconnect attempt, each failed attempt with the backoff before the
// next, and the reconnect that worked. Connections are shared by every client of an origin, so
// every logger that asked for an origin's entries gets them. Entries name the server address,
// never a token or header value (the pool sees neither).

/** Loggers by pool key; held weakly, so a client that is gone stops being told. */
const watchers = new Map<string, Set<WeakRef<SiloLogger>>>();

/** `logger` gets the reconnect entries of the pool key `key` from now on. */
export function watchReconnects(key: string, logger: SiloLogger): void {
  let set = watchers.get(key);
  if (set === undefined) watchers.set(key, (set = new Set()));
  for (const ref of set) {
    const known = ref.deref();
    if (known === logger) return;
    if (known === undefined) set.delete(ref);
  }
  set.add(new WeakRef(logger));
}

type Level = "debug" | "info" | "warn";

function log(key: string, level: Level, fields: LogFields, message: string): void {
  const set = watchers.get(key);
  if (set === undefined) return;
  for (const ref of set) {
    const logger = ref.deref();
    if (logger === undefined) set.delete(ref);
    else logger[level](fields, message);
  }
  if (set.size === 0) watchers.delete(key);
}

/**
 * Why a connection ended, as a short stable code: the socket's (`ECONNREFUSED`, `ECONNRESET`,
 * `ETIMEDOUT`...), `HTTP2_PROTOCOL_ERROR` for an HTTP/2 violation or limit, `CLOSED` when the
 * server closed it without an error, `ERROR` otherwise.
 */
export function connectionErrorCode(error: Error | undefined): string {
  if (error === undefined) return "CLOSED";
  const code = systemCode(error) ?? systemCode(error.cause);
  if (code !== undefined) return code;
  if (error instanceof H2ProtocolError) return "HTTP2_PROTOCOL_ERROR";
  return "ERROR";
}

function systemCode(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && code !== "" ? code : undefined;
}

/** An established connection ended without the pool closing it (server restart, reset, GOAWAY). */
export function logConnectionLost(key: string, address: string, error: Error | undefined): void {
  log(key, "info", { address, code: connectionErrorCode(error) }, "silo-edge: connection to the server lost; the next call reconnects");
}

/** The pool opens connection attempt `attempt` (1 = the first after a loss or failure). */
export function logReconnecting(key: string, address: string, attempt: number): void {
  log(key, "debug", { address, attempt }, "silo-edge: reconnecting");
}

/** Connection attempt `attempt` failed; the next may start `delayMs` later. */
export function logReconnectFailed(key: string, address: string, attempt: number, delayMs: number, error: Error | undefined): void {
  log(
    key,
    "warn",
    { address, attempt, delayMs: Math.round(delayMs), code: connectionErrorCode(error) },
    "silo-edge: connection attempt failed, backing off before the next",
  );
}

/** The server answered on attempt `attempt` after a loss or failed attempts. */
export function logReconnected(key: string, address: string, attempt: number): void {
  log(key, "info", { address, attempt }, "silo-edge: reconnected");
}
