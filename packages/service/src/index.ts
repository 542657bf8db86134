export type { Activity } from "./activity.ts";
export { CLEANUP_METHODS, type CleanupMethod } from "./cleanup.ts";
export { RegistryError, ServiceError, type ServiceErrorPhase } from "./errors.ts";
export { EventBus, type EventMap } from "./event-bus.ts";
export { type ProvideOptions, Registry, type RegistryEntryInfo, registry } from "./registry.ts";
export {
  Service,
  type ServiceHealth,
  type ServiceOptions,
  type ServiceProcessOptions,
  type ServiceState,
  type ServiceTypes,
} from "./service.ts";
export { createStatusApp, type StatusAppOptions, statusOf } from "./status/app.ts";
export { maskArgv } from "./status/mask.ts";
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
export type { SpawnHandle, TaskHandle } from "./tasks.ts";
