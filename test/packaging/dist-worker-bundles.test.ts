// Worker bundles made from the built dist/, as a consumer's wrangler makes them from node_modules:
// which transports land in them. dist/ is split into shared chunks (scripts/build-dist.mjs), so
// this checks that the fetch channels still come with the client classes of "silo-edge" and stay
// out of a Worker that uses only the SiloJobClient of "silo-edge/workers-grpc".
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleWorker } from "../support/bundle-worker.js";
import { ensureBuilt } from "../support/ensure-built.js";

const fixture = (name: string): string => fileURLToPath(new URL(`../workerd/fixtures/${name}`, import.meta.url));
const GRPC_WEB_CHANNEL = "application/grpc-web+proto";
const HTTP2_PREFACE = "PRI * HTTP/2.0";

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

describe("a Worker bundled from the built dist/", () => {
  it("with the SiloJobClient of silo-edge/workers-grpc carries the HTTP/2 client and no fetch channel", async () => {
    const script = await bundleWorker(fixture("enqueue-grpc-worker.ts"), { fromDist: true });
    expect(script).toContain(HTTP2_PREFACE);
    expect(script).not.toContain(GRPC_WEB_CHANNEL);
  });

  it("with the SiloJobClient of silo-edge carries the gRPC-web channel, its default protocol, and no HTTP/2 client", async () => {
    const script = await bundleWorker(fixture("enqueue-grpc-web-worker.ts"), { fromDist: true });
    expect(script).toContain(GRPC_WEB_CHANNEL);
    expect(script).not.toContain(HTTP2_PREFACE);
  });

  it("with SiloGRPCClient carries the gRPC-web channel", async () => {
    const script = await bundleWorker(fixture("enqueue-worker.ts"), { fromDist: true });
    expect(script).toContain(GRPC_WEB_CHANNEL);
  });
});
