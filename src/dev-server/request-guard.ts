import type { NodeRequestHandler } from "./node-listener.js";

/**
 * Last line of defence in front of the Connect handler, which throws synchronously (and so
 * would crash the process from inside an 'request' event) when a request has no usable
 * authority: an HTTP/1.0 request without Host, an HTTP/2 request without :authority, or an
 * authority `new URL` rejects (some clients send an IPv6 authority without brackets).
 */
export function withRequestGuard(handler: NodeRequestHandler, log: (line: string) => void): NodeRequestHandler {
  return function guardRequest(req, res) {
    try {
      // connect only builds a URL from the authority to read the path back; any valid one will do.
      if ("stream" in req) {
        if (!isUsableAuthority(req.headers[":authority"])) req.headers[":authority"] = "localhost";
      } else if (!isUsableAuthority(req.headers.host)) {
        req.headers.host = "localhost";
      }
      handler(req, res);
    } catch (err) {
      log(`request ${req.url ?? ""} failed before reaching a handler: ${String(err)}`);
      try {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      } catch {
        // The connection is already gone; nothing left to answer.
      }
    }
  };
}

function isUsableAuthority(authority: string | undefined): boolean {
  if (authority === undefined || authority === "") return false;
  try {
    new URL(`http://${authority}`);
    return true;
  } catch {
    return false;
  }
}
