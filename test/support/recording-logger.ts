import type { LogFields, SiloLogger } from "../../src/index.js";

/** One entry a {@link recordingLogger} received. */
export interface LogEntry {
  level: keyof SiloLogger;
  fields: LogFields;
  message: string;
}

/** A client `logger` that keeps every entry, in order, for the test to assert on. */
export function recordingLogger(): { logger: SiloLogger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: keyof SiloLogger) => (fields: LogFields, message: string) => void entries.push({ level, fields, message });
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, entries };
}
