/**
 * One orphan guard per host: every supervised child registers with the same guard, which is gone
 * once nothing is registered, takes over again when killed, and, when the host dies by SIGKILL,
 * stops every registered group with its own terminateTimeout. And the waiting of many stops at
 * once is one shared /proc scan per tick.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { environVariable } from "@specter/core";
import { commandLine, descendants, isAlive } from "@specter/core/testing";
import { GUARD_NAME, hostGuard, SCRIPT } from "../src/orphan-guard.ts";
import { scanCount } from "../src/run-tree.ts";
import { waitFor } from "../src/testing/index.ts";
import { killAll, survivors } from "./escapees.ts";
import { cleanup, collect, fixture, make } from "./helpers.ts";

const strays: number[] = [];
afterEach(async () => {
  killAll(strays.splice(0));
  await cleanup();
});

/** The guards below this process. */
const guards = () => descendants().filter((pid) => commandLine(pid).includes(GUARD_NAME));

describe("one orphan guard per host", () => {
  test("20 children: 21 processes, one of them the guard; none once all are stopped", async () => {
    const procs = Array.from({ length: 20 }, (_, i) => make(`many-${i}`).start(["sleep", "30"]));
    const guard = hostGuard.pid as number;
    await waitFor(() => commandLine(guard).includes(GUARD_NAME), { message: "the guard exec'd" });
    expect(descendants().length).toBe(21);
    expect(guards()).toEqual([guard]);
    // Its argv names the host, so a test can tell the guards of several hosts apart.
    expect(commandLine(guard).slice(-2)).toEqual([GUARD_NAME, String(process.pid)]);
    await Promise.all(procs.slice(0, 19).map((p) => p.stop()));
    expect(hostGuard.pid).toBe(guard); // still guarding the last one
    await procs[19]?.stop();
    expect(hostGuard.pid).toBeUndefined();
    expect(isAlive(guard)).toBe(false);
    expect(descendants()).toEqual([]);
    // The next start gets a new one.
    make("again").start(["sleep", "30"]);
    expect(hostGuard.pid).toBeGreaterThan(0);
    expect(hostGuard.pid).not.toBe(guard);
  });

  test("a crash loop keeps one guard through its restarts; it goes when the loop gives up", async () => {
    const proc = make("crash-loop", {
      restart: { policy: "always", maxRestarts: 4, initialBackoff: "10ms", maxBackoff: "10ms" },
    });
    const seen = new Set<number | undefined>();
    proc.on("spawn", () => {
      seen.add(hostGuard.pid);
    });
    proc.on("restart", () => {
      seen.add(hostGuard.pid); // during the backoff, no group registered
    });
    proc.start(["sh", "-c", "exit 1"]);
    const exit = await proc.wait("5s");
    expect(exit?.exitCode).toBe(1);
    expect(proc.state).toBe("failed");
    expect(proc.health().restarts).toBe(4);
    expect(seen.size).toBe(1);
    expect([...seen][0]).toBeGreaterThan(0);
    expect(hostGuard.pid).toBeUndefined();
    expect(descendants()).toEqual([]);
  });

  test("hostShutdown: false does not register: no guard", async () => {
    make("unguarded", { hostShutdown: false }).start(["sleep", "30"]);
    expect(hostGuard.pid).toBeUndefined();
    expect(descendants().length).toBe(1);
  });

  test("a tree that outlives SIGKILL's killTimeout stays guarded until gone; then the guard goes", async () => {
    // 1.5 GB to free: its end takes longer than a killTimeout of 1 ms, so stop() reports it stuck
    // (as it would a process in state D). Once it is gone, its group id is free for reuse: the
    // guard must forget it, and with nothing else registered, end.
    const proc = make("slow-to-die", { terminateTimeout: 0, killTimeout: 1 });
    const errors: string[] = [];
    proc.on("error", (error) => {
      errors.push(error.name);
    });
    const out = collect(proc, "stdout");
    const hog = "const b = Buffer.alloc(1.5e9, 1); console.log('ready'); setInterval(() => b, 1e6)";
    proc.start([process.execPath, "-e", hog], { stdout: "pipe" });
    await waitFor(() => out.lines.includes("ready"), { timeout: 10_000 });
    const guard = hostGuard.pid as number;
    expect(await proc.stop().catch((error: Error) => error.name)).toBe("StopTimeoutError");
    await waitFor(() => errors.includes("StopTimeoutError"), { timeout: 2_000 });
    await waitFor(() => hostGuard.pid === undefined, {
      timeout: 3_000,
      message: "the guard forgot the group once it was gone, and ended",
    });
    await waitFor(() => !isAlive(guard), { message: "the guard was killed" });
  }, 15_000);

  test("a guard killed by someone else is replaced", async () => {
    make("guarded").start(["sleep", "30"]);
    const first = hostGuard.pid as number;
    await Bun.sleep(1_100); // a guard that dies younger than 1 s is not replaced (a broken sh)
    process.kill(first, "SIGKILL");
    const second = await waitFor(() => {
      const pid = hostGuard.pid;
      return pid !== undefined && pid !== first ? pid : undefined;
    });
    await waitFor(() => commandLine(second).includes(GUARD_NAME));
    expect(guards()).toEqual([second]);
  }, 10_000);
});

