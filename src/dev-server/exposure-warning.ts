// The dev server keeps every job in memory and, without a token, answers anyone who can reach
// it. On a loopback address that is this machine only; on any other address it is not.

/** True for addresses only this machine can reach: `localhost`, 127.0.0.0/8 and `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The warning to print when the server listens beyond loopback without a token, else undefined. */
export function exposureWarning(host: string, token: string | undefined): string | undefined {
  if (token !== undefined || isLoopbackHost(host)) return undefined;
  return (
    `silo-edge dev server: WARNING: listening on ${host} without a token, so anyone who can reach this ` +
    "address can enqueue, read, cancel and delete jobs. It is a development server, not for production. " +
    "Bind 127.0.0.1 (the default), or set a token (--token / token)."
  );
}
