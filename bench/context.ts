// What run.ts hands to every benchmark.
import type { ChildBundles } from "./bundle-children.js";
import type { ServerProcess } from "./server-process.js";

export interface BenchContext {
  /** Tiny counts, for CI: keeps the code working, figures meaningless. */
  smoke: boolean;
  server: ServerProcess;
  bundles: ChildBundles;
  /** Environment of every client child: server addresses and the proto path. */
  childEnv: NodeJS.ProcessEnv;
  /** Progress line on stderr. */
  progress(line: string): void;
}
