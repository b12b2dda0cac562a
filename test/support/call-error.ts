import { expect } from "vitest";
import { ConnectError } from "@connectrpc/connect";

/** Awaits a call that must fail and returns its ConnectError (failing the test otherwise). */
export async function callError(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ConnectError);
    return e as ConnectError;
  }
  throw new Error("expected the call to fail");
}
