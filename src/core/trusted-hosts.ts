import { SiloError } from "./errors.js";
import { parseNodeAddress } from "./server-address.js";
import type { Topology } from "./topology.js";

// Which nodes the client talks to (and so sends its token and headers to): the configured
// servers, and the nodes named by the topology learned from them. A redirect
// (`x-silo-shard-owner-addr`) is a claim by one node about another; it is believed only when
// the topology, refreshed from the configured servers if need be, names that node too. Web-safe.

/** Where the trusted set comes from. */
export interface TrustSource {
  /** The configured servers, normalized `host:port`. */
  readonly servers: readonly string[];
  /** The cached topology, if any (it may start a background refresh). */
  cached(): Topology | undefined;
  /** Fetches the topology from the configured servers again. */
  refresh(): Promise<Topology>;
}

/** True when `address` (strict `host:port`) is a configured server or named by `topology`. */
export function isTrustedNode(address: string, servers: readonly string[], topology: Topology | undefined): boolean {
  if (servers.includes(address)) return true;
  if (topology === undefined) return false;
  for (const shard of topology.shards) {
    if (shard.address !== "" && parseNodeAddress(shard.address) === address) return true;
  }
  return false;
}

/**
 * Whether a redirect to `advertised` may be followed: it must be a strict `host:port` that the
 * cached topology names, or, failing that, that the topology names once refreshed from the
 * configured servers. A refresh that fails counts as "not named".
 */
export async function mayFollowRedirect(advertised: string, source: TrustSource): Promise<boolean> {
  const address = parseNodeAddress(advertised);
  if (address === undefined) return false;
  if (isTrustedNode(address, source.servers, source.cached())) return true;
  let refreshed: Topology;
  try {
    refreshed = await source.refresh();
  } catch {
    return false;
  }
  return isTrustedNode(address, source.servers, refreshed);
}

/**
 * The address to connect to, checked: a node address from the cluster or an addressMap must be
 * a plain `host:port`, so the URL built from it reaches the host the token checks saw.
 */
export function checkedNodeAddress(address: string): string {
  const parsed = parseNodeAddress(address);
  if (parsed === undefined) {
    throw new SiloError(
      "SILO_INTERNAL",
      `refusing to connect to node address ${JSON.stringify(address.slice(0, 200))}: it is not a plain "host:port" ` +
        "(userinfo, paths, queries and other URL parts are not allowed); check the cluster's advertised addresses and the addressMap",
    );
  }
  return parsed;
}
