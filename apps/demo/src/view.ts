/**
 * What the demo has seen, fed by its registry's activity: counters, the latest value of each
 * watcher, the child's last output and the recent events. Piped, it also prints each event as it
 * comes (a line, or JSON with --json); on a terminal the screen draws from this state instead.
 */
import type { Activity } from "@specter/service";
import { clock, describe } from "./describe.ts";

export interface ViewCounters {
  logLines: number;
  /** Times the followed log was rotated (the log service's "rotated" events). */
  logRotations: number;
  childStdout: number;
  restarts: number;
  errors: number;
}

export interface ViewEvent {
  at: number;
  label: string;
  text: string;
  /** The watcher whose value this is, for a value. */
  watcher?: string;
}

/** "lines": one line per event; "json": every activity as JSON; "screen": print nothing. */
export type ViewOutput = "lines" | "json" | "screen";

/** Recent events kept for the screen: more than any terminal shows. */
const KEEP_EVENTS = 50;

export interface View {
  show(a: Activity): void;
  /** An event of the demo itself (not of a service), e.g. that its port was taken. */
  note(label: string, text: string): void;
  /** Called after each change of state (the screen redraws, throttled). */
  onChange(fn: () => void): void;
  readonly counters: Readonly<ViewCounters>;
  /** Latest value of each watcher, by "service/watcher". */
  readonly latest: ReadonlyMap<string, { value: unknown; at: number }>;
  /** The last line of each stream of a service's child, by service (from its "line" events). */
  readonly lastOutput: Readonly<Record<string, { stdout?: string; stderr?: string }>>;
  /** Oldest first. */
  readonly events: readonly ViewEvent[];
}

export function createView(output: ViewOutput, write: (line: string) => void): View {
  const counters: ViewCounters = {
    logLines: 0,
    logRotations: 0,
    childStdout: 0,
    restarts: 0,
    errors: 0,
  };
  const latest = new Map<string, { value: unknown; at: number }>();
  const lastOutput: Record<string, { stdout?: string; stderr?: string }> = {};
  const events: ViewEvent[] = [];
  let changed: () => void = () => {};

  function add(event: ViewEvent): void {
    if (events.push(event) > KEEP_EVENTS) events.shift();
    if (output === "lines") write(`${clock(event.at)}  ${event.label.padEnd(11)}${event.text}`);
  }

  function count(a: Activity): void {
    if (a.type === "process-restart") counters.restarts++;
    else if (a.type === "error") counters.errors++;
    else if (a.type === "watcher-value") {
      latest.set(`${a.service}/${a.watcher}`, { value: a.value, at: a.at });
      if (a.watcher === "log-tail") counters.logLines++;
    } else if (a.type === "event" && a.event === "rotated") {
      counters.logRotations++;
    } else if (a.type === "event" && a.event === "line") {
      const { stream, text } = a.data as { stream: "stdout" | "stderr"; text: string };
      lastOutput[a.service] = { ...lastOutput[a.service], [stream]: text };
      if (stream === "stdout") counters.childStdout++;
    }
  }

  return {
    show(a) {
      count(a);
      if (output === "json") write(JSON.stringify(a));
      else {
        const shown = describe(a);
        const watcher = a.type === "watcher-value" ? a.watcher : undefined;
        if (shown) add({ at: a.at, label: shown[0], text: shown[1], watcher });
      }
      changed();
    },
    note(label, text) {
      add({ at: Date.now(), label, text });
      changed();
    },
    onChange(fn) {
      changed = fn;
    },
    counters,
    latest,
    lastOutput,
    events,
  };
}
