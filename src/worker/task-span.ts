import { openTelemetry } from "../core/otel.js";
import type { OtelAttributes } from "../core/otel-types.js";

/** One task's `silo.task.lifecycle` span, or nothing when OpenTelemetry is not installed. */
export interface TaskSpan {
  /** `fn` run inside the span's context, so the RPCs it makes carry the span's trace. */
  bind<F extends (...args: never[]) => unknown>(fn: F): F;
  /** Records an error that escaped the task (a failed report). */
  fail(error: Error): void;
  end(): void;
}

const NO_SPAN: TaskSpan = { bind: (fn) => fn, fail: () => undefined, end: () => undefined };

/**
 * Opens span `silo.task.lifecycle` of tracer `silo-worker` in the active context, as the upstream
 * worker does per delivered task (typescript_client/src/worker.ts): heartbeats, the handler and
 * the outcome report run inside it. LeaseTasks stays outside: one poll returns many tasks.
 */
export function createTaskSpan(attributes: OtelAttributes): TaskSpan {
  const api = openTelemetry();
  if (!api) return NO_SPAN;
  const span = api.trace.getTracer("silo-worker").startSpan("silo.task.lifecycle", { attributes });
  const context = api.trace.setSpan(api.context.active(), span);
  return {
    bind: (fn) => api.context.bind(context, fn),
    fail(error) {
      span.recordException(error);
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: error.message });
    },
    end: () => span.end(),
  };
}
