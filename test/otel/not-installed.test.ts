// Without @opentelemetry/api (an optional peer), nothing is loaded and nothing fails: the client
// and the SiloWorker run as usual and send no trace headers. The package is hidden from a child
// process by a module-resolution hook.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

function run(script: string, imports: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const args = ["--conditions=silo-edge-source", "--import", "tsx", ...imports.flatMap((i) => ["--import", i]), script];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill();
      resolve({ code: "still running after 20 s", stdout, stderr });
    }, 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? "killed", stdout, stderr });
    });
  });
}

describe("without @opentelemetry/api installed", () => {
  it("runs the client and a SiloWorker as usual, adding no trace headers", async () => {
    const fixtures = new URL("./fixtures/", import.meta.url);
    const { code, stdout, stderr } = await run(new URL("without-otel.ts", fixtures).pathname, [new URL("hide-otel.mjs", fixtures).href]);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout) as { hidden: boolean; status: string; result: unknown; errors: string[]; headerNames: string[]; slots: number };
    expect(out.hidden).toBe(true);
    expect(out.status.toLowerCase()).toBe("succeeded");
    expect(out.result).toBe(42);
    expect(out.errors).toEqual([]);
    expect(out.slots).toBe(10);
    expect(out.headerNames.filter((h) => ["traceparent", "tracestate", "baggage"].includes(h))).toEqual([]);
  });
});
