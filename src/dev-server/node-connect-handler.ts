import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import type { ConnectRouter, ConnectRouterOptions, ContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { NodeRequestHandler } from "./node-listener.js";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Options of {@link createNodeConnectHandler}. */
export interface NodeConnectHandlerOptions extends ConnectRouterOptions {
  /** Registers the services. */
  routes(router: ConnectRouter): void;
  /** Context values for each request, built from the Node request. */
  contextValues?: (req: NodeRequest) => ContextValues;
}

/**
 * A Node `http`/`http2` request listener serving Connect routes (gRPC, gRPC-web, Connect).
 *
 * Our own bridge between Node's compat request/response and Connect's universal handlers, so
 * the dev server needs nothing from `@connectrpc/connect-node` (whose `engines` asks for
 * Node 22, which made every install on Node 20 warn and `--engine-strict` installs fail).
 */
export function createNodeConnectHandler(options: NodeConnectHandlerOptions): NodeRequestHandler {
  const router = createConnectRouter(options);
  options.routes(router);
  const byPath = new Map<string, UniversalHandler>();
  for (const handler of router.handlers) byPath.set(handler.requestPath, handler);

  return function nodeConnectHandler(req, res) {
    const handler = byPath.get((req.url ?? "").split("?", 1)[0] ?? "");
    if (handler === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    const request = toUniversalRequest(req, res, options.contextValues?.(req));
    handler(request)
      .then((response) => writeUniversalResponse(response, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        // The connection broke while answering; there is nobody left to tell.
        if (!res.headersSent) {
          try {
            res.writeHead(500);
            res.end();
          } catch {
            // Already gone.
          }
        }
      });
  };
}

function toUniversalRequest(req: NodeRequest, res: NodeResponse, contextValues: ContextValues | undefined): UniversalServerRequest {
  const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
  const authority = ("authority" in req ? req.authority : undefined) ?? req.headers.host ?? "localhost";
  const header = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) header.append(name, v);
    else header.set(name, value);
  }
  // Aborts the handler when the client goes away before the answer is written (deadline, cancel,
  // broken connection). The response's 'close' fires on both HTTP versions, also after a reset.
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort(new ConnectError("the client closed the request", Code.Aborted));
  });
  return {
    httpVersion: req.httpVersion,
    method: req.method ?? "",
    url: new URL(req.url ?? "", `${encrypted ? "https" : "http"}://${authority}`).toString(),
    header,
    body: req as AsyncIterable<Uint8Array>,
    signal: abort.signal,
    contextValues,
  };
}

async function writeUniversalResponse(response: UniversalServerResponse, res: NodeResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.header?.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body !== undefined) {
    for await (const chunk of response.body) {
      if (res.destroyed) throw new ConnectError("the client closed the request", Code.Aborted);
      await writeChunk(res, chunk);
    }
  }
  if (response.trailer !== undefined) {
    const trailers: Record<string, string> = {};
    response.trailer.forEach((value, name) => {
      trailers[name] = value;
    });
    res.addTrailers(trailers);
  }
  await new Promise<void>((resolve) => {
    res.once("finish", resolve);
    res.once("close", resolve);
    res.end();
  });
}

function writeChunk(res: NodeResponse, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    (res as http.ServerResponse).write(chunk, (err) => (err ? reject(new ConnectError(String(err), Code.Aborted)) : resolve()));
  });
}
