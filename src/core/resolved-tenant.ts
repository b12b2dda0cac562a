import { SiloValidationError } from "./errors.js";
import { checkName } from "./validation.js";

// A tenant that came out of a request (header, query, subdomain, route parameter, token claim)
// is caller-supplied text: besides the server's rules (1 to 64 characters) it must not carry
// characters that make it look like another tenant in logs and dashboards, or that break the
// lines it is logged on. Web-safe.

/** C0 and C1 control characters and DEL (line breaks, NUL, escape sequences...). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
/** Bidirectional formatting characters: embeddings, overrides, isolates and marks (Trojan Source). */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/**
 * A tenant resolved from a request, checked: a string of 1 to 64 characters (Unicode code
 * points, as the server counts them) with no control characters, no bidi overrides or marks, and
 * not blank. Throws `SiloValidationError` for `field` (an adapter answers it with 400).
 */
export function checkResolvedTenant(field: string, value: unknown): string {
  const tenant = checkName(field, value);
  if (tenant.trim() === "") throw new SiloValidationError(field, "must not be blank (only whitespace)");
  if (CONTROL.test(tenant)) throw new SiloValidationError(field, "must not contain control characters (line breaks, NUL, escapes)");
  if (BIDI.test(tenant)) {
    throw new SiloValidationError(field, "must not contain bidirectional formatting characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), which can make it look like another tenant");
  }
  return tenant;
}
