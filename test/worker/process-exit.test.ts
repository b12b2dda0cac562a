import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { startCluster, uniqueGroup } from "./harness.js";

describe("a stopped worker", () => {
  it("lets its process exit on its own", async () => {
    const { server } = await startCluster();
    try {
      const child = spawn(process.execPath, ["--conditions=silo-edge-source", "--import", "tsx", new URL("./fixtures/stop-and-exit.ts", import.meta.url).pathname], {
        env: { ...process.env, SILO_SERVERS: server.addresses.join(","), TASK_GROUP: uniqueGroup() },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exit = await new Promise<number | string>((resolve) => {
        const timer = setTimeout(() => {
          child.kill();
          resolve("still running after 15 s");
        }, 15_000);
        child.on("exit", (code) => {
          clearTimeout(timer);
          resolve(code ?? "killed");
        });
      });
      expect(exit, stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ outcome: "succeeded", stats: { succeeded: 1, inFlight: 0 } });
    } finally {
      await server.close();
    }
  });
});
