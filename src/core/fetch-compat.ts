/**
 * Wraps a fetch so that Connect's fetch transports run in workerd: workerd's fetch rejects
 * `redirect: "error"` (connect-web sets it) and does not implement `mode` / `credentials`.
 */
export function workerdSafeFetch(inner: typeof globalThis.fetch = globalThis.fetch): typeof globalThis.fetch {
  return (input, init) => {
    if (!init) return inner(input);
    const { redirect: _redirect, mode: _mode, credentials: _credentials, ...rest } = init;
    return inner(input, rest);
  };
}
