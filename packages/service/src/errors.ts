/** A registry lookup or registration that cannot be done. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
}

/** An error a service reports rather than throws: a failing cleanup, task, listener or timer. */
export class ServiceError extends Error {
  override readonly name = "ServiceError";
  constructor(
    readonly service: string,
    readonly phase: ServiceErrorPhase,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`service "${service}": ${message}`, options);
  }
}

export type ServiceErrorPhase = "start" | "stop" | "cleanup" | "task" | "listener";

export { messageOf } from "@specter/watcher/shared";
