/**
 * The status page's inline script, as text. It listens to `/events` and updates what it shows in
 * place: watcher values and states, process and service states, and the list of last events. What
 * the stream does not carry (pids, uptimes, CPU, memory, health, new services) comes from fetching
 * the page again every few seconds and patching the parts that changed. Relative times are
 * recounted every second, against the server's clock (the page carries its time in `data-now`).
 *
 * It formats with the same functions as the server (`FORMAT_SOURCE`). It writes only with
 * `textContent`, or with HTML the server rendered and escaped, so nothing from a service can
 * become markup. The token is read from the page's own address, never written into the page.
 */
import { ActivityEvent } from "../schemas.ts";
import { FORMAT_SOURCE } from "./format.ts";

/**
 * Events the stream sends (`event:` names): every activity type of the `/events` schema, and the
 * stream's own "hello" and "dropped".
 */
const TYPES = ["hello", ...ActivityEvent.shape.type.options, "dropped"];

const SCRIPT = `
const TYPES = ${JSON.stringify(TYPES)};
const MAX_EVENTS = 40;
const REFRESH_MS = 3000;
const body = document.body;
const base = body.dataset.base || "/";
const token = body.dataset.auth === "token" ? new URLSearchParams(location.search).get("token") : null;
const services = document.getElementById("services");
const list = document.getElementById("events");
const conn = document.getElementById("conn");
// The server's clock minus ours: event times and data-at are the server's.
let skew = Number(body.dataset.now) - Date.now();
const now = () => Date.now() + skew;
const key = (...parts) => JSON.stringify(parts);
let items = new Map();

function index() {
  items = new Map();
  for (const el of services.querySelectorAll("[data-k]")) items.set(el.getAttribute("data-k"), el);
}

function field(el, name) {
  return el ? el.querySelector('[data-f="' + name + '"]') : null;
}

function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

function setState(el, state) {
  const badge = field(el, "state");
  if (!badge) return;
  setText(badge, state);
  badge.className = "badge " + tone(state);
}

function tick() {
  const t = now();
  for (const el of document.querySelectorAll("[data-at]")) setText(el, formatAgo(t - Number(el.dataset.at)));
  for (const el of document.querySelectorAll("[data-since]")) setText(el, formatSpan(t - Number(el.dataset.since)));
}

function live(text, level) {
  setText(conn, text);
  conn.className = "badge " + level;
}

function addEvent(type, a) {
  const empty = list.querySelector(".empty");
  if (empty) empty.remove();
  const li = document.createElement("li");
  if (type === "error" || type === "process-give-up" || (a.state && tone(a.state) === "bad")) li.className = "bad";
  else if (type === "process-exit" || type === "process-restart" || type === "dropped") li.className = "warn";
  const when = document.createElement("time");
  when.className = "when";
  when.dataset.at = String(a.at || now());
  when.textContent = formatAgo(now() - Number(when.dataset.at));
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = a.service || "";
  const what = document.createElement("span");
  what.className = "what";
  what.textContent = describeActivity(type, a);
  li.append(when, who, what);
  list.prepend(li);
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

function onEvent(type, a) {
  if (type === "hello") {
    if (typeof a.at === "number") skew = a.at - Date.now();
    const shown = [...services.querySelectorAll(":scope > .svc > .svc-head")].map((el) => JSON.parse(el.dataset.k)[1]);
    if (shown.join("\\n") !== (a.services || []).join("\\n")) refreshSoon(0);
    return;
  }
  if (type === "watcher-value") {
    const el = items.get(key("w", a.service, a.watcher));
    if (!el) return refreshSoon();
    const value = field(el, "value");
    setText(value, formatValue(a.value));
    if (value) value.title = formatValue(a.value, 600);
    const at = field(el, "at");
    if (at) {
      at.dataset.at = String(a.at);
      setText(at, formatAgo(now() - a.at));
    }
    const delivered = field(el, "delivered");
    const count = Number(delivered ? delivered.textContent : 0) + 1;
    setText(delivered, String(count));
    el.dataset.v = String(count);
    return;
  }
  addEvent(type, a);
  if (type === "watcher-state") {
    const el = items.get(key("w", a.service, a.watcher));
    if (el) setState(el, a.state);
  } else if (type === "process-state") {
    const el = items.get(key("p", a.service, a.process));
    if (el) setState(el, a.state);
  } else if (type === "process-restart") {
    const restarts = a.restarts + (a.restarts === 1 ? " restart" : " restarts");
    setText(field(items.get(key("p", a.service, a.process)), "restarts"), restarts);
  } else if (type === "service") {
    setState(items.get(key("s", a.service)), a.state);
  }
  // Whatever else changed with it (pid, uptime, health, a new child) comes with the page.
  if (type !== "event") refreshSoon();
}

let refreshTimer = 0;
let refreshing = false;
function refreshSoon(delay = 250) {
  if (!refreshTimer) refreshTimer = setTimeout(refresh, delay);
}

async function refresh() {
  refreshTimer = 0;
  if (refreshing) return refreshSoon();
  refreshing = true;
  try {
    const res = await fetch(base, { cache: "no-store", headers: token ? { authorization: "Bearer " + token } : {} });
    if (!res.ok) return live(res.status === 401 ? "unauthorized" : "error " + res.status, "bad");
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const fresh = doc.getElementById("services");
    if (!fresh) return;
    skew = Number(doc.body.dataset.now) - Date.now();
    patch(fresh);
    tick();
  } catch {
    // The server is away: the stream says so, and the next refresh tries again.
  } finally {
    refreshing = false;
  }
}

/** Takes the fresh page's parts; a watcher keeps what the stream gave it if that is newer. */
function patch(fresh) {
  const keys = (root) => [...root.querySelectorAll("[data-k]")].map((el) => el.getAttribute("data-k")).join("\\n");
  if (keys(fresh) !== keys(services)) {
    services.innerHTML = fresh.innerHTML;
    index();
    return;
  }
  for (const el of fresh.querySelectorAll("[data-k]")) {
    const old = items.get(el.getAttribute("data-k"));
    if (!old) continue;
    if (old.dataset.v && el.dataset.v && Number(el.dataset.v) < Number(old.dataset.v)) continue;
    if (old.innerHTML !== el.innerHTML) old.innerHTML = el.innerHTML;
    if (el.dataset.v) old.dataset.v = el.dataset.v;
  }
}

function connect() {
  const source = new EventSource(base + "events" + (token ? "?token=" + encodeURIComponent(token) : ""));
  source.addEventListener("open", () => live("live", "ok"));
  for (const type of TYPES) {
    source.addEventListener(type, (e) => {
      // "error" is also how EventSource reports a lost connection: that one has no data.
      if (typeof e.data !== "string") {
        if (source.readyState === EventSource.CLOSED) live("disconnected", "bad");
        else live("reconnecting…", "warn");
        return;
      }
      try {
        onEvent(type, JSON.parse(e.data));
      } catch (error) {
        console.error("status page: cannot show", type, error);
      }
    });
  }
}

index();
tick();
setInterval(tick, 1000);
setInterval(() => {
  if (!document.hidden) refreshSoon(0);
}, REFRESH_MS);
connect();
`;

/** The whole script: the shared formatters, then the page logic, in one scope. */
export const CLIENT_SCRIPT = `"use strict";\n(() => {\n${FORMAT_SOURCE}\n${SCRIPT}})();\n`;
