import { decodePayload } from "../core/payload-codec.js";
import type { Limit, Task as WireTask } from "../gen/silo/v1/silo_pb.js";

/** Why a task's `cancellationSignal` aborted. */
export type CancellationReason = "server" | "client" | "lease-lost";

/** A task as a `SiloWorker` handler sees it: the server's task with its payload decoded. */
export interface Task<Payload = unknown, Metadata extends Record<string, string> = Record<string, string>> {
  /** This attempt's task id (not the job id). */
  id: string;
  /** The job's id. */
  jobId: string;
  /** Attempt number since the job was enqueued, from 1; keeps counting across restarts. */
  attemptNumber: number;
  /** Attempt number since the job was last restarted, from 1. */
  relativeAttemptNumber: number;
  /** Lease length in ms; the worker heartbeats well within it. */
  leaseMs: bigint;
  /** The job's payload, decoded from MessagePack. */
  payload: Payload;
  /** The job's priority (0 is highest). */
  priority: number;
  /** The shard the task came from; heartbeats and the outcome go to its owner. */
  shard: string;
  /** The task group the job was enqueued in. */
  taskGroup: string;
  /** The job's tenant; undefined for the default tenant or a server without tenancy. */
  tenantId?: string;
  /** True when no retry follows a failure of this attempt (unless the job is restarted). */
  isLastAttempt: boolean;
  /** The job's metadata. */
  metadata: Metadata;
  /** The job's limits, as the server sent them. */
  limits: Limit[];
}

/**
 * A task as leased: silo-edge's generated `Task`, or the same fields with the payload in the
 * upstream client's protobuf-ts shape (`encoding.oneofKind` / `encoding.msgpack`).
 */
export type WireTaskLike = Omit<WireTask, "$typeName" | "$unknown" | "payload"> & { payload?: unknown };

/** The MessagePack bytes of a leased task's payload, in either shape. */
function payloadBytes(payload: unknown): Uint8Array | undefined {
  const encoding = (payload as { encoding?: { case?: unknown; value?: unknown; oneofKind?: unknown; msgpack?: unknown } } | undefined)?.encoding;
  if (encoding?.case === "msgpack" && encoding.value instanceof Uint8Array) return encoding.value;
  if (encoding?.oneofKind === "msgpack" && encoding.msgpack instanceof Uint8Array) return encoding.msgpack;
  return undefined;
}

/** The server's task with its payload decoded; throws when the payload is not MessagePack. */
export function decodeTask<Payload, Metadata extends Record<string, string>>(wire: WireTaskLike): Task<Payload, Metadata> {
  const task: Task<Payload, Metadata> = {
    id: wire.id,
    jobId: wire.jobId,
    attemptNumber: wire.attemptNumber,
    relativeAttemptNumber: wire.relativeAttemptNumber,
    leaseMs: wire.leaseMs,
    payload: decodePayload(payloadBytes(wire.payload)) as Payload,
    priority: wire.priority,
    shard: wire.shard,
    taskGroup: wire.taskGroup,
    isLastAttempt: wire.isLastAttempt,
    metadata: { ...wire.metadata } as Metadata,
    limits: wire.limits,
  };
  if (wire.tenantId !== undefined) task.tenantId = wire.tenantId;
  return task;
}

/**
 * The state of one delivered task on a SiloWorker: its cancellation signal and why it aborted,
 * whether its handler has settled, and whether the lease is known to be gone.
 */
export class TaskExecution<Payload = unknown, Metadata extends Record<string, string> = Record<string, string>> {
  readonly task: Task<Payload, Metadata>;
  readonly #controller = new AbortController();
  readonly #cancelJob: () => Promise<void>;
  #reason: CancellationReason | undefined;
  #leaseLost = false;
  #settled = false;

  constructor(task: Task<Payload, Metadata>, cancelJob: () => Promise<void>) {
    this.task = task;
    this.#cancelJob = cancelJob;
  }

  /** Aborts on cancellation (server or client) and on a lost lease; never on `stop()`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get isCancelled(): boolean {
    return this.#reason !== undefined;
  }

  get cancellationReason(): CancellationReason | undefined {
    return this.#reason;
  }

  get isLeaseLost(): boolean {
    return this.#leaseLost;
  }

  get isSettled(): boolean {
    return this.#settled;
  }

  /** The handler has returned or thrown; later heartbeat answers mean nothing. */
  markSettled(): void {
    this.#settled = true;
  }

  #cancel(reason: CancellationReason): boolean {
    if (this.#reason !== undefined) return false;
    this.#reason = reason;
    // No reason given, as upstream: `signal.reason` is the standard AbortError, so fetch and
    // friends reject the way they do for any abort.
    this.#controller.abort();
    return true;
  }

  /** A heartbeat answered `cancelled`. */
  markCancelledByServer(): void {
    this.#cancel("server");
  }

  /** True only for the call that found the lease gone, so it is reported once. */
  markLeaseLost(): boolean {
    if (this.#leaseLost) return false;
    this.#leaseLost = true;
    this.#cancel("lease-lost");
    return true;
  }

  /** `ctx.cancel()`: aborts the signal now, then cancels the job on the server (errors ignored). */
  async cancelFromClient(): Promise<void> {
    if (!this.#cancel("client")) return;
    await this.#cancelJob().catch(() => undefined);
  }
}
