import { afterEach, expect, test } from "bun:test";
import {
  commandLine,
  descendants,
  environVariable,
  groupHasLiveMember,
  groupUsage,
  isAlive,
  liveProcesses,
  openFds,
  readStat,
  threadCount,
} from "../src/index.ts";
import { collectLines, waitFor } from "../src/testing/index.ts";

const started: { kill(signal?: number | NodeJS.Signals): void; exited: Promise<number> }[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) {
    child.kill("SIGKILL");
    await child.exited;
  }
});

test("readStat reads this process: its parent, group and session", () => {
  const stat = readStat(process.pid);
  expect(stat).toMatchObject({ pid: process.pid, ppid: process.ppid });
  // Running, sleeping or in an uninterruptible wait (D, seen on a loaded CI host).
  expect(stat?.state).toMatch(/^[RSD]$/);
  // 0 when the group or session leader lives outside this pid namespace (a container).
  expect(stat?.pgrp).toBeGreaterThanOrEqual(0);
  expect(stat?.session).toBeGreaterThanOrEqual(0);
  const ps = Bun.spawnSync(["ps", "-o", "pgid=,sid=", "-p", String(process.pid)]).stdout.toString();
  if (ps.trim() !== "")
    expect(ps.trim().split(/\s+/).map(Number)).toEqual([stat?.pgrp ?? -1, stat?.session ?? -1]);
  expect(readStat(2 ** 22 + 1)).toBeUndefined(); // beyond pid_max: never a process
});

test("a command name with spaces and parentheses does not shift the fields", async () => {
  // bash's exec -a sets argv[0], which becomes the stat command name.
  const child = Bun.spawn(["bash", "-c", "exec -a 'we (ird) name' sleep 30"], { detached: true });
  started.push(child);
  await waitFor(() => commandLine(child.pid)[0] === "we (ird) name");
  const stat = readStat(child.pid);
  expect(stat).toMatchObject({ pid: child.pid, ppid: process.pid, pgrp: child.pid });
  expect(stat?.session).toBe(child.pid); // detached: a session of its own
  expect(groupHasLiveMember(child.pid)).toBe(true);
});

test("descendants finds children and grandchildren; isAlive tells live from gone", async () => {
  const child = Bun.spawn(["sh", "-c", "sleep 30 & wait"], { stdout: "ignore" });
  started.push(child);
  const tree = await waitFor(() => {
    const found = descendants();
    return found.length >= 2 ? found : undefined;
  });
  expect(tree[0]).toBe(child.pid);
  expect(tree.every(isAlive)).toBe(true);
  expect(liveProcesses().some((p) => p.pid === child.pid)).toBe(true);
  child.kill("SIGKILL");
  await child.exited;
  expect(isAlive(child.pid)).toBe(false);
  expect(commandLine(child.pid)).toEqual([]);
  // The orphaned sleep is still alive, reparented; kill it through its group.
  const sleeper = tree[1] as number;
  process.kill(sleeper, "SIGKILL");
  await waitFor(() => !isAlive(sleeper));
});

test("openFds and threadCount read this process", () => {
  expect(openFds()).toBeGreaterThan(2);
  expect(threadCount()).toBeGreaterThanOrEqual(1);
});

test("readStat reads this process's CPU time and resident memory", () => {
  const stat = readStat(process.pid);
  expect(stat?.cpuSeconds).toBeGreaterThan(0);
  expect(stat?.childCpuSeconds).toBeGreaterThanOrEqual(0);
  // More than a page or two, less than what a test runner could plausibly hold.
  expect(stat?.residentMemoryBytes).toBeGreaterThan(1024 * 1024);
  expect(stat?.residentMemoryBytes).toBeLessThan(16 * 1024 ** 3);
});

test("groupUsage sums a busy group's CPU and memory over its live members", async () => {
  // detached: its own group, led by the shell; the busy loop runs in a second member.
  const child = Bun.spawn(["sh", "-c", "while :; do :; done & sleep 30"], { detached: true });
  started.push(groupOf(child));
  const usage = await waitFor(
    () => {
      const u = groupUsage(child.pid);
      return u && u.processes === 3 && u.cpuSeconds >= 0.2 ? u : undefined;
    },
    { timeout: 10_000, message: "the busy loop to use 0.2 s of CPU" },
  );
  expect(usage.residentMemoryBytes).toBeGreaterThan(0);
  // Not more CPU than the group could have had since it started, on every core.
  expect(usage.cpuSeconds).toBeLessThan(navigator.hardwareConcurrency * 10);
  expect(groupUsage(2 ** 22 + 1)).toEqual({ processes: 0, cpuSeconds: 0, residentMemoryBytes: 0 });
});

