import { hashTenant } from "silo-edge";
import type { DevServer, ShardInfo } from "silo-edge/dev";

/** The dev server's shard whose hash range holds `tenant`, as the real server routes it. */
export function shardOf(server: DevServer, tenant: string): ShardInfo {
  const hash = hashTenant(tenant);
  const shard = server.shards().find((s) => s.rangeStart <= hash && (s.rangeEnd === "" || hash < s.rangeEnd));
  if (!shard) throw new Error(`no shard holds tenant ${tenant} (hash ${hash})`);
  return shard;
}

/** Fails unless the job is stored on its tenant's shard. */
export function expectOnTenantShard(server: DevServer, tenant: string, id: string): void {
  const shard = shardOf(server, tenant);
  if (!server.jobsOnShard(shard.id).includes(id)) {
    throw new Error(`job ${id} of tenant ${tenant} is not on the tenant's shard ${shard.id}`);
  }
}
