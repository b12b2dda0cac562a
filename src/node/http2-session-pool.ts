import type { ConnectionOptions } from "node:tls";
import type { H2Limits } from "../core/h2/limits.js";
import { Http2ClientConnection } from "../core/h2/client-connection.js";
import { nodeByteStream } from "./h2/node-byte-stream.js";
import { logConnectionLost, logReconnected, logReconnectFailed, logReconnecting } from "./pool-reconnect-log.js";

/**
 * One pooled HTTP/2 session. Sessions live at module scope, keyed by origin (plus TLS options
 * when given), so every transport for the same origin shares one connection.
 */
export interface PooledHttp2Session {
  readonly key: string;
  /** `http://host:port` or `https://host:port`, for log entries. */
  readonly origin: string;
  readonly session: Http2ClientConnection;
  /** Streams (and pings) in flight. The session is ref'd exactly while this is above zero. */
  active: number;
  /** Wall-clock time of the last completed stream or ping; 0 while the session never carried one. */
  lastActivityAt: number;
  /** True once the session is out of the pool (GOAWAY, close, error, idle, failed ping). */
  dropped: boolean;
  /** True once the pool itself closed it (idle, shutdown): its end is no lost connection. */
  closedByPool: boolean;
  /** Pending liveness check of an idle session, shared by concurrent callers. */
  verifying: Promise<boolean> | undefined;
  readonly idleTimeoutMs: number;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/** How to open a session when the pool has none. */
export interface Http2SessionTarget {
  /** Pool key: the origin, or the origin plus an id of the TLS options. */
  readonly key: string;
  /** `http://host:port` or `https://host:port`. */
  readonly origin: string;
  readonly tlsOptions: ConnectionOptions | undefined;
  readonly idleTimeoutMs: number;
  /** HTTP/2 flood and size limits of the connections opened for this target. Default: H2Limits' defaults. */
  readonly limits?: H2Limits | undefined;
}

const pool = new Map<string, PooledHttp2Session>();

/**
 * Reconnect backoff per pool key, as gRPC's connection backoff: after a connection that never
 * reached an HTTP/2 server (refused, reset, closed before the server's SETTINGS), the next one
 * waits 100 ms, then 1.6 times longer each time, up to 5 s, each delay jittered by ±20 %. Calls
 * meanwhile wait (within their deadlines) and then share the next attempt, so many failing calls
 * to a dead server make few connection attempts. A connection that was established resets it.
 */
export const RECONNECT_BACKOFF = { initialMs: 100, multiplier: 1.6, jitter: 0.2, maxMs: 5_000 } as const;

const reconnects = new Map<string, { failures: number; retryAt: number }>();

/** Keys whose established connection was lost (not closed by the pool) and not yet replaced. */
const lost = new Set<string>();

function connectionEnded(entry: PooledHttp2Session, established: boolean, error: Error | undefined): void {
  const key = entry.key;
  if (established) {
    reconnects.delete(key);
    if (!entry.closedByPool) {
      lost.add(key);
      logConnectionLost(key, entry.origin, error);
    }
    return;
  }
  const failures = (reconnects.get(key)?.failures ?? 0) + 1;
  const { initialMs, multiplier, jitter, maxMs } = RECONNECT_BACKOFF;
  const delay = Math.min(maxMs, initialMs * multiplier ** (failures - 1)) * (1 - jitter + 2 * jitter * Math.random());
  reconnects.set(key, { failures, retryAt: Date.now() + delay });
  if (!entry.closedByPool) logReconnectFailed(key, entry.origin, failures, delay, error);
}

/** The server's SETTINGS arrived on a new connection: a reconnect, if one was under way, worked. */
function connectionEstablished(entry: PooledHttp2Session): void {
  const failures = reconnects.get(entry.key)?.failures;
  if (failures === undefined && !lost.has(entry.key)) return;
  reconnects.delete(entry.key);
  lost.delete(entry.key);
  logReconnected(entry.key, entry.origin, (failures ?? 0) + 1);
}

/**
 * How long a call must wait before the pool may open a connection for the target: 0 when a
 * pooled session exists or no backoff is running.
 */
export function reconnectDelay(target: Http2SessionTarget): number {
  const state = reconnects.get(target.key);
  if (state === undefined) return 0;
  const pooled = pool.get(target.key);
  if (pooled !== undefined && !pooled.dropped) return 0;
  return Math.max(0, state.retryAt - Date.now());
}

/** Returns the pooled session for the target, or opens (and pools) a new one. */
export function getPooledSession(target: Http2SessionTarget): PooledHttp2Session {
  const existing = pool.get(target.key);
  if (existing !== undefined && !existing.dropped) return existing;
  return openSession(target);
}

/** Opens a new session for the target, replacing any pooled one. */
export function openSession(target: Http2SessionTarget): PooledHttp2Session {
  const previous = pool.get(target.key);
  if (previous !== undefined) dropSession(previous);
  const failures = reconnects.get(target.key)?.failures;
  if (failures !== undefined || lost.has(target.key)) logReconnecting(target.key, target.origin, (failures ?? 0) + 1);
  const url = new URL(target.origin);
  const socket = nodeByteStream({
    protocol: url.protocol === "https:" ? "https:" : "http:",
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port),
    tlsOptions: target.tlsOptions,
  });
  const session = new Http2ClientConnection(socket, { defer: process.nextTick, limits: target.limits });
  const entry: PooledHttp2Session = {
    key: target.key,
    origin: target.origin,
    session,
    active: 0,
    lastActivityAt: 0,
    dropped: false,
    closedByPool: false,
    verifying: undefined,
    idleTimeoutMs: target.idleTimeoutMs,
    idleTimer: undefined,
  };
  // An idle session must never keep the process (or a Lambda invocation) alive.
  session.unref();
  session.onGoaway = () => dropSession(entry);
  session.onEstablished = () => connectionEstablished(entry);
  session.onClose = (error) => {
    connectionEnded(entry, session.established, error);
    dropSession(entry);
  };
  armIdleTimer(entry, target.idleTimeoutMs);
  pool.set(target.key, entry);
  return entry;
}

