/** A service's type parameters, its events and its constructor options. */
import {
  checkName,
  type Duration,
  durationSchema,
  functionSchema,
  OptionsError,
  parseOptions,
} from "@specter/core";
import { z } from "zod";
import type { Activity } from "./activity.ts";
import type { ServiceError } from "./errors.ts";
import type { EventMap } from "./event-bus.ts";
import type { ServiceState } from "./health.ts";
import type { Service } from "./service.ts";

/** Type parameters of a service: the shape of its `data` and of its events. */
export interface ServiceTypes {
  /** The shape of `data` (`setData`, `onData`). */
  data?: object;
  events?: EventMap;
  /** @deprecated use `data`; removed in 0.2. */
  state?: object;
}

export type DataOf<T extends ServiceTypes> = T["data"] extends object
  ? T["data"]
  : T["state"] extends object
    ? T["state"]
    : Record<string, unknown>;
export type EventsOf<T extends ServiceTypes> = T["events"] extends EventMap
  ? T["events"]
  : EventMap;

/** The events of `service.on(event, fn)`, with their listeners' arguments. */
export type ServiceEvents<D extends object = Record<string, unknown>> = {
  /** A lifecycle change: `(state, previous)`. */
  state: [state: ServiceState, previous: ServiceState];
  /** An error with no caller to throw to. Without a listener it goes to `console.error`. */
  error: [error: ServiceError];
  /** Everything that happens inside, for live views: see `Activity`. */
  activity: [activity: Activity];
  /** After each `setData`: `(data, previous)`. */
  data: [data: Readonly<D>, previous: Readonly<D>];
};

export interface ServiceOptions<T extends ServiceTypes = ServiceTypes> {
  /** Longest wait for each cleanup (and `onStop`) during `stop()` before moving on (default "10s"). */
  cleanupTimeout?: Duration;
  /** Initial value of `data`. */
  initialData?: DataOf<T>;
  /** @deprecated use `initialData`; removed in 0.2. */
  initialState?: DataOf<T>;
  /** Instead of subclassing: runs at start, like `onStart()`. */
  onStart?: (service: Service<T>) => unknown;
  /** Instead of subclassing: runs at stop, before the teardown, like `onStop()`. */
  onStop?: (service: Service<T>) => unknown;
}

const hook = () => functionSchema<(service: never) => unknown>("a function (service) => void");
const dataSchema = z.record(z.string(), z.unknown(), { error: "an object" }).optional();
const optionsSchema = z.strictObject({
  cleanupTimeout: durationSchema({ positive: true }).default(10_000),
  initialData: dataSchema,
  initialState: dataSchema,
  onStart: hook().optional(),
  onStop: hook().optional(),
});

export interface ParsedOptions {
  /** Milliseconds. */
  cleanupTimeout: number;
  initialData: object;
  onStart: ((service: never) => unknown) | undefined;
  onStop: ((service: never) => unknown) | undefined;
}

/** @throws {OptionsError} for a bad name or option, naming it. */
export function parseServiceOptions(name: string, options: unknown): ParsedOptions {
  checkName(name, "Service");
  const context = `Service "${name}"`;
  const o = parseOptions(optionsSchema, options, context);
  if (o.initialData !== undefined && o.initialState !== undefined) {
    throw new OptionsError(context, [
      {
        option: "initialState",
        value: o.initialState,
        expected: "only one of initialData and initialState (its deprecated name)",
      },
    ]);
  }
  return {
    cleanupTimeout: o.cleanupTimeout,
    initialData: { ...(o.initialData ?? o.initialState ?? {}) },
    onStart: o.onStart,
    onStop: o.onStop,
  };
}
