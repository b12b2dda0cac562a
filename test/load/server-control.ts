import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startDevServer, type DevServer, type DevServerOptions } from "silo-edge/dev";

/** What the load run needs from a dev server, wherever it runs. */
export interface ServerControl {
  readonly addresses: string[];
  /** Where the server runs: "in-process" shares this process's CPU and heap. */
  readonly mode: "in-process" | "child-process";
  stopNode(node: number): Promise<void>;
  startNode(node: number): Promise<void>;
  jobIds(): Promise<string[]>;
  close(): Promise<void>;
}

/** A dev server in this process. Simple, but it shares the CPU and heap with the client. */
export async function inProcessServer(options: DevServerOptions): Promise<ServerControl> {
  const server: DevServer = await startDevServer(options);
  return {
    addresses: server.addresses,
    mode: "in-process",
    stopNode: (n) => server.stopNode(n),
    startNode: (n) => server.startNode(n),
    jobIds: async () => server.jobIds(),
    close: () => server.close(),
  };
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** A dev server in a child process, so the client's CPU time and heap are its own. */
export async function childProcessServer(options: DevServerOptions): Promise<ServerControl> {
  const script = fileURLToPath(new URL("./server-child.ts", import.meta.url));
  const child: ChildProcess = fork(script, [JSON.stringify(options)], {
    execArgv: ["--conditions=silo-edge-source", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on("message", (msg: Reply | { ready: string[] }) => {
    if ("ready" in msg) return;
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.ok) p?.resolve(msg.value);
    else p?.reject(new Error(msg.error));
  });
  child.on("exit", (code) => {
    for (const p of pending.values()) p.reject(new Error(`dev server child exited with ${code}`));
    pending.clear();
  });
  const addresses = await new Promise<string[]>((resolve, reject) => {
    child.once("message", (msg: { ready?: string[] }) => (msg.ready ? resolve(msg.ready) : reject(new Error("unexpected first message"))));
    child.once("exit", (code) => reject(new Error(`dev server child exited with ${code} before it was ready`)));
  });
  const call = <T>(op: string, node?: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op, node });
    });
  return {
    addresses,
    mode: "child-process",
    stopNode: (n) => call("stopNode", n),
    startNode: (n) => call("startNode", n),
    jobIds: () => call<string[]>("jobIds"),
    async close() {
      if (child.exitCode !== null) return;
      await call("close").catch(() => undefined);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else child.once("exit", () => resolve());
      });
    },
  };
}
