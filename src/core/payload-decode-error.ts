import { SiloError, type SiloErrorOptions } from "./errors.js";

/**
 * MessagePack bytes from the server (a job's payload, result or error data) could not be
 * decoded: not valid MessagePack, nested too deep, or a map with a key such as `__proto__` that
 * would change the decoded object's prototype. Code `internal`: the stored bytes are at fault,
 * not the caller.
 */
export class PayloadDecodeError extends SiloError {
  override name = "PayloadDecodeError";
  /** What was being decoded, e.g. `"payload"`; `"MessagePack bytes"` when the caller did not say. */
  readonly field: string;

  constructor(field: string, message: string, options?: SiloErrorOptions) {
    super("SILO_INTERNAL", `could not decode ${field}: ${message}`, options);
    this.field = field;
  }
}
