/**
 * The status page as HTML, rendered on the server so it reads without JavaScript. Everything
 * that comes from a service (names, values, messages, command lines) goes through hono's `html`
 * helper, which escapes it; `raw` is used only for our own CSS and script.
 *
 * The page's script finds what it updates by `data-k` (a JSON key of kind, service path and
 * name) and `data-f` (a field inside it); `data-at`/`data-since` hold epoch milliseconds that it
 * turns into relative times every second.
 */
import { html, raw } from "hono/html";
import type { Service } from "../../service.ts";
import type { ServiceTypes } from "../../types.ts";
import { maskWireValue } from "../mask.ts";
import type { ProcessStatus, ServiceStatus, WatcherStatus } from "../schemas.ts";
import { statusOf } from "../status-of.ts";
import { toWire } from "../wire.ts";
import { CLIENT_SCRIPT } from "./client.ts";
import {
  formatAgo,
  formatBytes,
  formatCpu,
  formatExit,
  formatSpan,
  formatValue,
  shorten,
  tone,
} from "./format.ts";
import { STYLE } from "./style.ts";

type AnyService = Service<ServiceTypes>;
type Html = ReturnType<typeof html>;

export interface PageView {
  services: readonly AnyService[];
  /** When the page is rendered (epoch ms): relative times are counted from it. */
  now: number;
  /** The path the page is served at, ending in "/": `/events` and `/status` are relative to it. */
  base: string;
  /** The Content-Security-Policy nonce of the inline style and script. */
  nonce: string;
  /** Whether the endpoint needs a token: the script then passes `?token=` of its URL on. */
  auth: boolean;
  /** Longest JSON of a watcher's value shown (the app's `maxEventBytes`); a longer one is cut. */
  maxValueChars: number;
}

/** Usage of a process's group, when its health has it. */
interface Usage {
  processes: number;
  cpuSeconds: number;
  residentMemoryBytes: number;
}

/** Longest text kept in a tooltip: the full value, within reason. */
const TITLE_MAX = 600;