/** The first line `child` prints on stdout. */
async function firstLine(child: { stdout: ReadableStream<Uint8Array> }): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    const end = text.indexOf("\n");
    if (end !== -1) return text.slice(0, end);
  }
  return text;
}

/**
 * Starts the guard-host fixture with `args` and reads its report: the guard's pid and the pids of
 * each run's tree. Everything it names is registered to be killed after the test.
 */
async function guardHost(...args: string[]) {
  const host = Bun.spawn([process.execPath, fixture("guard-host.ts"), ...args], {
    stdout: "pipe",
    stderr: "inherit",
  });
  strays.push(host.pid);
  const report = JSON.parse(await firstLine(host)) as { guard: number; pids: number[][] };
  strays.push(report.guard, ...report.pids.flat());
  return { host, report };
}

describe("the host dies by SIGKILL", () => {
  test("the guard stops every group, each after its own terminateTimeout", async () => {
    const { host, report } = await guardHost("200ms", "1500ms");
    const [short, long] = report.pids as [number[], number[]];
    expect(short.length).toBe(2); // the child and its grandchild, both ignoring SIGTERM
    expect([...short, ...long].every(isAlive)).toBe(true);
    host.kill("SIGKILL");
    await host.exited;
    const killedAt = performance.now();
    await waitFor(() => survivors(short).length === 0, { timeout: 3_000 });
    const shortGone = performance.now() - killedAt;
    expect(survivors(long).length).toBe(2); // its 1.5 s are not up yet
    await waitFor(() => survivors(long).length === 0, { timeout: 5_000 });
    const longGone = performance.now() - killedAt;
    await waitFor(() => !isAlive(report.guard), { message: "the guard ended after its work" });
    expect(shortGone).toBeGreaterThanOrEqual(150);
    expect(shortGone).toBeLessThan(1_400);
    expect(longGone).toBeGreaterThanOrEqual(1_400);
    expect(longGone).toBeLessThan(4_000);
  }, 15_000);

  test("the guard sends each group its own killSignal", async () => {
    const { host, report } = await guardHost("5s:SIGINT");
    const pids = report.pids.flat();
    host.kill("SIGKILL");
    await host.exited;
    const killedAt = performance.now();
    await waitFor(() => survivors(pids).length === 0, { timeout: 4_000 });
    // It ignores SIGTERM: only SIGINT ends it before its 5 s terminateTimeout.
    expect(performance.now() - killedAt).toBeLessThan(2_000);
  }, 15_000);
});

describe("the guard's escapees", () => {
  test("a marked daemon out of the session gets its own run's killSignal, not SIGTERM", async () => {
    const { host, report } = await guardHost("5s:SIGINT:escape");
    const pids = report.pids.flat();
    host.kill("SIGKILL");
    await host.exited;
    const killedAt = performance.now();
    await waitFor(() => survivors(pids).length === 0, { timeout: 7_000 });
    // The daemon ignores SIGTERM: only SIGINT ends it before the 5 s terminateTimeout.
    expect(performance.now() - killedAt).toBeLessThan(2_000);
  }, 15_000);
});

