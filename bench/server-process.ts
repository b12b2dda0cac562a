// Starts the dev server in a child process and talks to it over IPC.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The parent's handle on the dev server child. */
export interface ServerProcess {
  readonly addresses: string[];
  /** RPCs received since the last reset, by method, summed over nodes. */
  rpcCounts(): Promise<Record<string, number>>;
  resetRpcCounts(): Promise<void>;
  close(): Promise<void>;
}

/** Same cluster shape for every benchmark: two nodes, four shards, tenancy on, so routing matters. */
export const CLUSTER = { nodes: 2, shards: 4, tenancy: true } as const;

export async function startServerProcess(): Promise<ServerProcess> {
  const child = fork(fileURLToPath(new URL("./children/dev-server.ts", import.meta.url)), [JSON.stringify(CLUSTER)], {
    execArgv: ["--conditions=silo-edge-source", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, (msg: Record<string, unknown>) => void>();
  let nextId = 1;
  const addresses = await new Promise<string[]>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`dev server child exited early with code ${code}`)));
    child.once("message", (msg: { addresses: string[] }) => resolve(msg.addresses));
  });
  child.once("exit", (code) => {
    for (const resolve of pending.values()) resolve({ error: `dev server child exited with code ${code}` });
    pending.clear();
  });
  child.on("message", (msg: { id?: number }) => {
    if (msg.id !== undefined) {
      pending.get(msg.id)?.(msg as Record<string, unknown>);
      pending.delete(msg.id);
    }
  });
  const call = async (op: string): Promise<Record<string, unknown>> => {
    if (!child.connected) throw new Error(`dev server child is gone (${op})`);
    const reply = await new Promise<Record<string, unknown>>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ id, op });
    });
    if (reply.error) throw new Error(String(reply.error));
    return reply;
  };
  return {
    addresses,
    rpcCounts: async () => (await call("counts")).counts as Record<string, number>,
    resetRpcCounts: async () => {
      await call("reset");
    },
    async close() {
      if (!child.connected) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      await call("close");
      await exited;
    },
  };
}

/** Total RPCs of every method. */
export function totalRpcs(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
