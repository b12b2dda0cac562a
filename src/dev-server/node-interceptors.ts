import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError, createContextKey } from "@connectrpc/connect";
import { toConnectError } from "./errors.js";

/**
 * A fault a test can inject into one node: `"hang"` never answers; `"reset-after-request"` runs
 * each RPC, then breaks the connection before the response; `"reset-after-next-request"` does
 * that to the next RPC only and then clears itself; `"coordination-down"` makes
 * `GetClusterInfo` answer UNAVAILABLE, as a real node does when it cannot reach its coordination
 * layer and has no cached answer.
 */
export type NodeFault = "hang" | "reset-after-request" | "reset-after-next-request" | "coordination-down";

/** The raw Node request, so a fault can break the very connection an RPC arrived on. */
export const nodeRequestKey = createContextKey<http.IncomingMessage | http2.Http2ServerRequest | undefined>(undefined, {
  description: "raw node request",
});

/** Outermost: anything a handler throws that is not a ConnectError becomes INTERNAL. */
export function createSafetyInterceptor(log: (line: string) => void): Interceptor {
  return (next) =>
    async function internalOnUnexpectedError(req) {
      try {
        return await next(req);
      } catch (reason) {
        if (!(reason instanceof ConnectError)) log(`${req.method.name} failed unexpectedly: ${String(reason)}`);
        throw toConnectError(reason);
      }
    };
}

/** Counts RPCs by method name, before auth, so tests can count round trips. */
export function createCountingInterceptor(counts: Map<string, number>): Interceptor {
  return (next) =>
    async function countRpc(req) {
      counts.set(req.method.name, (counts.get(req.method.name) ?? 0) + 1);
      return next(req);
    };
}

/** Applies the node's current fault, read per request so tests can switch it at any time. */
export function createFaultInterceptor(currentFault: () => NodeFault | null, clearFault: () => void): Interceptor {
  return (next) =>
    async function injectFault(req) {
      const fault = currentFault();
      if (fault === "hang") {
        // Never answer; give up only when the client does (deadline, cancel, broken connection).
        await new Promise<void>((resolve) => {
          if (req.signal.aborted) resolve();
          else req.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        throw new ConnectError("request abandoned by hang fault", Code.Aborted);
      }
      if (fault === "coordination-down" && req.method.name === "GetClusterInfo") {
        throw new ConnectError("cluster membership is unavailable: cannot reach the coordination layer", Code.Unavailable);
      }
      if (fault === "reset-after-next-request") clearFault();
      const res = await next(req);
      if (fault === "reset-after-request" || fault === "reset-after-next-request") {
        // The RPC has run (a job IS stored); now drop the connection before any response byte.
        breakConnection(req.contextValues.get(nodeRequestKey));
        // ABORTED: the connection is gone, so nothing is written or logged.
        throw new ConnectError("connection reset by fault injection", Code.Aborted);
      }
      return res;
    };
}

function breakConnection(req: http.IncomingMessage | http2.Http2ServerRequest | undefined): void {
  if (req === undefined) return;
  if ("stream" in req) {
    req.stream.session?.destroy();
    return;
  }
  req.socket.destroy();
}
