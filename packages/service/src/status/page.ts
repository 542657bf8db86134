/**
 * `GET /`: the live status page, for a person with a browser. The HTML is rendered here (see
 * `page/render.ts`) and its inline script keeps it current from `/events` (`page/client.ts`).
 * Only inline CSS and script, allowed by a per-response nonce: the Content-Security-Policy lets
 * nothing else run or load, a second guard behind the escaping of every value.
 */
import { randomBytes } from "node:crypto";
import type { Hono } from "hono";
import type { Registry } from "../registry.ts";
import { renderPage } from "./page/render.ts";

export interface PageOptions {
  /** The bearer token the app was given, if any (the page passes `?token=` on to `/events`). */
  token: string | undefined;
  /** The app's `maxEventBytes`: a watcher's value is masked and cut as on `/events`. */
  maxEventBytes: number;
}

export function mountPage(app: Hono, registry: Registry, options: PageOptions): void {
  app.get("/", (c) => {
    const nonce = randomBytes(16).toString("base64");
    const base = baseOf(c.req.path);
    c.header(
      "Content-Security-Policy",
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    c.header("Cache-Control", "no-store");
    // The address may carry ?token=: keep it out of Referer headers.
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Content-Type-Options", "nosniff");
    const page = renderPage({
      services: registry.services(),
      now: Date.now(),
      base,
      nonce,
      auth: options.token !== undefined,
      maxValueChars: options.maxEventBytes,
    });
    return c.html(page);
  });
}

/**
 * The folder the page is served from, so that mounted under a prefix
 * (`app.route("/specter", statusApp)`) it still finds `events` beside it. One leading slash:
 * "//host/" would name another origin.
 */
function baseOf(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? "/" : `/${trimmed}/`;
}
