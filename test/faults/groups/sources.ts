/**
 * Fault group: sources that hold resources (issue 15, item 3). A source opens a file descriptor
 * and starts a child at every poll (registering the fd as `{ fd, [Symbol.dispose]() }`), then hangs
 * until it is killed; after 20 kills and `stop()`,
 * what is left in the host? With `context.onClose` in a Worker, with `isolation: "process"`
 * without any registration, and after one normal stop.
 */
import { closeSync, readdirSync, readlinkSync } from "node:fs";
import { commandLine, descendants, isAlive, waitFor } from "@specter/core/testing";
import { Watcher } from "@specter/watcher";
import type { Held } from "../../../packages/watcher/test/fixtures/holds-resources.ts";
import { group, pool, since } from "../lib.ts";

const g = group("sources");
const HOLDS = new URL(
  "../../../packages/watcher/test/fixtures/holds-resources.ts",
  import.meta.url,
);
const KILLS = 20;

/** The host's fds open on /dev/null: the sources' files (this process opens none otherwise). */
function devNullFds(): number[] {
  const fds: number[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === "/dev/null") fds.push(Number(name));
    } catch {
      // Closed while listing.
    }
  }
  return fds;
}
const baseFds = new Set(devNullFds());
const leakedFds = () => devNullFds().filter((fd) => !baseFds.has(fd));
/** The sources' `sleep 3001` children anywhere below this process. */
const children = () => descendants().filter((p) => commandLine(p).join(" ") === "sleep 3001");

/** Ends what a scenario leaked (after measuring it), so the next one starts from nothing. */
async function sweep(): Promise<void> {
  for (const fd of leakedFds()) closeSync(fd);
  for (const pid of children()) process.kill(pid, "SIGKILL");
  await waitFor(() => children().length === 0, { timeout: 3000 });
}

type Place = { isolation: "process" } | { pool: ReturnType<typeof pool> };

/** KILLS hung polls killed, then stop(): what is left. */
async function killed(register: boolean, place: Place) {
  const w = new Watcher("holds-then-hangs", {
    poll: { module: HOLDS, export: "holdThenHang", args: [register] },
    interval: "1ms",
    timeout: "200ms",
    initialBackoff: "10ms",
    maxBackoff: "10ms",
    ...place,
  });
  w.onError(() => {});
  const t0 = performance.now();
  w.start();
  await waitFor(() => w.health().errorCount >= KILLS, { timeout: 30_000 });
  await w.stop();
  const ms = since(t0);
  // Give the OS a moment to reap what was killed; nothing is awaited that could hide a leak.
  await waitFor(() => children().length === 0, { timeout: 1000 }).catch(() => {});
  const left = { fds: leakedFds().length, children: children().length, ms };
  const subprocesses = descendants().length - left.children;
  await sweep();
  return { ...left, subprocesses, errors: w.health().errorCount };
}

await g.check(
  `${KILLS} kills of a worker source holding an fd and a child, cleanup registered with onClose`,
  "0 children and 0 fds after stop(): the main thread kills a killed Worker's registered children and, once its thread has ended, closes its registered fds (those still naming the same file)",
  async () => {
    const r = await killed(true, { pool: pool({ size: 1 }) });
    return {
      figure: `${r.errors} failed polls in ${r.ms} ms → after stop(): ${r.children} children, ${r.fds} fds left (was 20 and 20)`,
      ok: r.children === 0 && r.fds === 0,
    };
  },
);

await g.check(
  `${KILLS} kills of a worker source holding an fd and a child, nothing registered`,
  "unchanged: a Worker shares the host process, so what an unregistered source opened stays (the README says so)",
  async () => {
    const r = await killed(false, { pool: pool({ size: 1 }) });
    return {
      figure: `after stop(): ${r.children} children, ${r.fds} fds left (${r.errors} failed polls)`,
      ok: r.children > 0 && r.fds > 0,
    };
  },
);

