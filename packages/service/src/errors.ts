import { SpecterError } from "@specter/core";

/** A registry lookup or registration that cannot be done. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
}

/** An error a service reports rather than throws: a failing cleanup, task, listener or timer. */
export class ServiceError extends SpecterError<ServiceErrorPhase> {
  override readonly name = "ServiceError";
  constructor(
    service: string,
    phase: ServiceErrorPhase,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(service, phase, `service "${service}": ${message}`, options);
  }

  /** The service's name (the same as `owner`). */
  get service(): string {
    return this.owner;
  }
}

export type ServiceErrorPhase = "start" | "stop" | "cleanup" | "task" | "listener";
