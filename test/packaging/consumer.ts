// Builds the packed tarball and a fresh consumer project that installs it, as a new user would.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureBuilt } from "../support/ensure-built.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const rootPackage = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  devDependencies: Record<string, string>;
  exports: Record<string, unknown>;
};

/** Every public entry point, from the package's own `exports`. */
export const ENTRY_POINTS = Object.keys(rootPackage.exports)
  .filter((key) => key !== "./package.json")
  .map((key) => (key === "." ? "silo-edge" : `silo-edge/${key.slice(2)}`));

/** What a consumer installs next to silo-edge to use every entry point: the optional peers and their types. */
const CONSUMER_DEPENDENCIES = ["hono", "express", "@types/express", "fastify", "@middy/core", "@types/aws-lambda", "@types/node"];

/**
 * Fastify 5 supports Node 20, but its light-my-request@6.8 needs cookie@2, which declares node >= 22:
 * `--engine-strict` on Node 20 refuses it. A Node 20 user of fastify pins the last light-my-request
 * before that (README, "Fastify"); so does this consumer.
 */
const CONSUMER_OVERRIDES = { "light-my-request": "6.6.0" };

export interface RunResult {
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(new Error(`${file} ${args.join(" ")} failed: ${err.message}\n${stdout}\n${stderr}`), { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

export interface Consumer {
  dir: string;
  tarball: string;
  /** What `npm install` printed on stderr. */
  installStderr: string;
}

/**
 * Packs silo-edge (`npm pack`, what a registry would serve) and installs the tarball into a new
 * ESM project with `--engine-strict`, together with the frameworks and types a user of every
 * entry point installs. The npm cache is warm from the repository's own install, so this runs
 * from the cache; the registry is only asked when a version is missing.
 */
export async function createConsumer(): Promise<Consumer> {
  await ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), "silo-edge-consumer-"));
  // The build just ran (or is fresh): pack without running prepack's build again.
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT);
  const [packed] = JSON.parse(stdout) as [{ filename: string }];
  const tarball = join(dir, packed.filename);
  const dependencies: Record<string, string> = { "silo-edge": `file:./${packed.filename}` };
  for (const name of CONSUMER_DEPENDENCIES) dependencies[name] = rootPackage.devDependencies[name] as string;
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module", dependencies, overrides: CONSUMER_OVERRIDES }, null, 2));
  const install = await run("npm", ["install", "--engine-strict", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=warn"], dir);
  mkdirSync(join(dir, "src"));
  return { dir, tarball, installStderr: install.stderr };
}

/** Runs the repository's TypeScript compiler on a consumer tsconfig. */
export function typecheck(consumer: Consumer, tsconfig: string): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", tsconfig, "--pretty", "false"], consumer.dir);
}
