// `npm run build` for the tests that use the package as published (dist/): the Next.js example and
// the packed tarball. They run side by side in two workers, so the build takes a lock: otherwise
// one file's build (which first empties dist/) could pull dist/ from under the other's.
import { execFile } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LOCK = join(ROOT, "node_modules", ".cache", "silo-edge-build.lock");
/** A lock older than this was left by a run that died mid-build. */
const STALE_LOCK_MS = 5 * 60_000;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether dist/ is newer than every source file and the build config (CI builds just before the tests). */
function isFresh(): boolean {
  let built = 0;
  try {
    built = statSync(join(ROOT, "dist", "index.js")).mtimeMs;
  } catch {
    // Never built.
  }
  return built >= Math.max(newestMtime(join(ROOT, "src")), statSync(join(ROOT, "tsconfig.build.json")).mtimeMs, statSync(join(ROOT, "scripts", "build-dist.mjs")).mtimeMs);
}

function tryLock(): boolean {
  try {
    mkdirSync(LOCK);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    try {
      if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
    } catch {
      // Released meanwhile.
    }
    return false;
  }
}

/** Builds dist/ unless it is fresh; a build another test process is running is waited for, not repeated. */
export async function ensureBuilt(): Promise<void> {
  if (isFresh()) return;
  mkdirSync(join(LOCK, ".."), { recursive: true });
  while (!tryLock()) await new Promise((resolve) => setTimeout(resolve, 200));
  try {
    if (isFresh()) return;
    await new Promise<void>((resolve, reject) => {
      execFile("npm", ["run", "build"], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`npm run build failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve();
      });
    });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
