// The dev server of the load test, in its own process; driven over IPC by server-control.ts.
import { startDevServer, type DevServerOptions } from "silo-edge/dev";

const options = JSON.parse(process.argv[2] ?? "{}") as DevServerOptions;
const server = await startDevServer(options);
process.send!({ ready: server.addresses });

process.on("message", (msg: { id: number; op: string; node?: number }) => {
  const reply = (value: unknown): void => void process.send!({ id: msg.id, ok: true, value });
  const fail = (err: unknown): void => void process.send!({ id: msg.id, ok: false, error: String(err) });
  switch (msg.op) {
    case "stopNode":
      server.stopNode(msg.node!).then(() => reply(null), fail);
      break;
    case "startNode":
      server.startNode(msg.node!).then(() => reply(null), fail);
      break;
    case "jobIds":
      reply(server.jobIds());
      break;
    case "close":
      server.close().then(() => {
        reply(null);
        process.disconnect();
      }, fail);
      break;
    default:
      fail(new Error(`unknown op ${msg.op}`));
  }
});
