import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { NodeRequestHandler } from "./node-listener.js";

/**
 * Percent-encode a status message the way tonic (and the gRPC spec) does: printable ASCII
 * except `%` stays as is, every other UTF-8 byte becomes `%XX`.
 */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

type NodeHeaders = http.OutgoingHttpHeaders | http2.OutgoingHttpHeaders;

function reencode(headers: NodeHeaders | undefined): void {
  if (headers === undefined || headers === null || typeof headers !== "object") return;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== "grpc-message") continue;
    const value = headers[key];
    if (typeof value !== "string") continue;
    try {
      headers[key] = encodeGrpcMessage(decodeURIComponent(value));
    } catch {
      // Leave a value that is not valid percent-encoding untouched.
    }
  }
}

/**
 * connect-es encodes `grpc-message` with `encodeURIComponent`, so `:` becomes `%3A`. grpc-js
 * decodes with `decodeURI`, which leaves `%3A` alone: its users would read
 * "invalid shard ID%3A x" where the stock server says "invalid shard ID: x". Re-encoding the
 * header and trailer tonic's way gives every client the server's exact text.
 */
export function withTonicGrpcMessage(handler: NodeRequestHandler): NodeRequestHandler {
  return function tonicGrpcMessage(req, res) {
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
    (res as { writeHead: unknown }).writeHead = (...args: unknown[]) => {
      reencode(args.find((a): a is NodeHeaders => typeof a === "object" && a !== null && !Array.isArray(a)));
      return writeHead(...args);
    };
    const addTrailers = res.addTrailers.bind(res) as (headers: NodeHeaders) => void;
    (res as { addTrailers: unknown }).addTrailers = (headers: NodeHeaders) => {
      reencode(headers);
      addTrailers(headers);
    };
    handler(req, res);
  };
}
