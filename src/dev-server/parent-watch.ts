import { fstatSync } from "node:fs";

/** Why {@link watchParent} gave up on the process that started us. */
export type ParentGone = "parent exited" | "stdin closed";

/** How often the parent pid is checked. A second is quick enough for a dev tool and costs nothing. */
const PARENT_POLL_MS = 1_000;

/**
 * Calls `onGone` once when the process that started this one is gone: its pid changed (it exited
 * or was killed, even with SIGKILL, and we were re-parented) or, when stdin is a pipe or socket,
 * stdin closed (a supervisor that spawned us with a pipe and died). Stdin that is a terminal or
 * `/dev/null` is never read. Returns a function that stops watching.
 *
 * Without this, killing `npx silo-edge dev` (or the test runner that spawned it) left the server
 * listening on its ports.
 */
export function watchParent(onGone: (why: ParentGone) => void): () => void {
  const parent = process.ppid;
  let done = false;
  const gone = (why: ParentGone): void => {
    if (done) return;
    stop();
    onGone(why);
  };
  const timer = setInterval(() => {
    if (process.ppid !== parent) gone("parent exited");
  }, PARENT_POLL_MS);
  timer.unref();

  const onEnd = (): void => gone("stdin closed");
  const watchStdin = stdinIsPipe();
  if (watchStdin) {
    process.stdin.on("end", onEnd);
    process.stdin.on("close", onEnd);
    // Flowing mode with nothing kept: we only care about the end of the stream.
    process.stdin.resume();
  }

  function stop(): void {
    done = true;
    clearInterval(timer);
    if (watchStdin) {
      process.stdin.off("end", onEnd);
      process.stdin.off("close", onEnd);
      process.stdin.pause();
    }
  }
  return stop;
}

function stdinIsPipe(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