export function renderPage(view: PageView): Html {
  const { now, nonce } = view;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Specter status</title>
<link rel="icon" href="data:,">
<noscript><meta http-equiv="refresh" content="10"></noscript>
<style nonce="${nonce}">${raw(STYLE)}</style>
</head>
<body data-base="${view.base}" data-now="${now}"${view.auth ? raw(' data-auth="token"') : ""}>
<header>
<h1>Specter status</h1>
<div class="top">
<span id="conn" class="badge mute">not live</span>
<span>rendered <time data-at="${now}">${formatAgo(0)}</time></span>
${
  // A link cannot send the Authorization header, and ?token= is accepted on the page and
  // /events only (a token in a URL reaches logs and history): with a token, name the paths.
  view.auth
    ? html`<span>JSON: ${view.base}status · ${view.base}healthz (with Authorization: Bearer)</span>`
    : html`<span>JSON: <a href="${view.base}status">status</a> · <a href="${view.base}healthz">healthz</a></span>`
}
</div>
<noscript><p class="meta">Without JavaScript this page reloads every 10 s instead of updating live.</p></noscript>
</header>
<main id="services">
${renderServices(view)}
</main>
<section id="activity">
<h2>Last events</h2>
<ol id="events"><li class="empty">State changes, exits, restarts, emitted events and errors appear here as they happen (needs JavaScript).</li></ol>
</section>
<script nonce="${nonce}">${raw(CLIENT_SCRIPT)}</script>
</body>
</html>
`;
}

/** The part the script fetches again to refresh what `/events` does not carry (pids, CPU, ...). */
function renderServices(view: PageView): Html {
  const services = view.services;
  const statuses = services.map((s) => statusOf(s));
  const unhealthy = statuses.filter((s) => !s.healthy).length;
  const summary =
    statuses.length === 0
      ? "No services registered."
      : `${statuses.length} ${statuses.length === 1 ? "service" : "services"} · ${
          unhealthy === 0 ? "all healthy" : `${unhealthy} unhealthy`
        }`;
  return html`<p class="summary" data-k="${key("summary")}">${summary}</p>
${services.map((s, i) => renderService(s, statuses[i] as ServiceStatus, s.name, view, true))}`;
}

function renderService(
  service: AnyService,
  status: ServiceStatus,
  path: string,
  view: Pick<PageView, "now" | "maxValueChars">,
  top: boolean,
): Html {
  const { now, maxValueChars } = view;
  const watchers = service.ownedWatchers();
  const children = service.ownedChildren();
  const errors =
    status.errorCount === 0
      ? ""
      : html` · <span class="err">${plural(status.errorCount, "error")}${
          status.lastError
            ? `, last ${formatAgo(now - status.lastError.at)}: ${shorten(status.lastError.message, 160)}`
            : ""
        }</span>`;
  // A parent's reasons include its children's, with their paths: listed once, at the top.
  const reasons =
    top && status.reasons.length > 0
      ? html`<ul class="reasons">${status.reasons.map((r) => html`<li>${r}</li>`)}</ul>`
      : "";
  return html`<section class="svc">
<div class="svc-head" data-k="${key("s", path)}">
<h2>${service.name}</h2>
<span class="badge ${tone(status.state)}" data-f="state">${status.state}</span>
<span class="badge ${status.healthy ? "ok" : "bad"}">${status.healthy ? "healthy" : "unhealthy"}</span>
<p class="meta">${status.state === "running" ? html`up ${since(now - status.uptime, now)}` : "not running"}${errors}</p>
${reasons}${renderData((status as { data?: unknown }).data)}
</div>
${
  status.watchers.length > 0
    ? html`<h3>Watchers</h3><ul class="items">${status.watchers.map((w, i) =>
        renderWatcher(path, w, lastValueOf(watchers, i, w.name), now, maxValueChars),
      )}</ul>`
    : ""
}
${
  status.processes.length > 0
    ? html`<h3>Processes</h3><ul class="items">${status.processes.map((p) => renderProcess(path, p, now))}</ul>`
    : ""
}
${status.children.map((child, i) => {
  const owner = children[i]?.name === child.name ? children[i] : undefined;
  return owner ? renderService(owner, child, `${path}/${child.name}`, view, false) : "";
})}
</section>`;
}

function renderWatcher(
  path: string,
  w: WatcherStatus,
  value: unknown,
  now: number,
  maxValueChars: number,
): Html {
  // Masked as `/events` masks it, so that the value reads the same before and after it comes live.
  const wire = w.lastValueAt === null ? undefined : maskWireValue(toWire(value), maxValueChars);
  const at =
    w.lastValueAt === null
      ? html`<time data-f="at">no value yet</time>`
      : html`<time data-f="at" data-at="${w.lastValueAt}">${formatAgo(now - w.lastValueAt)}</time>`;
  const retry =
    w.state === "backoff" && w.nextRetryIn !== null
      ? ` · retry in ${formatSpan(w.nextRetryIn, true)}`
      : "";
  const errors =
    w.errorCount === 0
      ? ""
      : html` · <span class="err">${plural(w.errorCount, "error")}${
          w.lastError
            ? `, last ${formatAgo(now - w.lastError.at)}: ${shorten(w.lastError.message, 160)}`
            : ""
        }</span>`;
  return html`<li class="item" data-k="${key("w", path, w.name)}" data-v="${w.delivered}">
<span class="name">${w.name}</span>
<span class="badge ${tone(w.state)}" data-f="state">${w.state}</span>
<span class="value" data-f="value" title="${formatValue(wire, TITLE_MAX)}">${formatValue(wire)}</span>
<span class="meta">${at} · <span data-f="delivered">${w.delivered}</span> delivered${retry}${errors}</span>
</li>`;
}

function renderProcess(path: string, p: ProcessStatus, now: number): Html {
  const usage = (p as { usage?: Usage | null }).usage ?? null;
  const parts: (Html | string)[] = [
    p.pid !== null && p.uptime > 0
      ? html`pid <span data-f="pid">${p.pid}</span> · up ${since(now - p.uptime, now)}`
      : "not running",
    html`<span data-f="restarts">${plural(p.restarts, "restart")}</span>`,
  ];
  if (usage) {
    parts.push(`CPU ${formatCpu(usage.cpuSeconds)}`);
    const group = usage.processes > 1 ? ` in ${usage.processes} processes` : "";
    parts.push(`${formatBytes(usage.residentMemoryBytes)} memory${group}`);
  }
  if (p.state === "restarting" && p.nextRestartIn !== null) {
    parts.push(`restart in ${formatSpan(p.nextRestartIn, true)}`);
  }
  if (p.lastExit) {
    parts.push(`last exit ${formatExit(p.lastExit)}, ${formatAgo(now - p.lastExit.at)}`);
  }
  if (p.lastError) parts.push(html`<span class="err">${shorten(p.lastError.message, 160)}</span>`);
  const command = p.argv.join(" ");
  return html`<li class="item" data-k="${key("p", path, p.name)}">
<span class="name">${p.name}</span>
<span class="badge ${tone(p.state)}" data-f="state">${p.state}</span>
<span class="value argv" title="${shorten(command, TITLE_MAX)}">${shorten(command, 120)}</span>
<span class="meta">${parts.map((part, i) => (i === 0 ? part : html` · ${part}`))}</span>
</li>`;
}

/** A service's own data, when its status carries it (already masked by the status endpoint). */
function renderData(data: unknown): Html | string {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return "";
  const entries = Object.entries(data);
  if (entries.length === 0) return "";
  return html`<dl class="data">${entries.map(
    ([k, v]) =>
      html`<dt>${shorten(k, 80)}</dt><dd class="value" title="${formatValue(toWire(v), TITLE_MAX)}">${formatValue(toWire(v))}</dd>`,
  )}</dl>`;
}

/** A duration since `start`, which the script keeps counting. */
function since(start: number, now: number): Html {
  return html`<span data-since="${start}">${formatSpan(now - start)}</span>`;
}

/** The last value of the watcher shown at `index`, read from the Watcher object itself. */
function lastValueOf(
  watchers: readonly { name: string; lastValue: unknown }[],
  index: number,
  name: string,
): unknown {
  // health() lists the owned watchers in the same order; the name check guards a change between.
  const watcher =
    watchers[index]?.name === name ? watchers[index] : watchers.find((w) => w.name === name);
  return watcher?.lastValue;
}

/** How the script finds an element again: the same JSON it builds from an event's fields. */
export function key(...parts: string[]): string {
  return JSON.stringify(parts);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
