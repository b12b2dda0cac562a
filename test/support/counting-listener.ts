import { createServer, type Server } from "node:net";
import { afterAll, beforeAll } from "vitest";

/** A TCP listener that only counts connections, so a test can prove no network call was made. */
export interface CountingListener {
  /** `127.0.0.1:<port>`, valid once the suite's `beforeAll` has run. */
  readonly address: string;
  /** Connections accepted so far. */
  readonly connections: number;
}

/** Starts a counting listener before the suite's tests and closes it after them. */
export function useCountingListener(): CountingListener {
  let server: Server;
  const state = { address: "", connections: 0 };
  beforeAll(async () => {
    server = createServer((socket) => {
      state.connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const a = server.address();
    state.address = typeof a === "object" && a ? `127.0.0.1:${a.port}` : "";
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return state;
}
