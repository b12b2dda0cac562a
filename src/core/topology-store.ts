/**
 * Where a client keeps the last known topology across cold starts. A store holds one small JSON
 * value per key; what it returns is validated before use, so a stale, corrupt or foreign value
 * only costs one `GetClusterInfo` call, never a crash.
 */
export interface TopologyStore {
  /** The value last `set` under `key`, or undefined. May be async. */
  get(key: string): unknown | Promise<unknown>;
  /** Stores `value` (a JSON-serialisable object) under `key`. May be async. */
  set(key: string, value: unknown): void | Promise<void>;
}

/** A Workers-KV-shaped binding: `get(key)` returning a string or null, `put(key, value)`. */
export interface KvLike {
  get(key: string): Promise<string | null> | string | null;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void> | void;
}

/** Keeps topologies in a Map: useful in tests and to share one value between clients explicitly. */
export function createMemoryTopologyStore(): TopologyStore {
  const values = new Map<string, string>();
  return {
    get: (key) => {
      const raw = values.get(key);
      return raw === undefined ? undefined : JSON.parse(raw);
    },
    set: (key, value) => {
      values.set(key, JSON.stringify(value));
    },
  };
}

/** Options of `createKvTopologyStore`. */
export interface KvTopologyStoreOptions {
  /** Prefix of the KV keys. Default `"silo-edge:topology:"`. */
  prefix?: string;
  /** Expiry of stored values in seconds (Workers KV's minimum is 60). Default 86400. */
  expirationTtl?: number;
}

/** Keeps topologies in a KV binding such as Workers KV. */
export function createKvTopologyStore(kv: KvLike, options: KvTopologyStoreOptions = {}): TopologyStore {
  const { prefix = "silo-edge:topology:", expirationTtl = 86_400 } = options;
  return {
    async get(key) {
      const raw = await kv.get(prefix + key);
      return raw ?? undefined;
    },
    async set(key, value) {
      await kv.put(prefix + key, JSON.stringify(value), { expirationTtl });
    },
  };
}
