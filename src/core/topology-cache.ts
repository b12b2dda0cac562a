import { Topology } from "./topology.js";
import type { TopologyStore } from "./topology-store.js";

/**
 * Module-scope topology cache, keyed by the configured servers, so every client built for the
 * same cluster (typical in Workers, where a client is built per request from `env`) shares one
 * topology and one in-flight `GetClusterInfo`.
 */
interface Entry {
  topology: Topology | undefined;
  inflight: Promise<Topology> | undefined;
  /** Set by a redirect or a connectivity error: refresh on the next use. */
  stale: boolean;
  /** The store has been read for this key (once per process). */
  storeRead: boolean;
}

const entries = new Map<string, Entry>();

function entryFor(key: string): Entry {
  let e = entries.get(key);
  if (!e) {
    e = { topology: undefined, inflight: undefined, stale: false, storeRead: false };
    entries.set(key, e);
  }
  return e;
}

/** How to fetch and keep a topology for one cache key. */
export interface TopologySource {
  key: string;
  /** Fetches a fresh topology (GetClusterInfo, trying each configured server). */
  fetch(): Promise<Topology>;
  store: TopologyStore | undefined;
  /** Age after which the next use refreshes it in the background; 0 = never. */
  refreshIntervalMs: number;
}

/** Fetches once for all concurrent callers, then stores the result. */
export function refreshTopology(source: TopologySource): Promise<Topology> {
  const e = entryFor(source.key);
  if (e.inflight) return e.inflight;
  const p = source
    .fetch()
    .then((topology) => {
      e.topology = topology;
      e.stale = false;
      if (source.store) {
        // A failing store must never fail the call that refreshed the topology.
        Promise.resolve()
          .then(() => source.store!.set(source.key, topology.toSnapshot()))
          .catch(() => undefined);
      }
      return topology;
    })
    .finally(() => {
      if (e.inflight === p) e.inflight = undefined;
    });
  e.inflight = p;
  return p;
}

/**
 * How long a cold start waits for the store before asking the cluster instead: a KV read that
 * hangs must cost a little latency, not the first call of every cold instance.
 */
export const STORE_READ_TIMEOUT_MS = 500;

async function readStore(source: TopologySource, e: Entry): Promise<Topology | undefined> {
  e.storeRead = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), STORE_READ_TIMEOUT_MS);
    });
    const value = await Promise.race([Promise.resolve().then(() => source.store!.get(source.key)), timeout]);
    return Topology.fromSnapshot(value);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The topology to route with: the cached one (refreshed in the background when stale or old),
 * else one from the store, else a fresh fetch that concurrent first calls share.
 */
export async function currentTopology(source: TopologySource): Promise<Topology> {
  const e = entryFor(source.key);
  if (!e.topology && source.store && !e.storeRead && !e.inflight) {
    const stored = await readStore(source, e);
    if (stored && !e.topology) e.topology = stored;
  }
  const t = e.topology;
  if (!t) return refreshTopology(source);
  const old = source.refreshIntervalMs > 0 && Date.now() - t.fetchedAtMs > source.refreshIntervalMs;
  if (e.stale || old) refreshTopology(source).catch(() => undefined);
  return t;
}

/**
 * The cached topology when there is one, without waiting (refreshed in the background when stale
 * or old, as `currentTopology` does); `undefined` when the caller must wait for `currentTopology`.
 * The warm path of every call: no promise, no timer.
 */
export function peekTopology(source: TopologySource): Topology | undefined {
  const e = entries.get(source.key);
  const t = e?.topology;
  if (t === undefined) return undefined;
  const old = source.refreshIntervalMs > 0 && Date.now() - t.fetchedAtMs > source.refreshIntervalMs;
  if (e!.stale || old) refreshTopology(source).catch(() => undefined);
  return t;
}

/** The cached topology of one cluster, without starting a refresh (a refresh's own fallbacks read it). */
export function knownTopology(key: string): Topology | undefined {
  return entries.get(key)?.topology;
}

/** Marks the topology stale so the next use refreshes it. */
export function markTopologyStale(key: string): void {
  entryFor(key).stale = true;
}

/** Forgets every cached topology (tests, and after a cluster is rebuilt). */
export function clearTopologyCache(): void {
  entries.clear();
}

/** Forgets the cached topology of one cluster, so the next call learns it again (after ResetShards). */
export function forgetTopology(key: string): void {
  entries.delete(key);
}
