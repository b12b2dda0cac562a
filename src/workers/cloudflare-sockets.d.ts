// Types of the one workerd built-in module this package imports (src/workers/platform-workerd.ts).
declare module "cloudflare:sockets" {
  export const connect: import("./cf-socket-byte-stream.js").CfConnect;
}
