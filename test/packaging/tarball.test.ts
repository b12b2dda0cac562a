import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ENTRY_POINTS, ROOT, createConsumer, run, typecheck, type Consumer } from "./consumer.js";

// Strict ESM code that touches every entry point, the way a user writes it. `IsAny` fails the
// build if a type silently became `any` (what an undeclared type import does under skipLibCheck).
const EVERY_ENTRY = `
import { SiloGRPCClient, SiloUnavailableError, type SiloScope } from "silo-edge";
import { silo, fromHeader, type SiloVariables } from "silo-edge/hono";
import { siloMiddleware } from "silo-edge/express";
import { withSilo, siloMiddy, type SiloContext } from "silo-edge/lambda";
import { createWorker, drainTasks } from "silo-edge/worker";
import { createFileTopologyStore, createGrpcHttp2Transport } from "silo-edge/node";
import { startDevServer, type DevServer } from "silo-edge/dev";
import { createGrpcWebFetchTransport } from "silo-edge/connect";
import { withSilo as withSiloFetch } from "silo-edge/fetch";
import { siloPlugin, siloErrorHandler } from "silo-edge/fastify";
import { workersGrpc } from "silo-edge/workers-grpc";
import { Hono } from "hono";
import Fastify from "fastify";
import express from "express";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyResult, APIGatewayProxyEvent } from "aws-lambda";

type IsAny<T> = 0 extends 1 & T ? true : false;
function notAny<T>(_value: T, _proof: IsAny<T> extends true ? never : true): void {}

const client = new SiloGRPCClient({ servers: ["127.0.0.1:7450"], topologyCache: createFileTopologyStore() });
notAny(client, true);
notAny(new SiloUnavailableError("down"), true);
notAny(workersGrpc, true);

const app = new Hono<{ Variables: SiloVariables }>();
app.use("/orders/*", silo({ client, tenant: fromHeader("x-tenant-id"), required: true }));
app.post("/orders", async (c) => {
  const scope: SiloScope = c.var.silo;
  notAny(c.var.silo, true);
  const handle = await scope.enqueue({ payload: await c.req.json(), taskGroup: "orders" });
  return c.json({ id: handle.id }, 202);
});

const server = express();
server.use(siloMiddleware({ client, tenant: fromHeader("x-tenant-id") }));
server.post("/orders", async (req, res) => {
  notAny(req.silo, true);
  const handle = await req.silo.enqueue({ payload: req.body, taskGroup: "orders" });
  res.status(202).json({ id: handle.id });
});

export const handler = withSilo(
  async (event: APIGatewayProxyEventV2, context) => {
    notAny(context.silo, true);
    const handle = await context.silo.enqueue({ payload: JSON.parse(event.body ?? "{}"), taskGroup: "orders" });
    return { statusCode: 202, body: JSON.stringify({ id: handle.id }) };
  },
  { client, tenant: fromHeader("x-tenant-id"), required: true },
);

export const middyHandler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, SiloContext>()
  .use(siloMiddy({ client }))
  .handler(async (_event, context) => {
    notAny(context.silo, true);
    return { statusCode: 200, body: context.silo.tenant ?? "-" };
  });

export const worker = createWorker<{ n: number }>({ client, taskGroup: "orders", handler: ({ payload }) => payload.n + 1 });
export const drain = (): Promise<unknown> => drainTasks({ client, taskGroup: "orders", handler: () => null, budgetMs: 1_000 });
export const transport = createGrpcHttp2Transport({ baseUrl: "http://127.0.0.1:7450" });
export const devServer: Promise<DevServer> = startDevServer({ port: 0 });
export const webTransport = createGrpcWebFetchTransport({ baseUrl: "http://127.0.0.1:7450" });
export const POST = withSiloFetch(async (request: Request, silo) => {
  notAny(silo, true);
  const handle = await silo.enqueue({ payload: await request.json(), taskGroup: "orders" });
  return Response.json({ id: handle.id }, { status: 202 });
}, { client, tenant: fromHeader("x-tenant-id") });

export const fastifyApp = Fastify();
fastifyApp.setErrorHandler(siloErrorHandler());
void fastifyApp.register(siloPlugin, { client, tenant: fromHeader("x-tenant-id"), required: true });
fastifyApp.post("/orders", async (request, reply) => {
  notAny(request.silo, true);
  const handle = await request.silo.enqueue({ payload: request.body, taskGroup: "orders" });
  return reply.code(202).send({ id: handle.id });
});
`;

// node16 checks every declaration file (ours and our dependencies'); bundler is the usual
// app setup with skipLibCheck, where the IsAny proofs catch a type that silently became `any`.
const TSCONFIGS = {
  node16: { module: "node16", moduleResolution: "node16", skipLibCheck: false },
  bundler: { module: "esnext", moduleResolution: "bundler", skipLibCheck: true },
} as const;

