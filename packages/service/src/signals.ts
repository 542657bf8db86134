/**
 * `registry.handleSignals()`: the host's signals stop every registered service, through the one
 * signal handler of `@specter/core` (`handleHostSignals`), so it composes with the others.
 */
import { functionSchema, type HostSignal, handleHostSignals, parseOptions } from "@specter/core";
import { z } from "zod";

export interface HandleSignalsOptions {
  /** Signals to handle (default SIGINT and SIGTERM). */
  signals?: readonly HostSignal[];
  /** Called at the first signal, before the services stop (e.g. to say that they do). */
  onSignal?: (signal: HostSignal) => unknown;
  /**
   * Called once every service has stopped. Given, the signal is not raised again: the program
   * decides how to end (e.g. print a summary, then `process.exit`). Without it, the signal is
   * raised again and ends the host as it would have without the handler.
   */
  onStopped?: (signal: HostSignal) => unknown;
  /** A second signal while the services stop. Default: end the host by that signal at once. */
  onRepeat?: (signal: HostSignal) => void;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const satisfies readonly HostSignal[];
const callback = () =>
  functionSchema<(signal: HostSignal) => unknown>("a function (signal) => void").optional();
const handleSignalsSchema = z.strictObject({
  signals: z.array(z.enum(SIGNALS)).optional(),
  onSignal: callback(),
  onStopped: callback(),
  onRepeat: callback(),
});

/** Installs the handlers for `registry`; returns a function that removes them. */
export function handleRegistrySignals(
  registry: { stop(): Promise<void> },
  arg: readonly HostSignal[] | HandleSignalsOptions,
): () => void {
  const input = Array.isArray(arg) ? { signals: arg } : arg;
  const o = parseOptions(handleSignalsSchema, input, "Registry.handleSignals()");
  const { onSignal, onStopped } = o;
  return handleHostSignals({
    ...(o.signals ? { signals: o.signals } : {}),
    ...(o.onRepeat ? { onRepeat: o.onRepeat } : {}),
    onSignal: async (signal) => {
      try {
        await onSignal?.(signal);
      } catch (error) {
        // The services must stop whatever a callback does.
        console.error(`[specter] handleSignals: onSignal(${signal}) threw:`, error);
      }
      await registry.stop();
      await onStopped?.(signal);
    },
    after: onStopped ? "remove" : "reraise",
  });
}
