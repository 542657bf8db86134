export type { Activity } from "./activity.ts";
export { CLEANUP_METHODS, type CleanupMethod } from "./cleanup.ts";
export type { OnDataOptions } from "./data.ts";
export { RegistryError, ServiceError } from "./errors.ts";
export { EventBus, type EventMap } from "./event-bus.ts";
export { ServiceErrorPhase, ServiceHealth, ServiceState, TaskCounts } from "./health.ts";
export type { ServiceProcessOptions } from "./ownership.ts";
export {
  type ProvideOptions,
  Registry,
  type RegistryEntryInfo,
  type RegistryEvents,
  registry,
} from "./registry.ts";
export { Service } from "./service.ts";
export type { HandleSignalsOptions } from "./signals.ts";
export { createStatusApp, type StatusAppOptions } from "./status/app.ts";
export { MAX_DATA_VALUE_CHARS, maskArgv, maskData } from "./status/mask.ts";
export { collectMetrics, type MetricsOption } from "./status/metrics.ts";
export {
  ActivityEvent,
  ErrorResponse,
  HealthzResponse,
  ProcessStatus,
  ServiceStatus,
  StatusResponse,
  WatcherStatus,
} from "./status/schemas.ts";
export { type ServeStatusOptions, type StatusServer, serveStatus } from "./status/serve.ts";
export { statusOf } from "./status/status-of.ts";
export type { SpawnHandle, TaskHandle } from "./tasks.ts";
export type { ServiceEvents, ServiceOptions, ServiceTypes } from "./types.ts";