await g.check(
  `${KILLS} kills of an isolation "process" source holding an fd and a child, nothing registered`,
  "the OS reclaims everything: 0 fds, 0 children, 0 subprocesses after stop()",
  async () => {
    const r = await killed(false, { isolation: "process" });
    return {
      figure: `${r.errors} failed polls in ${r.ms} ms → after stop(): ${r.children} children, ${r.fds} fds, ${r.subprocesses} subprocesses left`,
      ok: r.children === 0 && r.fds === 0 && r.subprocesses === 0,
    };
  },
);

/** One normal stop of a source that opened an fd and a child at its first poll. */
async function normalStop(register: boolean, options: object) {
  const w = new Watcher<Held>("holds-once", {
    poll: { module: HOLDS, export: "holdOnce", args: [register] },
    interval: "10ms",
    ...options,
  });
  w.start();
  await waitFor(() => w.health().delivered >= 2, { timeout: 5000 });
  await w.stop();
  const left = { fds: leakedFds().length, children: children().length };
  await sweep();
  return left;
}

await g.check(
  "one normal stop of a source holding an fd and a child",
  "0 fds and 0 children left: cleanups registered with onClose run on stop (worker); a process source needs none",
  async () => {
    const worker = await normalStop(true, { worker: "dedicated" });
    const unregistered = await normalStop(false, { worker: "dedicated" });
    const proc = await normalStop(false, { isolation: "process" });
    return {
      figure: `worker + onClose: ${worker.fds} fds, ${worker.children} children; process, nothing registered: ${proc.fds} fds, ${proc.children} children (worker, nothing registered: ${unregistered.fds} fd, ${unregistered.children} child, as before)`,
      ok: worker.fds + worker.children + proc.fds + proc.children === 0,
    };
  },
);

await g.check(
  'isolation "process": a poll that hangs (timeout 200ms)',
  "the subprocess and its group are killed (timeout + 100 ms grace); the next poll runs in a new subprocess",
  async () => {
    const w = new Watcher<Held>("hangs-later", {
      poll: { module: HOLDS, export: "holdThenHangLater", args: [false] },
      interval: "10ms",
      timeout: "200ms",
      initialBackoff: "10ms",
      isolation: "process",
    });
    w.onError(() => {});
    const values: Held[] = [];
    w.subscribe((v) => void values.push(v));
    w.start();
    await waitFor(() => values.length === 1, { timeout: 5000 });
    const first = values[0] as Held;
    const t0 = performance.now();
    await waitFor(() => w.health().errorCount > 0, { timeout: 5000 });
    await waitFor(() => !isAlive(first.host) && !isAlive(first.child), { timeout: 3000 });
    const gone = since(t0);
    await waitFor(() => values.length === 2, { timeout: 5000 });
    const second = values[1] as Held;
    await w.stop();
    await waitFor(() => descendants().length === 0, { timeout: 3000 });
    return {
      figure: `subprocess ${first.host} and its child gone ${gone} ms after the hung poll started (timeout 200 ms + grace 100 ms); next poll in subprocess ${second.host}; after stop(): ${descendants().length} processes`,
      ok: second.host !== first.host && gone < 1000,
    };
  },
);

await g.check(
  'isolation "process": the host is SIGKILLed while its source spins in synchronous code',
  "the source subprocess and its group end by themselves (a guard in the group sees the host's pipe close)",
  async () => {
    const host = Bun.spawn(
      [process.execPath, new URL("../fixtures/process-source-host.ts", import.meta.url).pathname],
      { stdout: "pipe", stderr: "inherit" },
    );
    const reader = host.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    const pids = new TextDecoder().decode(value).trim().split(" ").map(Number);
    host.kill("SIGKILL");
    await host.exited;
    const t0 = performance.now();
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { timeout: 3000 });
    return {
      figure: `${pids.length} processes (source subprocess, guard) gone ${since(t0)} ms after the host died`,
      ok: pids.length >= 2,
    };
  },
);

await g.done();
