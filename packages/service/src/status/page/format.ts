/**
 * How the status page writes values, times and sizes. The server renders with these functions and
 * the page's script gets the very same ones (`FORMAT_SOURCE`, their source text), so a value
 * looks the same whether it came with the page or later from `/events`. Each function therefore
 * stands alone: no imports, no outer variables, only the other functions of this file.
 */

/** Cuts `text` to `max` characters, marking the cut with "…"; see `printable` for what it shows as "?". */
export function shorten(text: string, max = 120): string {
  const shown = printable(text);
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}

/**
 * Control characters other than tab and line ends (a bell, an escape, NUL) and the bidirectional
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) shown as "?": a value can
 * neither hide part of itself nor turn the text after it right to left.
 */
export function printable(text: string): string {
  return text.replace(/(?![\t\n\r])[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, "?");
}

/**
 * A watcher value as one short line: text as it is (whitespace collapsed), everything else as
 * compact JSON; "—" when there is none. Expects a value as it travels in JSON (see `toWire` in `../wire.ts`).
 */
export function formatValue(value: unknown, max = 120): string {
  if (value === undefined) return "—";
  let text: string;
  if (typeof value === "string") text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  const line = text.replace(/\s+/g, " ").trim();
  // An empty or blank text is still a value: show that it is one.
  return line === "" && typeof value === "string" ? '""' : shorten(line, max);
}

/** How long ago `ms` milliseconds was: "just now", "3 s ago", "2 min ago", "5 h ago", "2 d ago". */
export function formatAgo(ms: number): string {
  if (ms < 1_000) return "just now";
  return `${formatSpan(ms, true)} ago`;
}

/** A duration: "850 ms", "12 s", "3 min 4 s", "2 h 5 min", "3 d 4 h"; `coarse` keeps one unit. */
export function formatSpan(ms: number, coarse = false): string {
  if (!(ms >= 0)) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const units: [string, number][] = [
    ["d", 86_400],
    ["h", 3_600],
    ["min", 60],
    ["s", 1],
  ];
  let rest = Math.floor(ms / 1_000);
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    // "2 h" rather than "2 h 0 min".
    if (count === 0) {
      if (parts.length === 0) continue;
      break;
    }
    parts.push(`${count} ${unit}`);
    rest %= size;
    if (coarse || parts.length === 2) break;
  }
  return parts.join(" ");
}

/** A size in bytes: "512 B", "3.4 KiB", "12.3 MiB", "1.2 GiB". */
export function formatBytes(bytes: number): string {
  if (!(bytes >= 0)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** CPU time in seconds: "0.42 s", "12.3 s", "3 min 4 s". */
export function formatCpu(seconds: number): string {
  if (!(seconds >= 0)) return "—";
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return formatSpan(seconds * 1_000);
}

/** How a process ended: "code 1", "SIGTERM", "stopped (SIGTERM)", "killed". */
export function formatExit(exit: {
  exitCode: number | null;
  signalCode: string | null;
  stopped: boolean;
  killed: boolean;
}): string {
  const how = exit.signalCode ?? `code ${exit.exitCode}`;
  if (exit.killed) return `killed (${how})`;
  return exit.stopped ? `stopped (${how})` : how;
}

/** One line for an event of `/events`, without its service and time (shown beside it). */
export function describeActivity(type: string, a: Record<string, unknown>): string {
  const what = (a.watcher ?? a.process ?? "") as string;
  switch (type) {
    case "service":
      return `service ${a.previous} → ${a.state}`;
    case "watcher-state":
    case "process-state":
      return `${type.slice(0, -6)} "${what}" ${a.previous} → ${a.state}`;
    case "watcher-value":
      return `watcher "${what}" = ${formatValue(a.value, 80)}`;
    case "process-exit":
      return `process "${what}" exited: ${formatExit(a.exit as Parameters<typeof formatExit>[0])}`;
    case "process-restart":
      return `process "${what}" restarting (restart ${a.restarts}, in ${formatSpan(a.delay as number)})`;
    case "process-give-up":
      return `process "${what}" gave up after ${a.restarts} restarts`;
    case "event":
      return `event "${a.event}" ${formatValue(a.data, 80)}`;
    case "error":
      return `error (${a.phase}): ${shorten(String(a.message), 160)}`;
    case "dropped":
      return `${a.count} events dropped: the connection was too slow`;
    default: {
      const { type: _, service: __, at: ___, ...rest } = a;
      return `${type} ${formatValue(rest, 100)}`;
    }
  }
}

/** The colour class of a state badge: "ok", "warn", "bad" or "mute". */
export function tone(state: string): string {
  if (state === "running") return "ok";
  if (state === "failed" || state === "exited") return "bad";
  if (state === "stopped" || state === "ended" || state === "idle") return "mute";
  return "warn";
}

/** The source of the functions the page's script uses. */
export const FORMAT_SOURCE = [
  shorten,
  printable,
  formatValue,
  formatAgo,
  formatSpan,
  formatBytes,
  formatCpu,
  formatExit,
  describeActivity,
  tone,
]
  .map((fn) => fn.toString())
  .join("\n");
