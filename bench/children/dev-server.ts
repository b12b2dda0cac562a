// The dev server in its own process, so the client processes' CPU figures never include it.
// Driven over the IPC channel by bench/server-process.ts; exits when the parent goes away.
import { startDevServer } from "silo-edge/dev";

type Request = { id: number; op: "counts" | "reset" | "close" };

const options = JSON.parse(process.argv[2] ?? "{}") as { nodes: number; shards: number; tenancy: boolean };
const server = await startDevServer({ port: 0, ...options });
process.send!({ ready: true, addresses: server.addresses });

process.on("message", async (msg: Request) => {
  switch (msg.op) {
    case "counts":
      process.send!({ id: msg.id, counts: server.rpcCounts() });
      break;
    case "reset":
      server.resetRpcCounts();
      process.send!({ id: msg.id });
      break;
    case "close":
      await server.close();
      process.send!({ id: msg.id });
      process.disconnect();
      break;
  }
});
process.on("disconnect", () => {
  void server.close().finally(() => process.exit(0));
});
