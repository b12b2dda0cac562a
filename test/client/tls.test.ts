// The client's `tls` option (private CA, mutual TLS, servername) on the Node gRPC transport, against
// the dev server behind a TLS-terminating proxy that speaks h2 to the client and forwards the
// decrypted bytes. Certificates are made here by openssl.
import * as net from "node:net";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../../src/dev-server/index.js";
import { SiloGRPCClient, SiloUnavailableError, SiloValidationError } from "../../src/index.js";
import { selfSignedCert } from "../support/self-signed-cert.js";

interface Proxy {
  address: string;
  close(): Promise<void>;
}

async function tlsProxy(target: string, options: tls.TlsOptions): Promise<Proxy> {
  const [host, port] = target.split(":") as [string, string];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ ...options, ALPNProtocols: ["h2"] }, (client) => {
    const upstream = net.connect(Number(port), host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${proxyPort}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("the client's tls option", () => {
  const serverCert = selfSignedCert({ commonName: "silo.internal", subjectAltName: "DNS:silo.internal" });
  const clientCert = selfSignedCert({ commonName: "worker-1", subjectAltName: "DNS:worker-1" });
  let dev: DevServer;
  let plain: Proxy;
  let mutual: Proxy;

  beforeAll(async () => {
    dev = await startDevServer({ port: 0 });
    plain = await tlsProxy(dev.addresses[0] as string, serverCert);
    mutual = await tlsProxy(dev.addresses[0] as string, { ...serverCert, requestCert: true, rejectUnauthorized: true, ca: clientCert.cert });
  });

  afterAll(async () => {
    await plain.close();
    await mutual.close();
    await dev.close();
  });

  /** A client that reaches the dev server only through `proxy` (the advertised address is mapped to it). */
  const clientVia = (proxy: Proxy, tlsOptions: ConstructorParameters<typeof SiloGRPCClient>[0]["tls"]): SiloGRPCClient =>
    new SiloGRPCClient({
      servers: [proxy.address],
      addressMap: { [dev.addresses[0] as string]: proxy.address },
      shardRouting: { maxRetries: 0 },
      timeoutMs: 3_000,
      ...(tlsOptions ? { tls: tlsOptions } : {}),
    });

  it("trusts a private CA and checks the certificate against servername", async () => {
    const client = clientVia(plain, { ca: serverCert.cert, servername: "silo.internal" });
    const handle = await client.enqueue({ payload: { n: 1 }, taskGroup: "tls" });
    expect(dev.jobIds()).toContain(handle.id);
  });

  it("takes the CA as bytes too", async () => {
    const client = clientVia(plain, { ca: [new TextEncoder().encode(serverCert.cert)], servername: "silo.internal" });
    expect((await client.enqueue({ payload: 1, taskGroup: "tls" })).id).toBeTruthy();
  });

  it("refuses the server when its certificate does not carry the name dialled (no servername)", async () => {
    const client = clientVia(plain, { ca: serverCert.cert });
    await expect(client.enqueue({ payload: 1, taskGroup: "tls" })).rejects.toBeInstanceOf(SiloUnavailableError);
  });

  it("refuses a server its CA does not vouch for", async () => {
    const client = clientVia(plain, { ca: clientCert.cert, servername: "silo.internal" });
    await expect(client.enqueue({ payload: 1, taskGroup: "tls" })).rejects.toBeInstanceOf(SiloUnavailableError);
  });

  it("presents a client certificate for mutual TLS, and fails without one", async () => {
    const withCert = clientVia(mutual, { ca: serverCert.cert, servername: "silo.internal", cert: clientCert.cert, key: clientCert.key });
    const handle = await withCert.enqueue({ payload: 1, taskGroup: "mtls" });
    expect(dev.jobIds()).toContain(handle.id);
    const without = clientVia(mutual, { ca: serverCert.cert, servername: "silo.internal" });
    await expect(without.enqueue({ payload: 1, taskGroup: "mtls" })).rejects.toBeInstanceOf(SiloUnavailableError);
  });

  it.each([
    ["a cert without its key", "tls.key", { cert: "x" }],
    ["a key without its cert", "tls.cert", { key: "x" }],
    ["a ca that is not PEM", "tls.ca", { ca: 42 }],
    ["an empty servername", "tls.servername", { servername: "" }],
    ["an option it does not know", "tls.pfx", { pfx: "x" }],
  ])("rejects %s before any network call, naming %s", (_what, field, tlsOptions) => {
    expect(() => new SiloGRPCClient({ servers: ["127.0.0.1:1"], tls: tlsOptions as never })).toThrow(
      expect.objectContaining({ field }) as unknown as SiloValidationError,
    );
  });

  it("refuses tls with useTls: false or a fetch protocol", () => {
    expect(() => new SiloGRPCClient({ servers: ["127.0.0.1:1"], useTls: false, tls: { ca: "x" } })).toThrow(SiloValidationError);
    expect(() => new SiloGRPCClient({ servers: ["127.0.0.1:1"], protocol: "grpc-web", tls: { ca: "x" } })).toThrow(SiloValidationError);
  });
});
