/** The demo's terminal output: a compact live view of what changed, or JSON lines with --json. */
import type { Activity } from "@specter/service";

const clock = (at: number) => new Date(at).toISOString().slice(11, 23);

export interface ViewCounters {
  logLines: number;
  childStdout: number;
  restarts: number;
  errors: number;
}

type Line = [label: string, text: string] | undefined;

export function createView(json: boolean, write: (line: string) => void) {
  const counters: ViewCounters = { logLines: 0, childStdout: 0, restarts: 0, errors: 0 };

  function show(a: Activity): void {
    if (a.type === "process-restart") counters.restarts++;
    if (a.type === "error") counters.errors++;
    if (json) {
      write(JSON.stringify(a));
      return;
    }
    const shown = describe(a);
    if (shown) write(`${clock(a.at)}  ${shown[0].padEnd(11)}${shown[1]}`);
  }

  /** One line for what a person wants to see; routine output is only counted. */
  function describe(a: Activity): Line {
    switch (a.type) {
      case "watcher-value":
        return describeValue(a.watcher, a.value);
      case "event": {
        const data = a.data as { stream: string; text: string };
        if (data.stream === "stderr") return ["child !", data.text];
        counters.childStdout++;
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

  function describeValue(watcher: string, value: unknown): Line {
    switch (watcher) {
      case "load":
        return ["load", `${value} (1-minute average)`];
      case "memory": {
        const m = value as { usedPercent: number; totalGiB: number };
        return ["memory", `${m.usedPercent}% of ${m.totalGiB} GiB in use`];
      }
      case "disk": {
        const d = value as { path: string; usedPercent: number };
        return ["disk", `${d.usedPercent}% used on the disk of ${d.path}`];
      }
      case "log-tail": {
        const item = value as { kind: "line"; text: string } | { kind: "truncated" };
        if (item.kind === "truncated") return ["log", "(file truncated: following from the top)"];
        counters.logLines++;
        return ["log", item.text];
      }
      default:
        return [watcher, JSON.stringify(value)];
    }
  }

  return { show, counters };
}
