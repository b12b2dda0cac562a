import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A one-day self-signed certificate (P-256), made with the system's openssl: for 127.0.0.1 unless
 * `subjectAltName` says otherwise (e.g. `"DNS:silo.internal"`).
 */
export function selfSignedCert({ commonName = "127.0.0.1", subjectAltName = "IP:127.0.0.1" } = {}): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "silo-cert-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1",
      "-subj", `/CN=${commonName}`, "-addext", `subjectAltName=${subjectAltName}`,
    ], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
