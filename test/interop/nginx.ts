import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// A real nginx (the Debian package; .ci/run installs it) started by a test as a gRPC proxy on
// loopback, with its configuration, logs and pid file in a temp dir of its own.

export interface NginxGrpcProxyOptions {
  /** `host:port` of the h2c gRPC server nginx proxies to. */
  upstream: string;
  /** nginx's `keepalive_requests`: after this many requests on a client connection it sends GOAWAY. */
  keepaliveRequests: number;
}

export interface NginxGrpcProxy {
  /** `127.0.0.1:port` nginx listens on (h2c). */
  readonly address: string;
  /** `nginx -s reload`: new workers take over, old ones finish their requests and close. */
  reload(): void;
  /** Lines of the access log: `connection requests-on-it status`. */
  accessLog(): string[];
  close(): Promise<void>;
}

/** The nginx binary, or a clear failure: the interop tests require it. */
export function nginxBinary(): string {
  for (const candidate of ["/usr/sbin/nginx", "/usr/bin/nginx"]) {
    try {
      execFileSync(candidate, ["-v"], { stdio: "ignore" });
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    "nginx is not installed; the interop tests need it: apt-get install -y nginx-light (.ci/run does this)",
  );
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startNginxGrpcProxy(options: NginxGrpcProxyOptions): Promise<NginxGrpcProxy> {
  const nginx = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), "silo-edge-nginx-"));
  // Workers may run as another user than the master (root starts them as nobody).
  chmodSync(dir, 0o755);
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  log_format conn '$connection $connection_requests $status';
  access_log ${dir}/access.log conn;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream silo { server ${options.upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} http2;
    keepalive_requests ${options.keepaliveRequests};
    location / { grpc_pass grpc://silo; }
  }
}
`,
  );
  const args = ["-p", dir, "-c", conf, "-e", join(dir, "error.log")];
  const close = await runNginx(nginx, args, dir, port);
  return {
    address: `127.0.0.1:${port}`,
    reload() {
      execFileSync(nginx, [...args, "-s", "reload"], { stdio: "ignore" });
    },
    accessLog: () => safeRead(join(dir, "access.log")).split("\n").filter((line) => line !== ""),
    close,
  };
}

/**
 * Starts nginx with `args` and resolves once it accepts connections on `port`, with the function
 * that stops it (SIGQUIT, SIGKILL after 5 s) and removes its temp dir `dir`.
 */
async function runNginx(nginx: string, args: string[], dir: string, port: number): Promise<() => Promise<void>> {
  const child: ChildProcess = spawn(nginx, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitForPort(port, child, () => `${stderr}${safeRead(join(dir, "error.log"))}`);
  return async () => {
    child.kill("SIGQUIT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

export interface NginxTlsTerminatorOptions {
  /** `host:port` of the plaintext TCP server behind it (Silo's h2c port). */
  upstream: string;
  /** PEM certificate and key nginx presents. */
  cert: string;
  key: string;
  /**
   * ALPN protocol ids nginx accepts from clients that offer ALPN (`ssl_alpn`); clients that offer
   * none, such as a Worker's connect(), are served either way. Default: none configured.
   */
  alpn?: string[];
}

/**
 * A real nginx as a TCP-level TLS terminator (its `stream` module with `ssl`; Debian's
 * libnginx-mod-stream, which .ci/run installs): TLS from the client, the plain bytes to
 * `upstream`, whatever ALPN the client offered or did not offer.
 */
export async function startNginxTlsTerminator(options: NginxTlsTerminatorOptions): Promise<{ address: string; close(): Promise<void> }> {
  const nginx = nginxBinary();
  const module = "/usr/lib/nginx/modules/ngx_stream_module.so";
  try {
    readFileSync(module);
  } catch {
    throw new Error(`nginx's stream module is not installed (${module}): apt-get install -y libnginx-mod-stream (.ci/run does this)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "silo-edge-nginx-tls-"));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "cert.pem"), options.cert);
  writeFileSync(join(dir, "key.pem"), options.key);
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `load_module ${module};
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
stream {
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
${options.alpn ? `    ssl_alpn ${options.alpn.join(" ")};\n` : ""}    proxy_pass ${options.upstream};
  }
}
`,
  );
  const close = await runNginx(nginx, ["-p", dir, "-c", conf, "-e", join(dir, "error.log")], dir, port);
  return { address: `127.0.0.1:${port}`, close };
}

/** Resolves once `port` accepts connections; throws with `why()` if the child exits first. */
async function waitForPort(port: number, child: ChildProcess, why: () => string): Promise<void> {
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (up) return;
    if (child.exitCode !== null || i > 100) {
      child.kill();
      throw new Error(`nginx did not start: ${why()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
