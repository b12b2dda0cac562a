import type { OtelAttributes, OtelCounter, OtelMeter, OtelObservableGauge } from "../core/otel-types.js";

const NOOP_COUNTER: OtelCounter = { add: () => undefined };
const NOOP_GAUGE: OtelObservableGauge = { addCallback: () => undefined };

/**
 * A SiloWorker's OpenTelemetry instruments, named as the upstream client's, every recording with
 * attribute `task_group`. Without a meter (no `meter` option and `@opentelemetry/api` not
 * installed) they record nothing.
 */
export class WorkerMetrics {
  /** `silo.worker.polls`: +1 per LeaseTasks poll. */
  readonly pollCounter: OtelCounter;
  /** `silo.worker.polls.empty`: +1 per poll that returned no task and no refresh task. */
  readonly emptyPollCounter: OtelCounter;
  /** `silo.worker.polls.tasks_returned`: tasks plus refresh tasks returned by polls. */
  readonly pollTasksReturnedCounter: OtelCounter;
  /** `silo.worker.duplicate_task_deliveries`: +1 per delivery dropped because the task was running. */
  readonly duplicateTaskDeliveriesCounter: OtelCounter;
  /** `silo.worker.available_task_slots`: maxConcurrentTasks minus running and queued tasks. */
  readonly availableTaskSlots: OtelObservableGauge;
  /** `{ task_group }`, sent with every recording. */
  readonly defaultAttributes: OtelAttributes;

  constructor(meter: OtelMeter | undefined, taskGroup: string, availableSlots: () => number) {
    this.defaultAttributes = { task_group: taskGroup };
    const counter = (name: string, description: string): OtelCounter => (meter ? meter.createCounter(name, { description }) : NOOP_COUNTER);
    this.pollCounter = counter("silo.worker.polls", "LeaseTasks polls made");
    this.emptyPollCounter = counter("silo.worker.polls.empty", "Polls that returned nothing");
    this.pollTasksReturnedCounter = counter("silo.worker.polls.tasks_returned", "Tasks and refresh tasks returned by polls");
    this.duplicateTaskDeliveriesCounter = counter("silo.worker.duplicate_task_deliveries", "Deliveries dropped because the task was already running");
    this.availableTaskSlots = meter ? meter.createObservableGauge("silo.worker.available_task_slots", { description: "Task slots neither running nor queued" }) : NOOP_GAUGE;
    this.availableTaskSlots.addCallback((result) => result.observe(availableSlots(), this.defaultAttributes));
  }
}
