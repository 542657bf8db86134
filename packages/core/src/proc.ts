/**
 * Everything Specter reads from Linux's `/proc`, in one place: a process's state, parent, group
 * and session, the live processes of a group or below a pid, and what this process holds (file
 * descriptors, threads). On a system without `/proc` (macOS) the readers say "unknown" rather than
 * throw: `readStat` returns `undefined`, `listPids` an empty list.
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
}

/** The stat of `pid`, or `undefined` when it does not exist (or there is no `/proc`). */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ", 4);
  return {
    pid,
    state: fields[0] ?? "?",
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
  };
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
