/**
 * One frame of the demo's terminal screen, as plain lines that fit `columns` x `rows`: the services
 * with their watchers' latest values and their processes (pid, state, uptime, restarts, CPU and
 * memory), then as many recent events as the rows leave room for. A pure function of what it is
 * given, so a test can draw it without a terminal.
 */
import type { ServiceHealth } from "@specter/service";
import { valueText } from "./describe.ts";
import type { View } from "./view.ts";

export interface FrameInput {
  /** The status server's base URL, e.g. "http://127.0.0.1:4777/". */
  url: string;
  now: number;
  startedAt: number;
  /** How long the demo runs (--duration), if it stops by itself. */
  durationMs?: number;
  services: readonly ServiceHealth[];
  view: View;
}

type ProcessHealth = ServiceHealth["processes"][number];
type WatcherHealth = ServiceHealth["watchers"][number];

/** Width of the name column (services, and indented watchers and processes). */
const NAME = 12;
/** What is shown when a reading is not there (no child alive, no usage reported). */
const NONE = "–";

export function renderFrame(input: FrameInput, columns: number, rows: number): string[] {
  const { now, view } = input;
  const lines: string[] = [];
  const run = input.durationMs ? ` of ${since(input.durationMs)}` : "";
  lines.push(`Specter demo · up ${since(now - input.startedAt)}${run} · Ctrl-C stops`);
  lines.push(`status ${input.url} · /status /events /metrics /healthz`);
  lines.push("");
  for (const service of flatten(input.services)) {
    lines.push(serviceRow(service, input));
    for (const w of service.watchers) lines.push(watcherRow(service.name, w, input, columns));
    for (const p of service.processes) {
      lines.push(processRow(p));
      const out = view.lastOutput[service.name];
      if (out?.stdout !== undefined) lines.push(`${" ".repeat(NAME + 2)}stdout ${out.stdout}`);
      if (out?.stderr !== undefined) lines.push(`${" ".repeat(NAME + 2)}stderr ${out.stderr}`);
    }
  }
  lines.push("", "recent events");
  // The machine readings are left out: their latest values are in the rows above, while the
  // log's lines are a history worth seeing. At least one event shows even when cramped.
  const events = view.events.filter((e) => e.watcher === undefined || e.watcher === "log-tail");
  const room = Math.max(1, rows - lines.length);
  for (const e of events.slice(-room)) {
    const time = new Date(e.at).toISOString().slice(11, 19);
    lines.push(`${time}  ${e.label.padEnd(11)}${e.text}`);
  }
  return lines.slice(0, rows).map((line) => fit(clean(line), columns));
}

/** A service and its child services, each child named by its path ("parent/child"). */
function flatten(services: readonly ServiceHealth[], prefix = ""): ServiceHealth[] {
  return services.flatMap((s) => {
    const name = `${prefix}${s.name}`;
    return [{ ...s, name }, ...flatten(s.children, `${name}/`)];
  });
}

function serviceRow(s: ServiceHealth, { view }: FrameInput): string {
  const parts = [s.state.padEnd(9)];
  if (s.state === "running") parts.push(`up ${since(s.uptime)}`);
  if (s.watchers.some((w) => w.name === "log-tail")) {
    const { logLines, logRotations } = view.counters;
    parts.push(`${plural(logLines, "log line")} followed, ${plural(logRotations, "rotation")}`);
  }
  if (s.errorCount > 0) parts.push(`${plural(s.errorCount, "error")}: ${s.lastError?.message}`);
  return `${s.name.padEnd(NAME)}  ${parts.join("  ")}`;
}

function watcherRow(service: string, w: WatcherHealth, input: FrameInput, columns: number) {
  const latest = input.view.latest.get(`${service}/${w.name}`);
  const value = latest ? valueText(w.name, latest.value) : "(no value yet)";
  const state = w.state === "running" ? "" : ` [${w.state}]`;
  const age = latest ? `${since(input.now - latest.at)} ago` : "";
  const left = `  ${w.name.padEnd(NAME)}${value}${state}`;
  // The age sits at the right edge; the value gives way to it on a narrow terminal.
  const width = Math.max(0, columns - age.length - 1);
  return age ? `${pad(fit(clean(left), width), width)} ${age}` : left;
}

function processRow(p: ProcessHealth): string {
  const usage = usageOf(p);
  const cpu = usage ? `${usage.cpuSeconds.toFixed(2)}s` : NONE;
  const memory = usage ? `${(usage.residentMemoryBytes / 1048576).toFixed(1)} MiB` : NONE;
  const alive = p.pid !== null && p.uptime > 0;
  return [
    `  ${p.name.padEnd(NAME)}pid ${alive ? p.pid : NONE}`,
    p.state,
    `up ${alive ? since(p.uptime) : NONE}`,
    `restarts ${p.restarts}`,
    `cpu ${cpu}`,
    `mem ${memory}`,
  ].join("  ");
}

/**
 * CPU and memory of the process's group, when its health reports them: read defensively, as
 * `usage` may be missing (an older `@specter/process`) or `null` (no child alive, or no /proc).
 */
function usageOf(p: ProcessHealth): { cpuSeconds: number; residentMemoryBytes: number } | null {
  const usage = (p as { usage?: unknown }).usage;
  if (typeof usage !== "object" || usage === null) return null;
  const { cpuSeconds, residentMemoryBytes } = usage as Record<string, unknown>;
  if (typeof cpuSeconds !== "number" || typeof residentMemoryBytes !== "number") return null;
  return { cpuSeconds, residentMemoryBytes };
}

/** "12s", "3m 05s", "2h 04m": whole units, as a glance at the screen wants. */
export function since(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Control characters shown as "?": log lines and the child's output are not trusted to move the
 * cursor or change colours on the screen. So are the bidirectional embeddings, overrides and
 * isolates (U+202A–U+202E, U+2066–U+2069), which would turn the rest of the row right to left on
 * a terminal that reorders text.
 */
function clean(text: string): string {
  return text.replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, "?");
}

/** Cut to `width` terminal columns (wide characters count twice), with "…" when cut. */
export function fit(text: string, width: number): string {
  if (Bun.stringWidth(text) <= width) return text;
  let out = "";
  let used = 0;
  for (const char of text) {
    const w = Bun.stringWidth(char);
    if (used + w > width - 1) break;
    out += char;
    used += w;
  }
  return width > 0 ? `${out}…` : "";
}

function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - Bun.stringWidth(text)));
}
