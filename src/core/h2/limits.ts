// Anti-abuse limits of the HTTP/2 client connection, named and defaulted the way nghttp2 (what
// node:http2 runs on) and Go's x/net/http2 do. Each is a counter checked as frames arrive, never
// a buffer sized by what the peer claims. A peer that crosses a connection limit gets GOAWAY and
// the connection closed, and every stream on it fails at once (no waiting for deadlines).

/** Limits of one HTTP/2 client connection. */
export interface H2Limits {
  /**
   * CONTINUATION frames one header block may use after its HEADERS frame; one more closes the
   * connection with ENHANCE_YOUR_CALM (the CVE-2024-27983 flood). Default 8, nghttp2's
   * `max_continuations`.
   */
  readonly maxContinuations: number;
  /**
   * Octets of one compressed header block (HEADERS plus its CONTINUATION frames); more closes
   * the connection with ENHANCE_YOUR_CALM. Default 262_144 (256 KiB).
   */
  readonly maxHeaderBlockBytes: number;
  /**
   * Largest decoded header list (RFC 9113 §6.5.2: names and values plus 32 octets per field) of a
   * response's headers or trailers. Advertised as SETTINGS_MAX_HEADER_LIST_SIZE; a larger list
   * fails its call (the server did receive the request) and resets the stream, the connection
   * stays. Default 131_072 (128 KiB): node:http2 accepts about 80 KiB in one value and 100 KiB in
   * all, and nine 16 KiB frames (HEADERS + 8 CONTINUATION) carry such a list.
   */
  readonly maxHeaderListSize: number;
  /**
   * SETTINGS and PING acknowledgements queued but not yet taken by the peer; one more closes the
   * connection, so a peer that floods them while not reading cannot grow our memory. Default
   * 1000, nghttp2's `max_outbound_ack`.
   */
  readonly maxOutboundAcks: number;
  /** Entries in one SETTINGS frame; more closes the connection. Default 32, nghttp2's `max_settings`. */
  readonly maxSettingsEntries: number;
}

/** The defaults of {@link H2Limits}. */
export const DEFAULT_H2_LIMITS: H2Limits = {
  maxContinuations: 8,
  maxHeaderBlockBytes: 256 << 10,
  maxHeaderListSize: 128 << 10,
  maxOutboundAcks: 1000,
  maxSettingsEntries: 32,
};

/** The limits with `overrides` applied; each override must be a positive integer. */
export function resolveH2Limits(overrides: Partial<H2Limits> | undefined): H2Limits {
  if (overrides === undefined) return DEFAULT_H2_LIMITS;
  const limits = { ...DEFAULT_H2_LIMITS };
  for (const key of Object.keys(DEFAULT_H2_LIMITS) as Array<keyof H2Limits>) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`http2Limits.${key} must be a positive integer, got ${String(value)}`);
    }
    (limits as Record<keyof H2Limits, number>)[key] = value;
  }
  return limits;
}
