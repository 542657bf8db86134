import { SpecterError } from "@specter/core";
import type { ServiceErrorPhase } from "./health.ts";

/** A registry lookup or registration that cannot be done. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
}

/** An error a service reports rather than throws: a failing cleanup, task, listener or timer. */
export class ServiceError extends SpecterError<ServiceErrorPhase> {
  static override readonly kind = "service";
  override readonly name = "ServiceError";

  /** The service's name (the same as `owner`). */
  get service(): string {
    return this.owner;
  }
}
