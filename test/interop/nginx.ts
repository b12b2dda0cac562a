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
  const child: ChildProcess = spawn(nginx, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Ready once the port accepts connections.
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || i > 100) {
      child.kill();
      throw new Error(`nginx did not start: ${stderr}${safeRead(join(dir, "error.log"))}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address: `127.0.0.1:${port}`,
    reload() {
      execFileSync(nginx, [...args, "-s", "reload"], { stdio: "ignore" });
    },
    accessLog: () => safeRead(join(dir, "access.log")).split("\n").filter((line) => line !== ""),
    async close() {
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
