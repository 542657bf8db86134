/**
 * Machine readings, polled in a Worker by the demo's MonitorService. Rounded so that `dedupe`
 * only lets real changes through.
 */
import { statfsSync } from "node:fs";

/** 1-minute load average, from /proc/loadavg. */
export async function loadavg(): Promise<number> {
  const text = await Bun.file("/proc/loadavg").text();
  return Number(text.split(" ")[0]);
}

/** Memory in use, as a percentage with one decimal, from /proc/meminfo. */
export async function memory(): Promise<{ usedPercent: number; totalGiB: number }> {
  const text = await Bun.file("/proc/meminfo").text();
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
  const total = kib("MemTotal");
  const used = total - kib("MemAvailable");
  return {
    usedPercent: Math.round((used / total) * 1000) / 10,
    totalGiB: Math.round(total / 1048576),
  };
}

/** Disk use of the file system holding `path`, as a percentage with one decimal. */
export function disk(path: string): { path: string; usedPercent: number } {
  const s = statfsSync(path);
  const used = s.blocks - s.bfree;
  return { path, usedPercent: Math.round((used / (used + s.bavail)) * 1000) / 10 };
}
