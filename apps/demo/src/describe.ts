/** How the demo puts what happens into words: one line per activity worth showing. */
import type { Activity } from "@specter/service";
import type { LogRotation } from "./services.ts";

/** A shown line: a short label (who) and what happened. */
export type Described = [label: string, text: string];

/** Time of day with milliseconds, in UTC: the same on every machine that reads the log. */
export const clock = (at: number) => new Date(at).toISOString().slice(11, 23);

/** The line for what a person wants to see; routine output (child stdout) gets none. */
export function describe(a: Activity): Described | undefined {
  switch (a.type) {
    case "watcher-value":
      return [a.watcher === "log-tail" ? "log" : a.watcher, valueText(a.watcher, a.value)];
    case "event": {
      if (a.event === "rotated") {
        const { from, to } = a.data as LogRotation;
        return ["log", `(rotated to ${to}: following the new ${from})`];
      }
      const data = a.data as { stream: string; text: string };
      if (data.stream === "stderr") return ["child !", data.text];
      return data.text.startsWith("ready") ? ["child", data.text] : undefined;
    }
    case "process-exit": {
      const how = a.exit.signalCode ? `by ${a.exit.signalCode}` : `with code ${a.exit.exitCode}`;
      const uptime = (a.exit.uptime / 1000).toFixed(1);
      return ["child", `exited ${how} after ${uptime}s${a.exit.stopped ? " (stopped)" : ""}`];
    }
    case "process-restart":
      return ["child", `restart #${a.restarts} in ${a.delay}ms (on-failure, with backoff)`];
    case "process-give-up":
      return ["child", `gave up after ${a.restarts} restarts`];
    case "watcher-state":
      return a.state === "failed" || a.state === "backoff" ? [a.watcher, a.state] : undefined;
    case "service":
      return a.state === "running" || a.state === "failed" ? [a.service, a.state] : undefined;
    case "error":
      return ["error", a.message];
    default:
      return undefined;
  }
}

/** A watcher's value in words; the demo knows its own watchers, others are shown as JSON. */
export function valueText(watcher: string, value: unknown): string {
  switch (watcher) {
    case "load":
      return `${value} (1-minute average)`;
    case "memory": {
      const m = value as { usedPercent: number; totalGiB: number };
      return `${m.usedPercent}% of ${m.totalGiB} GiB in use`;
    }
    case "disk": {
      const d = value as { path: string; usedPercent: number };
      return `${d.usedPercent}% used on the disk of ${d.path}`;
    }
    case "log-tail":
      return String(value);
    default:
      return json(value);
  }
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value); // a bigint or a cycle: still something to show
  }
}
