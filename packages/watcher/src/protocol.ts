/** Messages between the main thread and a source worker. Internal. */
import type { WatcherMode } from "./types.ts";

export interface SourceSpec {
  mode: WatcherMode;
  url: string;
  export: string;
  args: unknown[];
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
}

/** An item of a batch that could not be cloned: it is reported and skipped. */
export interface BadItem {
  index: number;
  error: SerializedError;
}

export type ToWorker =
  | { t: "init"; busy: SharedArrayBuffer }
  | { t: "open"; id: number; spec: SourceSpec }
  | { t: "call"; id: number; call: number }
  | { t: "cancel"; id: number; call: number }
  | { t: "stream"; id: number }
  | { t: "ack"; id: number }
  | { t: "close"; id: number }
  | { t: "ping"; n: number };

export type FromWorker =
  | { t: "load-error"; id: number; error: SerializedError }
  | { t: "value"; id: number; call: number; value: unknown }
  | { t: "fail"; id: number; call: number; error: SerializedError; clone: boolean }
  | { t: "items"; id: number; items: unknown[]; bad?: BadItem[] }
  | { t: "end"; id: number; error?: SerializedError }
  | { t: "closed"; id: number }
  | { t: "pong"; n: number };

/** Slots of the shared `busy` array: which session is running user code right now (0 = none). */
export const BUSY_CALLING = 0;
export const BUSY_LOADING = 1;

/** Stream items per message, and batches a worker may have in flight before it waits for an ack. */
export const BATCH_SIZE = 4096;
export const BATCH_WINDOW = 4;

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error)
    return { name: error.name, message: error.message, stack: error.stack };
  return { name: "Error", message: typeof error === "string" ? error : Bun.inspect(error) };
}

export function deserializeError(data: SerializedError): Error {
  const error = new Error(data.message);
  error.name = data.name;
  if (data.stack) error.stack = data.stack;
  return error;
}
