import { afterEach, expect, test } from "bun:test";
import {
  commandLine,
  descendants,
  groupHasLiveMember,
  isAlive,
  liveProcesses,
  openFds,
  readStat,
  threadCount,
} from "../src/index.ts";
import { waitFor } from "../src/testing/index.ts";

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
  expect(stat?.state).toMatch(/^[RS]$/);
  expect(stat?.pgrp).toBeGreaterThan(0);
  expect(stat?.session).toBeGreaterThan(0);
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
