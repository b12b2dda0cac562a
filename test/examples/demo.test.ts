import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TENANTS = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];

/** Runs the demo the way `npm run demo` does, in a process of its own. */
function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=silo-edge-source", "--import", "tsx", "examples/demo/demo.ts"], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

it("runs the demo end to end: every tenant's jobs succeed, and it exits 0 on its own", async () => {
  const { code, stdout, stderr } = await runDemo();
  expect(code, `${stdout}\n${stderr}`).toBe(0);

  const rows = stdout.split("\n").filter((l) => /^[a-z]+\s+[0-9a-f]{8}\s+\d\s+[0-9a-f-]{36}\s/.test(l));
  expect(rows).toHaveLength(TENANTS.length * 2);
  for (const tenant of TENANTS) {
    const mine = rows.filter((r) => r.startsWith(`${tenant} `));
    expect(mine, tenant).toHaveLength(2);
    for (const row of mine) expect(row).toMatch(/\ssucceeded\s+\d+ items?, total \d+\.\d\d$/);
  }
  // Both nodes served some of the tenants.
  expect(new Set(rows.map((r) => r.split(/\s+/)[2]))).toEqual(new Set(["0", "1"]));
  expect(stdout).toMatch(/12 jobs: 12 succeeded, 0 failed in [\d.]+ s/);
  expect(stdout).toMatch(/node 0 127\.0\.0\.1:\d+: \d+ jobs/);
  expect(stdout).toMatch(/node 1 127\.0\.0\.1:\d+: \d+ jobs/);
}, 60_000);
