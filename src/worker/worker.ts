import { SiloValidationError, toSiloError } from "../core/errors.js";
import { checkInt, checkKnownKeys, checkObject } from "../core/validation.js";
import { abortableSleep } from "../core/abortable-sleep.js";
import { leaseRound } from "./lease-round.js";
import type { TaskCounts } from "./task-context.js";
import { TaskPool } from "./task-pool.js";
import { MAX_TIMER_MS, resolveProcessingOptions, SHARED_KEYS, type TaskProcessingOptions } from "./worker-options.js";

/** Options of {@link createWorker}. */
export interface WorkerOptions<P = unknown, R = unknown> extends TaskProcessingOptions<P, R> {
  /** Pause after a poll of every node found nothing, ms; doubles on each idle poll. Default 100. */
  pollIntervalMs?: number;
  /** Longest pause between idle polls, ms. Default 2000. */
  maxPollIntervalMs?: number;
}

/** Counts of what a worker has done since it was created. */
export interface WorkerStats extends TaskCounts {
  /** Attempts running now. */
  inFlight: number;
  /** LeaseTasks calls made. */
  polls: number;
}

/** A long-running worker; see {@link createWorker}. */
export interface Worker {
  /** Starts polling. Calling it on a running worker does nothing. */
  start(): void;
  /** Stops polling, waits for running attempts to finish and report, then resolves. */
  stop(): Promise<void>;
  /** True between `start()` and `stop()`. */
  readonly running: boolean;
  /** A snapshot of the worker's counts. */
  readonly stats: WorkerStats;
  /** The worker id its leases carry. */
  readonly workerId: string;
}

const WORKER_KEYS = [...SHARED_KEYS, "pollIntervalMs", "maxPollIntervalMs"] as const;
/** Least time between topology refreshes forced by failing nodes. */
const TOPOLOGY_REFRESH_SPACING_MS = 1_000;

/**
 * A worker for long-running processes: polls `LeaseTasks` on every node of the cluster for
 * `taskGroup`, runs `handler` for each attempt with up to `concurrency` at once, heartbeats
 * their leases, and reports their outcomes. Idle polling backs off exponentially.
 */
export function createWorker<P = unknown, R = unknown>(options: WorkerOptions<P, R>): Worker {
  const o = checkObject("options", options);
  checkKnownKeys("", o, WORKER_KEYS);
  const shared = resolveProcessingOptions(o);
  const pollIntervalMs = o.pollIntervalMs === undefined ? 100 : checkInt("pollIntervalMs", o.pollIntervalMs, 1, MAX_TIMER_MS);
  const maxPollIntervalMs = o.maxPollIntervalMs === undefined ? Math.max(2_000, pollIntervalMs) : checkInt("maxPollIntervalMs", o.maxPollIntervalMs, 1, MAX_TIMER_MS);
  if (maxPollIntervalMs < pollIntervalMs) {
    throw new SiloValidationError("maxPollIntervalMs", `must be at least pollIntervalMs (${pollIntervalMs}), got ${maxPollIntervalMs}`);
  }
  const { client, taskGroup, workerId, onError } = shared;
  const pool = new TaskPool(shared);

  let running = false;
  let polls = 0;
  let stopController = new AbortController();
  let loop: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let lastForcedRefresh = 0;

  async function pollLoop(stopSignal: AbortSignal): Promise<void> {
    let delay = pollIntervalMs;
    let first = 0;
    while (!stopSignal.aborted) {
      if (pool.free === 0) {
        await pool.waitForSlot(stopSignal);
        continue;
      }
      let addresses: string[] = [];
      try {
        addresses = (await client.loadTopology()).addresses();
      } catch (err) {
        onError({ error: toSiloError(err, "GetClusterInfo"), phase: "topology" });
      }
      const round = await leaseRound(addresses, first++, {
        client,
        pool,
        workerId,
        taskGroup,
        onError,
        mayLease: () => !stopSignal.aborted,
      });
      polls += round.asked;
      if (round.failedNodes > 0 && Date.now() - lastForcedRefresh >= TOPOLOGY_REFRESH_SPACING_MS) {
        // A node that fails may have left the cluster, its shards moved to others.
        lastForcedRefresh = Date.now();
        await client.refreshTopology().catch(() => undefined);
      }
      if (round.leased > 0 || round.refreshes > 0) {
        delay = pollIntervalMs;
        continue;
      }
      await abortableSleep(delay, stopSignal);
      delay = Math.min(maxPollIntervalMs, delay * 2);
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      stopController = new AbortController();
      const signal = stopController.signal;
      // A restart while the previous stop is still draining starts polling after it.
      const previous = stopping ?? Promise.resolve();
      loop = previous.then(() =>
        pollLoop(signal).catch((err: unknown) => {
          onError({ error: toSiloError(err, "poll loop"), phase: "lease" });
        }),
      );
    },
    stop(): Promise<void> {
      if (!running) return stopping ?? Promise.resolve();
      running = false;
      stopController.abort();
      const current = loop;
      stopping = (async () => {
        await current;
        await pool.settle();
      })();
      return stopping;
    },
    get running(): boolean {
      return running;
    },
    get stats(): WorkerStats {
      return { ...pool.counts, inFlight: pool.inFlight, polls };
    },
    workerId,
  };
}
