/**
 * Everything Specter reads from Linux's `/proc`, in one place: a process's state, parent, group,
 * session, start time, CPU time, memory and environment variables, the live processes of a group
 * or below a pid, what a group uses, and what this process holds (file descriptors, threads). On a system without `/proc` (macOS)
 * the readers say "unknown" rather than throw: `readStat` returns `undefined`, `listPids` an empty
 * list.
 */
import { readdirSync, readFileSync } from "node:fs";

/** The fields of `/proc/<pid>/stat` that Specter uses. */
export interface ProcStat {
  pid: number;
  /** One letter: R running, S sleeping, D uninterruptible, Z zombie, T stopped, ... */
  state: string;
  ppid: number;
  /** Process group id. */
  pgrp: number;
  /** Session id. */
  session: number;
  /** CPU seconds spent in user and in kernel mode. */
  cpuSeconds: number;
  /** CPU seconds of its children that have exited and that it has waited for. */
  childCpuSeconds: number;
  /** Resident memory in bytes (0 for a zombie). */
  residentMemoryBytes: number;
  /**
   * When it started, in clock ticks since boot: with the pid, it names one process for good (a
   * pid is reused only by a process that starts later).
   */
  startTime: number;
}

/** What the processes of a group use, summed over its members (see `groupUsage`). */
export interface GroupUsage {
  /** Live (non-zombie) members. */
  processes: number;
  /** CPU seconds, user and kernel, of the members and of the children they have reaped. */
  cpuSeconds: number;
  /** Resident memory of the live members, summed: a page two members share counts twice. */
  residentMemoryBytes: number;
}

// The auxiliary vector holds the page size (AT_PAGESZ) and the clock tick of the time fields of
// stat (AT_CLKTCK): exact values without spawning getconf. Pages are 16 or 64 KiB on some arm64
// kernels, so 4096 is only the fallback.
const AT_PAGESZ = 6n;
const AT_CLKTCK = 17n;
let units: { pageSize: number; clockTick: number } | undefined;

function procUnits(): { pageSize: number; clockTick: number } {
  if (units) return units;
  units = { pageSize: 4096, clockTick: 100 };
  try {
    const bytes = readFileSync("/proc/self/auxv");
    // Pairs of native-endian 64-bit words (type, value); Bun runs on 64-bit platforms only.
    const words = new BigUint64Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 8));
    for (let i = 0; i + 1 < words.length; i += 2) {
      const value = Number(words[i + 1]);
      if (words[i] === AT_PAGESZ && value > 0) units.pageSize = value;
      if (words[i] === AT_CLKTCK && value > 0) units.clockTick = value;
    }
  } catch {
    // No /proc (or no auxv): the Linux defaults above.
  }
  return units;
}

/** The stat of `pid`, or `undefined` when it does not exist (or there is no `/proc`). */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ")", so
  // field n of proc(5) (state is field 3) is fields[n - 3].
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ", 22);
  const { pageSize, clockTick } = procUnits();
  const ticks = (i: number) => Number(fields[i]);
  return {
    pid,
    state: fields[0] ?? "?",
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    cpuSeconds: (ticks(11) + ticks(12)) / clockTick, // utime, stime
    childCpuSeconds: (ticks(13) + ticks(14)) / clockTick, // cutime, cstime
    residentMemoryBytes: Number(fields[21]) * pageSize, // rss, in pages
    startTime: ticks(19), // starttime
  };
}

/**
 * The environment `pid` started with (what it exec'd with, or inherited at fork), as the kernel
 * shows it: `NAME=value` entries, each ended by NUL. `""` when there is none to show: a zombie, a
 * kernel thread, a process exec'd with an empty environment, or one in the middle of an exec (for
 * a moment the new image has no environment yet). `undefined` when it cannot be read: gone,
 * another user's process without root, or no `/proc`. A process changing its variables later
 * (setenv, clearenv) does not show here; one that exec'd does.
 */
export function readEnviron(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8");
  } catch {
    return undefined;
  }
}

/** The value of `name` in an environment as `readEnviron` returns it, or `null` without one. */
export function variableOf(environ: string, name: string): string | null {
  const key = `${name}=`;
  let start = key.length;
  if (!environ.startsWith(key)) {
    const at = environ.indexOf(`\0${key}`);
    if (at === -1) return null;
    start += at + 1;
  }
  const end = environ.indexOf("\0", start);
  return environ.slice(start, end === -1 ? undefined : end);
}

