import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TopologyStore } from "../core/topology-store.js";

/** Options of `createFileTopologyStore`. */
export interface FileTopologyStoreOptions {
  /** Directory of the files. Default: the OS temp dir (`/tmp` on Lambda, which survives warm starts). */
  dir?: string;
}

/**
 * Keeps topologies as small JSON files, one per key, for Node and Lambda. Writes go to a temp
 * file renamed into place, so a reader never sees half a file.
 */
export function createFileTopologyStore(options: FileTopologyStoreOptions = {}): TopologyStore {
  const dir = options.dir ?? join(tmpdir(), "silo-edge");
  const pathOf = (key: string): string => join(dir, `topology-${key.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
  return {
    get(key) {
      try {
        return readFileSync(pathOf(key), "utf8");
      } catch {
        return undefined;
      }
    },
    set(key, value) {
      mkdirSync(dir, { recursive: true });
      const path = pathOf(key);
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(value));
      renameSync(tmp, path);
    },
  };
}
