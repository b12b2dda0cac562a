import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";

// Servers that answer every request with one hand-written response, to feed the transports
// what a broken server, a proxy or a non-gRPC endpoint sends.

export interface RawServer {
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** How an HTTP/2 raw server answers: response headers, body chunks, optional trailers. */
export interface RawHttp2Response {
  headers: http2.OutgoingHttpHeaders;
  body?: Uint8Array[];
  trailers?: http2.OutgoingHttpHeaders;
  /** Reset the stream with this HTTP/2 error code instead of answering. */
  rstCode?: number;
  /** End the stream right after the headers (a trailers-only response). */
  headersOnly?: boolean;
}

export async function startRawHttp2Server(respond: () => RawHttp2Response): Promise<RawServer> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.resume();
    const r = respond();
    if (r.rstCode !== undefined) {
      stream.close(r.rstCode);
      return;
    }
    const wantTrailers = r.trailers !== undefined;
    stream.respond(r.headers, { endStream: r.headersOnly === true, waitForTrailers: wantTrailers });
    if (r.headersOnly === true) return;
    if (wantTrailers) stream.on("wantTrailers", () => stream.sendTrailers(r.trailers ?? {}));
    for (const chunk of r.body ?? []) stream.write(chunk);
    stream.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      for (const s of sessions) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** How an HTTP/1 raw server answers. */
export interface RawHttp1Response {
  status?: number;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Destroy the socket after writing this many body bytes. */
  cutAfterBytes?: number;
}

export async function startRawHttp1Server(respond: () => RawHttp1Response): Promise<RawServer> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const r = respond();
      if (r.cutAfterBytes !== undefined) {
        res.writeHead(r.status ?? 200, { ...r.headers, "content-length": String(r.body?.byteLength ?? 0) });
        res.write(r.body?.subarray(0, r.cutAfterBytes) ?? new Uint8Array(0), () => res.socket?.destroy());
        return;
      }
      res.writeHead(r.status ?? 200, r.headers);
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** One gRPC frame: flag byte, big-endian length, payload. */
export function frame(flags: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.byteLength + 5);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, payload.byteLength);
  out.set(payload, 5);
  return out;
}

/** A gRPC-web trailer frame. */
export function trailerFrame(fields: Record<string, string>): Uint8Array {
  const text = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return frame(0x80, new TextEncoder().encode(text));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}