/**
 * The value of environment variable `name` that `pid` started with (see `readEnviron`): `null`
 * when it has none, `undefined` when its environment cannot be read or is empty.
 */
export function environVariable(pid: number, name: string): string | null | undefined {
  const environ = readEnviron(pid);
  return environ ? variableOf(environ, name) : undefined;
}

/** Pids of every process, from the numeric entries of `/proc` (empty without `/proc`). */
export function listPids(): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(entry));
  }
  return pids;
}

/** Stats of every live (non-zombie) process. */
export function liveProcesses(): ProcStat[] {
  const found: ProcStat[] = [];
  for (const pid of listPids()) {
    const stat = readStat(pid);
    if (stat && stat.state !== "Z") found.push(stat);
  }
  return found;
}

/** Whether a process with this pid is alive and not a zombie. */
export function isAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/**
 * Whether process group `pgid` has a live (non-zombie) member, read from `/proc`; `undefined`
 * when there is no `/proc` to read.
 */
export function groupHasLiveMember(pgid: number): boolean | undefined {
  const pids = listPids();
  if (pids.length === 0) return undefined;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== "Z") return true;
  }
  return false;
}

/**
 * CPU and memory of process group `pgid`, from a scan of `/proc`; `undefined` when there is no
 * `/proc` to read. The CPU time of members that have exited and were reaped lives on in the
 * `cutime`/`cstime` of the member that waited for them (a shell's finished commands count toward
 * the shell), so it is included; a zombie member's own time counts too, its memory does not. The
 * total can drop when a member that reaped children exits, as counters do when a process restarts.
 *
 * One scan serves every group asked for in the same synchronous pass (until the next microtask):
 * a status page or a scrape that reads the health of many processes reads `/proc` once, not once
 * per process. A process that exits during the scan is left out, as if it had gone before.
 */
export function groupUsage(pgid: number): GroupUsage | undefined {
  const groups = usageByGroup();
  if (!groups) return undefined;
  const usage = groups.get(pgid);
  return usage ? { ...usage } : { processes: 0, cpuSeconds: 0, residentMemoryBytes: 0 };
}

/** The last scan's usage of every group, while the synchronous pass that made it lasts. */
let scan: Map<number, GroupUsage> | undefined;

function usageByGroup(): Map<number, GroupUsage> | undefined {
  if (scan) return scan;
  const pids = listPids();
  if (pids.length === 0) return undefined;
  const groups = new Map<number, GroupUsage>();
  for (const pid of pids) {
    const stat = readStat(pid); // undefined when it exited since the listing
    if (!stat) continue;
    let usage = groups.get(stat.pgrp);
    if (!usage) {
      usage = { processes: 0, cpuSeconds: 0, residentMemoryBytes: 0 };
      groups.set(stat.pgrp, usage);
    }
    usage.cpuSeconds += stat.cpuSeconds + stat.childCpuSeconds;
    if (stat.state === "Z") continue;
    usage.processes++;
    usage.residentMemoryBytes += stat.residentMemoryBytes;
  }
  // Whole ticks, without the float noise of the sum (0.30000000000000004).
  const { clockTick } = procUnits();
  for (const usage of groups.values()) {
    usage.cpuSeconds = Math.round(usage.cpuSeconds * clockTick) / clockTick;
  }
  scan = groups;
  queueMicrotask(() => {
    scan = undefined;
  });
  return groups;
}

/** Live (non-zombie) descendants of `pid` (default: this process), children first. */
export function descendants(pid = process.pid): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const stat of liveProcesses()) {
    const siblings = childrenOf.get(stat.ppid);
    if (siblings) siblings.push(stat.pid);
    else childrenOf.set(stat.ppid, [stat.pid]);
  }
  const found: number[] = [];
  const queue = [pid];
  for (let i = 0; i < queue.length; i++) {
    for (const child of childrenOf.get(queue[i] as number) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** The command line of `pid` as its arguments, or `[]` when it is gone (or a zombie). */
export function commandLine(pid: number): string[] {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return text === "" ? [] : text.replace(/\0$/, "").split("\0");
  } catch {
    return [];
  }
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

/** OS threads of this process. */
export function threadCount(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  return Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
}
