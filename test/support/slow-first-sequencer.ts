import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files that take longest on their own (a build, an npm install, child processes, real
 * waits), slowest first. Started first, they run beside the many short files instead of after
 * them, so no worker is left with one long file while the others sit idle at the end of a group.
 * A clean clone has no timing cache, and vitest's default order (larger files first) would start
 * several of these last.
 */
export const SLOW_FILES = [
  "test/examples/nextjs.test.ts",
  "test/packaging/tarball.test.ts",
  "test/dev-server/cli.test.ts",
  "test/packaging/unbundled-import.test.ts",
  "test/faults/frozen-connection.test.ts",
  "test/hostile/token-trust.test.ts",
  "test/faults/node-restart.test.ts",
  "test/workerd/grpc-over-sockets.test.ts",
];

function rank(spec: TestSpecification): number {
  const at = SLOW_FILES.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
  return at === -1 ? SLOW_FILES.length : at;
}

/** vitest's own order (groups, then projects, then cached durations or size), with SLOW_FILES first in each group. */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const group = (spec: TestSpecification): number => spec.project.config.sequence.groupOrder;
    // Array.prototype.sort is stable: everything else keeps vitest's order.
    return sorted.sort((a, b) => group(a) - group(b) || rank(a) - rank(b));
  }
}
