import * as net from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A TCP proxy in front of a test server. It counts the connections it accepts, and it can make
 * existing connections go silent (as a connection does across a Lambda freeze or a dropped NAT
 * entry) or cut them, while new connections keep working.
 */
export interface TcpProxy {
  readonly baseUrl: string;
  /** `127.0.0.1:<port>`, the proxy as a server address. */
  readonly address: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Existing connections stop forwarding in both directions; nothing is closed. */
  silenceConnections(): void;
  /** Existing connections are reset at once. */
  cutConnections(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = (): void => {
      pairs.delete(pair);
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    silenceConnections() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        // Keep reading so the peers' writes succeed, but drop the bytes.
        client.on("data", () => {});
        upstream.on("data", () => {});
        client.resume();
        upstream.resume();
      }
      pairs.clear();
    },
    cutConnections() {
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
