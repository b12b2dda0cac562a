import { SiloValidationError } from "./errors.js";
import { checkKnownKeys, checkObject } from "./validation.js";

/** PEM text or its bytes. */
export type PemInput = string | Uint8Array;

/**
 * TLS settings of the Node gRPC transport (`protocol: "grpc"`), for a private CA and mutual TLS
 * without the process-wide `NODE_EXTRA_CA_CERTS`.
 */
export interface SiloTlsOptions {
  /** Certificate authorities to trust instead of Node's bundled roots (PEM). Default: Node's roots. */
  ca?: PemInput | PemInput[];
  /** Client certificate chain for mutual TLS (PEM); needs `key`. Default: none. */
  cert?: PemInput;
  /** Private key of `cert` (PEM). Default: none. */
  key?: PemInput;
  /** Name the server's certificate must carry (SNI), when it differs from the address dialled. Default: the host name (none for IP addresses). */
  servername?: string;
}

function isPem(value: unknown): value is PemInput {
  return (typeof value === "string" && value.length > 0) || value instanceof Uint8Array;
}

/** Checks the client's `tls` option; every problem names its field. */
export function checkTlsOptions(value: unknown): SiloTlsOptions | undefined {
  if (value === undefined) return undefined;
  const o = checkObject("tls", value);
  checkKnownKeys("tls", o, ["ca", "cert", "key", "servername"]);
  const { ca, cert, key, servername } = o as SiloTlsOptions;
  if (ca !== undefined && !(isPem(ca) || (Array.isArray(ca) && ca.length > 0 && ca.every(isPem)))) {
    throw new SiloValidationError("tls.ca", "must be PEM text or bytes, or a non-empty list of them");
  }
  if (cert !== undefined && !isPem(cert)) throw new SiloValidationError("tls.cert", "must be PEM text or bytes");
  if (key !== undefined && !isPem(key)) throw new SiloValidationError("tls.key", "must be PEM text or bytes");
  if ((cert === undefined) !== (key === undefined)) {
    throw new SiloValidationError(cert === undefined ? "tls.cert" : "tls.key", "is needed too: mutual TLS takes both tls.cert and tls.key");
  }
  if (servername !== undefined && (typeof servername !== "string" || servername === "")) {
    throw new SiloValidationError("tls.servername", "must be a non-empty string");
  }
  return o as SiloTlsOptions;
}
