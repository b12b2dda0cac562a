import { describe, expect, it } from "vitest";
import { formatReport, runLoad } from "./run-load.js";

// The load test's smoke variant, so CI runs the same checks as `npm run load`, smaller. The dev
// server runs in this process, so client and server share the CPU: no timing is asserted.
describe("load smoke", () => {
  it("acknowledges every enqueue exactly once across a node restart", async () => {
    const report = await runLoad({ total: 2_000, concurrency: 256, nodes: 3, server: "in-process", downMs: 1_000 });
    const summary = formatReport(report);
    expect(report.restart, summary).toBeDefined();
    expect(report.failuresByCode.untyped ?? 0, summary).toBe(0);
    expect(report.lost, summary).toBe(0);
    expect(report.duplicateAcks, summary).toBe(0);
    expect(report.extra, summary).toBeLessThanOrEqual(report.failed);
    expect(report.acknowledged + report.failed, summary).toBe(2_000);
    expect(report.ok, summary).toBe(true);
  }, 180_000);
});
