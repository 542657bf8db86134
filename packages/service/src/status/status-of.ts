import type { Service } from "../service.ts";
import type { ServiceTypes } from "../types.ts";
import { maskArgv, maskData } from "./mask.ts";
import { maskNote } from "./mask-errors.ts";
import type { ProcessStatus, ServiceStatus } from "./schemas.ts";

/**
 * A service's status: its health as it is (every field, so one added to a `health()` shows up
 * here without a change), its data, process command lines, error messages and worker restart
 * reasons masked, and why it is not healthy (built from the masked messages).
 */
export function statusOf(service: Service<ServiceTypes>, path = service.name): ServiceStatus {
  const { processes: healths, children: __, watchers: rawWatchers, ...raw } = service.health();
  const health = { ...raw, lastError: maskNote(raw.lastError, "message") };
  const watchers = rawWatchers.map((w) => ({
    ...w,
    lastError: maskNote(w.lastError, "message"),
    lastWorkerRestart: maskNote(w.lastWorkerRestart, "reason"),
  }));
  const reasons: string[] = [];
  if (health.state !== "running") reasons.push(`${path}: service is ${health.state}`);
  for (const w of watchers) {
    if (w.state === "failed")
      reasons.push(
        `${path}: watcher "${w.name}" failed${w.lastError ? `: ${w.lastError.message}` : ""}`,
      );
  }
  // health() listed the owned processes in this same order: reuse it rather than read each
  // process's /proc usage a second time.
  const owned = service.ownedProcesses();
  const processes: ProcessStatus[] = healths.map((h, i) => ({
    ...h,
    lastError: maskNote(h.lastError, "message"),
    argv: maskArgv(owned[i]?.argv ?? []),
  }));
  for (const p of processes) {
    if (p.state === "failed")
      reasons.push(`${path}: process "${p.name}" gave up after ${p.restarts} restarts`);
    if (p.state === "exited") {
      const how = p.lastExit?.signalCode ?? `code ${p.lastExit?.exitCode}`;
      reasons.push(`${path}: process "${p.name}" exited (${how}) and will not restart`);
    }
  }
  const children = service.ownedChildren().map((child) => statusOf(child, `${path}/${child.name}`));
  for (const child of children) reasons.push(...child.reasons);
  const data = maskData(service.data as Record<string, unknown>);
  return {
    ...health,
    watchers,
    healthy: reasons.length === 0,
    reasons,
    data,
    processes,
    children,
  };
}