// The idle timer is armed once and, when it fires, re-armed for what is left of the idle time
// since the last use. Calls never touch it: refreshing it on every call (at one call in flight,
// every call) cost a timer-list rebuild per call. Sessions whose idle timeout is 0 or infinite
// never get one.
function armIdleTimer(entry: PooledHttp2Session, ms: number): void {
  if (!(entry.idleTimeoutMs > 0 && Number.isFinite(entry.idleTimeoutMs))) return;
  // setTimeout fires at once for delays above 2^31-1 ms.
  entry.idleTimer = setTimeout(onIdleTimer, Math.min(Math.max(1, ms), 0x7fffffff), entry);
  entry.idleTimer.unref();
}

function onIdleTimer(entry: PooledHttp2Session): void {
  entry.idleTimer = undefined;
  if (entry.dropped) return;
  if (entry.active > 0) return; // re-armed when the last stream ends
  const idleFor = Date.now() - entry.lastActivityAt;
  if (entry.lastActivityAt !== 0 && idleFor < entry.idleTimeoutMs) {
    // Used since the timer was armed: wait out the rest of the idle time from the last use.
    armIdleTimer(entry, entry.idleTimeoutMs - idleFor);
    return;
  }
  closeSession(entry);
}

/** Marks a stream (or ping) as started: the session now keeps the process alive. */
export function retainSession(entry: PooledHttp2Session): void {
  if (entry.active++ === 0) entry.session.ref();
}

/** Marks a stream (or ping) as finished; the last one lets the process exit again. */
export function releaseSession(entry: PooledHttp2Session): void {
  // Wall clock on purpose: a frozen Lambda's monotonic clock may not advance, the wall clock jumps.
  entry.lastActivityAt = Date.now();
  if (--entry.active === 0) {
    if (entry.session.destroyed) return;
    entry.session.unref();
    // The timer fired while streams were open: start the idle time now.
    if (entry.idleTimer === undefined && !entry.dropped) armIdleTimer(entry, entry.idleTimeoutMs);
  }
}

/** Takes the session out of the pool; in-flight streams may still finish on it. */
export function dropSession(entry: PooledHttp2Session): void {
  if (!entry.dropped) {
    entry.dropped = true;
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
  }
  if (pool.get(entry.key) === entry) pool.delete(entry.key);
}

/** Drops the session and closes it gracefully (in-flight streams finish first). */
export function closeSession(entry: PooledHttp2Session): void {
  entry.closedByPool = true;
  dropSession(entry);
  if (!entry.session.destroyed) entry.session.close();
}

/** Drops the session and destroys it at once, failing anything still on it. */
export function destroySession(entry: PooledHttp2Session): void {
  dropSession(entry);
  if (!entry.session.destroyed) entry.session.destroy(undefined);
}

/**
 * True when the session sat idle long enough that it may have died unnoticed (a Lambda
 * freeze/thaw, a NAT or load balancer timeout, a server restart while this process was frozen).
 */
export function needsLivenessCheck(entry: PooledHttp2Session, pingIdleAfterMs: number): boolean {
  return (
    entry.active === 0 && entry.lastActivityAt !== 0 && Date.now() - entry.lastActivityAt > pingIdleAfterMs
  );
}

/**
 * Pings an idle session. Resolves true when the peer answered within the timeout; otherwise
 * destroys the session (so it leaves the pool) and resolves false. Concurrent callers share
 * one ping.
 */
export function verifySession(entry: PooledHttp2Session, timeoutMs: number): Promise<boolean> {
  if (entry.verifying !== undefined) return entry.verifying;
  retainSession(entry);
  const verifying = new Promise<boolean>((resolve) => {
    let settled = false;
    const settle = (alive: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      entry.verifying = undefined;
      releaseSession(entry);
      if (!alive) destroySession(entry);
      resolve(alive);
    };
    const timer = setTimeout(settle, timeoutMs, false);
    try {
      if (!entry.session.ping((err) => settle(err === null))) settle(false);
    } catch {
      settle(false);
    }
  });
  entry.verifying = verifying;
  return verifying;
}

/**
 * Closes every pooled HTTP/2 session gracefully and resolves once they are closed, and forgets
 * any reconnect backoff. For tests and graceful shutdown; later calls open new sessions.
 */
export async function closeAllHttp2Sessions(): Promise<void> {
  reconnects.clear();
  lost.clear();
  const entries = [...pool.values()];
  await Promise.all(
    entries.map(
      (entry) =>
        new Promise<void>((resolve) => {
          entry.closedByPool = true;
          dropSession(entry);
          entry.session.close(() => resolve());
        }),
    ),
  );
}

/** Number of pooled sessions; for tests. */
export function pooledHttp2SessionCount(): number {
  return pool.size;
}
