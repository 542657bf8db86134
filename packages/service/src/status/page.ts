/**
 * `GET /`: the live status page. (Stub: filled in by the status-page work of issue 14.)
 */
import type { Hono } from "hono";
import type { Registry } from "../registry.ts";

export interface PageOptions {
  /** The bearer token the app was given, if any (the page passes `?token=` on to `/events`). */
  token: string | undefined;
}

export function mountPage(_app: Hono, _registry: Registry, _options: PageOptions): void {}
