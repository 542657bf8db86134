/**
 * `GET /metrics`: Prometheus text exposition, built on prom-client. (Stub: filled in by the
 * metrics work of issue 14.)
 */
import type { Hono } from "hono";
import { Registry as PromRegistry } from "prom-client";
import { z } from "zod";
import type { Registry } from "../registry.ts";

/** `true`: serve Specter's metrics from a registry of our own; a prom-client `Registry`: add ours to it and serve it all; `false`/absent: no `/metrics`. */
export type MetricsOption = boolean | PromRegistry;

export const metricsOptionSchema = z.union(
  [z.boolean(), z.instanceof(PromRegistry) as z.ZodType<PromRegistry>],
  {
    error: "true, false, or a prom-client Registry",
  },
);

export function mountMetrics(_app: Hono, _registry: Registry, _metrics: MetricsOption): void {}