// @connectrpc/connect's declarations name DOM's `HeadersInit`, which @types/node does not declare.
const HEADERS_INIT_SHIM = "type HeadersInit = ConstructorParameters<typeof Headers>[0];\n";

/** The first TypeScript block of the README that imports the client: the "use it in your project" snippet. */
function readmeSnippet(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const snippet = blocks.find((b) => b.startsWith('import { SiloGRPCClient } from "silo-edge";') && b.includes("localhost:7450"));
  if (snippet === undefined) throw new Error("README has no install snippet importing SiloGRPCClient from silo-edge");
  return snippet;
}

let consumer: Consumer;

beforeAll(async () => {
  consumer = await createConsumer();
}, 180_000);

describe("the packed tarball, installed into a fresh ESM project", () => {
  it("installs with --engine-strict on this Node without a single warning", () => {
    expect(consumer.installStderr).not.toContain("EBADENGINE");
    expect(consumer.installStderr.trim()).toBe("");
  });

  it("ships a LICENSE, declaration maps, and no generic `source` export condition", async () => {
    const { stdout } = await run("tar", ["-tzf", consumer.tarball], consumer.dir);
    const files = stdout.split("\n");
    expect(files).toContain("package/LICENSE");
    expect(files).toContain("package/dist/index.d.ts.map");
    const installed = readFileSync(join(consumer.dir, "node_modules", "silo-edge", "package.json"), "utf8");
    expect(installed).not.toMatch(/"source"\s*:/);
    expect(readFileSync(join(consumer.dir, "node_modules", "silo-edge", "LICENSE"), "utf8")).toContain("silo-edge authors");
  });

  it("needs nothing that declares a newer Node than ours among its installed dependencies", () => {
    const lock = JSON.parse(readFileSync(join(consumer.dir, "package-lock.json"), "utf8")) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    expect(Object.keys(lock.packages)).not.toContain("node_modules/@connectrpc/connect-node");
  });

  it("declares every package its type declarations import, as a dependency or a peer dependency", () => {
    const pkgDir = join(consumer.dir, "node_modules", "silo-edge");
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    // A type-only package covers the module it types: @types/aws-lambda declares "aws-lambda".
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies).map((n) => n.replace(/^@types\//, ""))]);
    const imported = new Set<string>();
    for (const file of readdirSync(join(pkgDir, "dist"), { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".d.ts")) continue;
      for (const m of readFileSync(join(pkgDir, "dist", file), "utf8").matchAll(/(?:from |import\()"([^".][^"]*)"/g)) {
        const specifier = m[1] as string;
        if (specifier.startsWith("node:")) continue;
        imported.add(specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : (specifier.split("/")[0] as string));
      }
    }
    expect(imported.size).toBeGreaterThan(0);
    expect([...imported].filter((name) => !declared.has(name))).toEqual([]);
    expect(pkg.peerDependencies).toHaveProperty("@types/aws-lambda");
  });

  it.each(Object.entries(TSCONFIGS))("typechecks strict ESM code using every entry point under moduleResolution %s", async (name, resolution) => {
    writeFileSync(join(consumer.dir, "src", "every-entry.ts"), EVERY_ENTRY);
    writeFileSync(join(consumer.dir, "src", "headers-init.d.ts"), HEADERS_INIT_SHIM);
    const tsconfig = `tsconfig.${name}.json`;
    writeFileSync(
      join(consumer.dir, tsconfig),
      JSON.stringify({
        compilerOptions: { ...resolution, target: "ES2022", lib: ["ES2022"], types: ["node"], strict: true, noEmit: true },
        files: ["src/every-entry.ts", "src/headers-init.d.ts"],
      }),
    );
    // Every entry point is imported by the code above.
    for (const entry of ENTRY_POINTS) expect(EVERY_ENTRY).toContain(`from "${entry}"`);
    const result = await typecheck(consumer, tsconfig).catch((err: { stdout?: string; message: string }) => ({ stdout: err.stdout ?? err.message, stderr: "" }));
    expect(result.stdout).toBe("");
  }, 120_000);

  it("runs the README's snippet against the dev server from the installed package", async () => {
    // The snippet starts with its import; the rest runs between starting and stopping a server.
    const [importLine, ...body] = readmeSnippet().replace('"localhost:7450"', "server.addresses[0]").split("\n");
    const script = [
      importLine,
      'import { startDevServer } from "silo-edge/dev";',
      "const server = await startDevServer({ port: 0 });",
      "try {",
      ...body,
      "} finally {",
      "  await server.close();",
      "}",
    ].join("\n");
    writeFileSync(join(consumer.dir, "snippet.mjs"), script);
    const { stdout } = await run(process.execPath, ["snippet.mjs"], consumer.dir);
    expect(stdout).toMatch(/^[0-9a-f-]{36} Scheduled\n$/);
  }, 30_000);
});
