import { start } from "../../examples/fastify/server.js";
import { describeOrdersExample, sendHttp } from "./orders-harness.js";

describeOrdersExample({
  name: "the Fastify example on a real listener",
  async start({ client }) {
    const running = await start({ port: 0, client });
    return { send: (req) => sendHttp(running.url, req), close: running.close };
  },
});
