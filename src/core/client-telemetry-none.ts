import type { ClientTelemetry } from "./client-telemetry.js";

// Nothing but this constant in this file: esbuild inlines a constant from another module only
// then, and `if (clientTelemetry)` in the client is dropped from Worker bundles.
export const clientTelemetry: ClientTelemetry | false = false;