describe("what the guard must leave alone", () => {
  test("a hostShutdown: false process of the same host outlives it, marker and all", async () => {
    const { host, report } = await guardHost("200ms", "free");
    const [guarded, free] = report.pids as [number[], number[]];
    // It carries the host's run marker like every run: the guard must not take that for its own.
    await waitFor(() => environVariable(free[0] as number, "SPECTER_RUN"), {
      message: "the free sleep shows its marker (once it has exec'd)",
    });
    host.kill("SIGKILL");
    await host.exited;
    await waitFor(() => survivors(guarded).length === 0, { timeout: 3_000 });
    await waitFor(() => !isAlive(report.guard), { message: "the guard ended after its work" });
    expect(survivors(free)).toEqual(free);
  }, 15_000);

  test("the guard's argv does not show the run markers (cmdline is world-readable)", async () => {
    const proc = make("secret").start(["sleep", "30"]);
    const guard = hostGuard.pid as number;
    await waitFor(() => commandLine(guard).includes(GUARD_NAME));
    const marker = await waitFor(() => environVariable(proc.pid as number, "SPECTER_RUN"));
    const shown = commandLine(guard).join(" ");
    for (const part of marker.split(/[-.,]/).filter((p) => p.length >= 6)) {
      expect(shown).not.toContain(part);
    }
  });
});

describe("many stops at once share their /proc scans", () => {
  test("start() and health() never scan /proc for the tree (only a stop or an exit does)", async () => {
    const before = scanCount();
    const procs = Array.from({ length: 20 }, (_, i) => make(`cheap-${i}`).start(["sleep", "30"]));
    for (const proc of procs) proc.health();
    await Bun.sleep(20);
    for (const proc of procs) proc.health();
    expect(scanCount()).toBe(before);
    await Promise.all(procs.map((p) => p.stop()));
    expect(scanCount() - before).toBeGreaterThan(0);
  });

  test("20 lingering groups (leader gone, grandchild ignoring SIGTERM) for 1 s: few scans", async () => {
    const argv = [
      "sh",
      "-c",
      "sh -c \"trap '' TERM; echo ready; exec sleep 300\" & exec sleep 300",
    ];
    const procs = Array.from({ length: 20 }, (_, i) =>
      make(`lingering-${i}`, { terminateTimeout: "1s" }).start(argv, { stdout: "pipe" }),
    );
    const outs = procs.map((p) => collect(p, "stdout"));
    await waitFor(() => outs.every((o) => o.lines.includes("ready")), { timeout: 5_000 });
    const before = scanCount();
    const started = performance.now();
    const exits = await Promise.all(procs.map((p) => p.stop()));
    const took = performance.now() - started;
    const scans = scanCount() - before;
    expect(exits.every((e) => e?.killed === true)).toBe(true);
    expect(took).toBeGreaterThanOrEqual(990);
    // Each polling on its own every 10 ms would be 20 * 100 = 2,000 scans; shared and backing
    // off to 100 ms, about 20 (18 to 20 here).
    expect(scans).toBeLessThan(60);
  }, 10_000);
});

describe("the guard's script on its own", () => {
  test("ends the registered groups and marked processes, not a removed run's, with each's signal", async () => {
    const tokA = "aaaaaaaaaaaaaaaa-1.0123456789abcdef";
    const tokB = "aaaaaaaaaaaaaaaa-10.fedcba9876543210";
    const spawn = (marker: string) =>
      Bun.spawn(["sleep", "30"], {
        env: { ...process.env, SPECTER_RUN: marker },
        detached: true,
        stdout: "ignore",
        stderr: "ignore",
      });
    const groupA = spawn(tokA); // registered, then removed: left alone
    const groupB = spawn(tokB); // registered with SIGINT, which ends a sleep
    const markedA = spawn(`outer-1.x,${tokA}`); // outside every group, A's marker
    const markedB = spawn(`outer-1.x,${tokB}`); // outside every group, B's marker
    const all = [groupA, groupB, markedA, markedB];
    strays.push(...all.map((p) => p.pid));
    await waitFor(() => all.every((p) => environVariable(p.pid, "SPECTER_RUN")));
    const guard = Bun.spawn(["sh", "-c", SCRIPT, GUARD_NAME, String(process.pid)], {
      stdin: "pipe",
      stdout: "ignore",
      stderr: "ignore",
    });
    strays.push(guard.pid);
    guard.stdin.write(`+ ${groupA.pid} 50 15 ${tokA}\n+ ${groupB.pid} 50 2 ${tokB}\n- ${tokA}\n`);
    await guard.stdin.end();
    await guard.exited;
    await Promise.all([groupB.exited, markedB.exited]);
    expect(groupB.signalCode).toBe("SIGINT");
    expect(markedB.signalCode).toBe("SIGINT");
    expect(isAlive(groupA.pid)).toBe(true);
    expect(isAlive(markedA.pid)).toBe(true);
    killAll([groupA.pid, markedA.pid]);
  }, 10_000);
});