test("groupUsage counts the CPU of members that already exited and were reaped", async () => {
  // The subshell counts (about 0.3 s of CPU), exits and is reaped by the shell, so its time is in
  // the shell's cutime.
  const script = "(i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done); echo done; sleep 30";
  const child = Bun.spawn(["sh", "-c", script], { detached: true, stdout: "pipe" });
  started.push(groupOf(child));
  const out = collectLines(child.stdout);
  await waitFor(() => out.lines.includes("done"), { timeout: 10_000 });
  const shell = readStat(child.pid);
  const usage = groupUsage(child.pid);
  expect(shell?.childCpuSeconds).toBeGreaterThanOrEqual(0.05);
  expect(usage?.cpuSeconds).toBeGreaterThanOrEqual(
    (shell?.childCpuSeconds ?? 0) + (shell?.cpuSeconds ?? 0),
  );
  expect(usage?.processes).toBe(2); // the shell and its sleep
});

test("groupUsage: one scan of /proc serves every read in the same synchronous pass; the next pass reads again", async () => {
  const child = Bun.spawn(["sh", "-c", "sleep 30 & sleep 30 & wait"], { detached: true });
  started.push(groupOf(child));
  await waitFor(() => groupUsage(child.pid)?.processes === 3, { timeout: 10_000 });
  const first = groupUsage(child.pid);
  const again = groupUsage(child.pid);
  expect(again).toEqual(first as NonNullable<typeof first>);
  expect(again).not.toBe(first); // a copy each time: a caller may change its own
  const sleeper = descendants(child.pid)[0] as number;
  process.kill(sleeper, "SIGKILL");
  // Still this pass: the same scan.
  expect(groupUsage(child.pid)?.processes).toBe(3);
  // A later pass scans again and sees it gone.
  await waitFor(() => groupUsage(child.pid)?.processes === 2, { timeout: 10_000 });
});

test("groupUsage survives members exiting during the scan", async () => {
  // A group that starts and reaps a short-lived process all the time: some are listed in /proc
  // and gone before their stat is read.
  const child = Bun.spawn(["sh", "-c", "while :; do /bin/true & wait; done"], { detached: true });
  started.push(groupOf(child));
  // Until the shell has exec'd, the child is a copy of this process being set up by Bun.
  await waitFor(() => commandLine(child.pid)[0] === "sh");
  let scans = 0;
  await waitFor(
    () => {
      const usage = groupUsage(child.pid);
      expect(usage?.processes).toBeGreaterThanOrEqual(1); // the shell, at least
      expect(Number.isFinite(usage?.cpuSeconds)).toBe(true);
      expect(usage?.residentMemoryBytes).toBeGreaterThan(0);
      return ++scans >= 100;
    },
    { timeout: 20_000, message: "100 scans while members come and go" },
  );
});

/** Kills the whole group of a detached child at cleanup, so its background members go too. */
function groupOf(child: Bun.Subprocess): (typeof started)[number] {
  return {
    kill: () => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    },
    exited: child.exited,
  };
}

test("environVariable reads what a process exec'd with: set, unset, or unreadable", async () => {
  const child = Bun.spawn(["sleep", "30"], {
    env: { PATH: process.env.PATH, SPECTER_A: "one=1", SPECTER_B: "" },
  });
  started.push(child);
  await waitFor(() => commandLine(child.pid)[0] === "sleep");
  expect(environVariable(child.pid, "SPECTER_A")).toBe("one=1");
  expect(environVariable(child.pid, "SPECTER_B")).toBe("");
  expect(environVariable(child.pid, "PATH")).toBe(process.env.PATH as string);
  expect(environVariable(child.pid, "SPECTER_")).toBeNull(); // a prefix is not a name
  expect(environVariable(child.pid, "SPECTER_MISSING")).toBeNull();
  expect(environVariable(2 ** 22 + 1, "PATH")).toBeUndefined();
  const bare = Bun.spawn(["sleep", "30"], { env: {} });
  started.push(bare);
  await waitFor(() => commandLine(bare.pid)[0] === "sleep");
  expect(environVariable(bare.pid, "PATH")).toBeUndefined(); // an empty environment shows nothing
});

test("readStat's startTime tells a process from a later one with the same pid", async () => {
  const self = readStat(process.pid);
  const child = Bun.spawn(["sleep", "30"]);
  started.push(child);
  const stat = await waitFor(() => readStat(child.pid));
  expect(stat.startTime).toBeGreaterThan(0);
  expect(stat.startTime).toBeGreaterThanOrEqual(self?.startTime ?? Number.POSITIVE_INFINITY);
});
