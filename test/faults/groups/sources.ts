/**
 * Fault group: sources that hold resources (issue 15, item 3). A source opens a file descriptor
 * and starts a child at every poll (registering the fd as `{ fd, [Symbol.dispose]() }`), then hangs
 * until it is killed; after 20 kills, during the run and after `stop()`, what is left in the host?
 * With `context.onClose` in a Worker, with `isolation: "process"` without any registration, and
 * after one normal stop. Also: a cleanup registered after stop(), and a crash-looping subprocess
 * at the backoff floor.
 */
import { closeSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandLine, descendants, isAlive, waitFor } from "@specter/core/testing";
import { OptionsError, type SourceContext, Watcher } from "@specter/watcher";
import {
  type Held,
  lateProgress,
} from "../../../packages/watcher/test/fixtures/holds-resources.ts";
import { group, pool, since } from "../lib.ts";

const g = group("sources");
const CRASHES = new URL("../fixtures/crash-loop.ts", import.meta.url);
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
const marked = (mark: string) => () =>
  descendants().filter((p) => commandLine(p).join(" ") === `sleep ${mark}`);
const children = marked("3001");

/** Ends what a scenario leaked (after measuring it), so the next one starts from nothing. */
async function sweep(): Promise<void> {
  for (const fd of leakedFds()) closeSync(fd);
  for (const pid of children()) process.kill(pid, "SIGKILL");
  await waitFor(() => children().length === 0, { timeout: 3000 });
}

type Place = { isolation: "process" } | { pool: ReturnType<typeof pool> };

/**
 * Hung polls until KILLS kills, then stop(): what is left during the run (just before stop(), once
 * the last kill's resources had up to 1 s to go) and after it. Each kill ends two polls: the one
 * that timed out and its retry, queued on the same worker or subprocess before the kill.
 */
async function killed(register: boolean, place: Place) {
  const w = new Watcher("holds-then-hangs", {
    poll: { module: HOLDS, export: "holdThenHang", args: [register] },
    interval: "1ms",
    timeout: "200ms",
    initialBackoff: "10ms",
    maxBackoff: "10ms",
    ...place,
  });
  let kills = 0;
  w.onError((e) => void (e.phase === "worker" && kills++));
  const t0 = performance.now();
  w.start();
  await waitFor(() => kills >= KILLS, { timeout: 30_000 });
  // The polls of the current cycle (at most 2) may hold theirs; earlier cycles' must be gone.
  const settled = () => children().length <= 2 && leakedFds().length <= 2;
  await waitFor(settled, { timeout: 1000 }).catch(() => {});
  const during = { fds: leakedFds().length, children: children().length };
  await w.stop();
  const ms = since(t0);
  // Give the OS a moment to reap what was killed; nothing is awaited that could hide a leak.
  await waitFor(() => children().length === 0, { timeout: 1000 }).catch(() => {});
  const left = { fds: leakedFds().length, children: children().length, ms };
  const subprocesses = descendants().length - left.children;
  await sweep();
  return { ...left, during, kills, subprocesses, errors: w.health().errorCount };
}

await g.check(
  `${KILLS} kills of a worker source holding an fd and a child, cleanup registered with onClose`,
  "at each kill, not at stop(): the main thread kills a killed Worker's registered children and, once its thread has ended, closes its registered fds (those still naming the same file); during the run only the current polls' (≤ 2) are open; 0 and 0 after stop()",
  async () => {
    const r = await killed(true, { pool: pool({ size: 1 }) });
    return {
      figure: `${r.kills} kills (${r.errors} failed polls) in ${r.ms} ms → just before stop(): ${r.during.children} children, ${r.during.fds} fds alive (was 10 children after 5 kills, 2 more per kill, until stop()); after stop(): ${r.children} children, ${r.fds} fds left (was 20 and 20)`,
      ok: r.during.children <= 2 && r.during.fds <= 2 && r.children === 0 && r.fds === 0,
    };
  },
);

await g.check(
  `${KILLS} kills of a worker source holding an fd and a child, nothing registered`,
  "unchanged: a Worker shares the host process, so what an unregistered source opened stays (the README says so)",
  async () => {
    const r = await killed(false, { pool: pool({ size: 1 }) });
    return {
      figure: `${r.kills} kills (${r.errors} failed polls) → just before stop(): ${r.during.children} children, ${r.during.fds} fds; after stop(): ${r.children} children, ${r.fds} fds left`,
      ok: r.children > 0 && r.fds > 0,
    };
  },
);

