/**
 * A thrown value as plain data that MessagePack can carry, shaped like the `serialize-error`
 * package's output that the upstream worker reports as HANDLER_ERROR data: an Error becomes an
 * object with its own enumerable properties plus `name`, `message`, `stack` and `code` (nested
 * errors and objects likewise, cycles as "[Circular]"), a function becomes "[Function: name]",
 * and any other value is returned as it is.
 */
export function serializeError(value: unknown): unknown {
  if (typeof value === "function") return `[Function: ${value.name || "anonymous"}]`;
  if (typeof value !== "object" || value === null) return value;
  return plain(value as Record<string, unknown>, [], 0);
}

const MAX_DEPTH = 50;
const COMMON_PROPERTIES = ["name", "message", "stack", "code"] as const;

function plain(from: Record<string, unknown>, seen: unknown[], depth: number): unknown {
  if (typeof (from as { toJSON?: unknown }).toJSON === "function" && !(from instanceof Error)) {
    return (from as { toJSON(): unknown }).toJSON();
  }
  if (from instanceof Uint8Array) return from;
  const to: Record<string, unknown> = Array.isArray(from) ? ([] as unknown as Record<string, unknown>) : {};
  seen.push(from);
  for (const [key, v] of Object.entries(from)) {
    if (typeof v === "function") continue;
    if (typeof v !== "object" || v === null) to[key] = v;
    else if (seen.includes(v)) to[key] = "[Circular]";
    else if (depth >= MAX_DEPTH) to[key] = "[Too deep]";
    else to[key] = plain(v as Record<string, unknown>, seen, depth + 1);
  }
  for (const key of COMMON_PROPERTIES) {
    const v = (from as Record<string, unknown>)[key];
    if (typeof v === "string" && !(key in to)) to[key] = v;
  }
  seen.pop();
  return to;
}
