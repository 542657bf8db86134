/** A timer or task a service runs; cancelled when the service stops, or earlier by hand. */
export interface TaskHandle {
  /** Stops it now. Idempotent. */
  cancel(): void;
  /** False once cancelled, finished (timeouts and spawned tasks) or stopped with the service. */
  readonly active: boolean;
}

/** A task started with `spawn`: `done` settles with its result (or `undefined` if it failed). */
export interface SpawnHandle<T> extends TaskHandle {
  readonly signal: AbortSignal;
  readonly done: Promise<T | undefined>;
}