await g.check(
  `${KILLS} kills of an isolation "process" source holding an fd and a child, nothing registered`,
  "the OS reclaims everything at each kill: during the run only the current polls' (≤ 2) children; 0 fds, 0 children, 0 subprocesses after stop()",
  async () => {
    const r = await killed(false, { isolation: "process" });
    return {
      figure: `${r.kills} kills (${r.errors} failed polls) in ${r.ms} ms → just before stop(): ${r.during.children} children, ${r.during.fds} fds; after stop(): ${r.children} children, ${r.fds} fds, ${r.subprocesses} subprocesses left`,
      ok:
        r.during.children <= 2 &&
        r.during.fds === 0 &&
        r.children === 0 &&
        r.fds === 0 &&
        r.subprocesses === 0,
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

await g.check(
  "a poll that ignores its abort, stop() at once, then 300 ms later it starts a child (sleep 3002) and registers it",
  "the cleanup runs at once (function source; a Worker kept alive by a neighbour); a process source is ended by stop() before it can start one",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "specter-late-"));
    const late = marked("3002");
    /** Starts a watcher, stops it once its poll started, then counts `sleep 3002`s. */
    const scenario = async (options: object, started: () => boolean, acquired: () => boolean) => {
      const w = new Watcher("late", { interval: "1h", ...options } as never);
      w.start();
      await waitFor(started, { timeout: 5000 });
      await w.stop();
      await waitFor(acquired, { timeout: 3000 }).catch(() => {});
      await waitFor(() => late().length === 0, { timeout: 1000 }).catch(() => {});
      const left = late().length;
      for (const pid of late()) process.kill(pid, "SIGKILL");
      return left;
    };
    let fnStarted = false;
    let fnChild = 0;
    const fn = await scenario(
      {
        poll: async ({ onClose }: SourceContext) => {
          fnStarted = true;
          await Bun.sleep(300);
          const child = Bun.spawn(["sleep", "3002"], { stdout: "ignore", stderr: "ignore" });
          onClose?.(child);
          fnChild = child.pid;
        },
      },
      () => fnStarted,
      () => fnChild > 0,
    );
    const shared = pool({ size: 1 });
    const neighbour = new Watcher("neighbour", {
      poll: { module: HOLDS, export: "richValue" },
      interval: "10ms",
      pool: shared,
    });
    neighbour.start();
    const inWorker = join(dir, "worker");
    const worker = await scenario(
      { poll: { module: HOLDS, export: "registerLate", args: [inWorker] }, pool: shared },
      () => lateProgress(inWorker).host !== undefined,
      () => lateProgress(inWorker).child !== undefined,
    );
    const workerAlive = shared.stats().workers;
    await neighbour.stop();
    const inProcess = join(dir, "process");
    const proc = await scenario(
      { poll: { module: HOLDS, export: "registerLate", args: [inProcess] }, isolation: "process" },
      () => lateProgress(inProcess).host !== undefined,
      () => false,
    );
    const acquiredInProcess = lateProgress(inProcess).child !== undefined;
    rmSync(dir, { recursive: true, force: true });
    return {
      figure: `sleep 3002 left running: function ${fn}, worker ${worker} (its worker still running: ${workerAlive}), process ${proc} (acquired after stop: ${acquiredInProcess}); was 1 in a worker and on the main thread`,
      ok: fn === 0 && worker === 0 && workerAlive === 1 && proc === 0 && !acquiredInProcess,
    };
  },
);

await g.check(
  'a crash-looping isolation "process" source (process.exit(1) at every poll) at the backoff floor, initialBackoff = maxBackoff = 10ms, for 3 s',
  "backoff options under 10 ms are refused (OptionsError naming the option); at the floor the loop spawns at most 100 subprocesses a second (less the spawn time)",
  async () => {
    const options = {
      poll: { module: CRASHES, export: "exitsAtOnce" },
      interval: "1h",
      isolation: "process" as const,
    };
    let refused = "accepted";
    try {
      new Watcher("storm", { ...options, initialBackoff: "1ms", maxBackoff: "1ms" });
    } catch (error) {
      if (error instanceof OptionsError) refused = error.issues.map((i) => i.option).join(", ");
    }
    const w = new Watcher("storm", { ...options, initialBackoff: "10ms", maxBackoff: "10ms" });
    w.onError(() => {});
    const t0 = performance.now();
    w.start();
    await Bun.sleep(3000); // the measured window itself
    const deaths = w.health().errorCount;
    const seconds = (performance.now() - t0) / 1000;
    await w.stop();
    await waitFor(() => descendants().length === 0, { timeout: 3000 });
    const perSecond = Math.round(deaths / seconds);
    return {
      figure: `1ms refused (${refused}); at 10ms: ${deaths} subprocesses spawned and crashed in ${seconds.toFixed(1)} s = ${perSecond}/s (was 289 in 3 s = 96/s at 1 ms)`,
      ok: refused === "initialBackoff, maxBackoff" && perSecond <= 100,
    };
  },
);

await g.done();
