import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProcessError, ProcessEvents, ProcessState } from "../src/index.ts";
import { resolveProcessOptions } from "../src/options.ts";
import { RestartTracker } from "../src/restart.ts";
import { fakeChild, waitFor } from "../src/testing/index.ts";
import { cleanup, make } from "./helpers.ts";

afterEach(cleanup);

function record(proc: ReturnType<typeof make>) {
  const events: string[] = [];
  const spawns: ProcessEvents["spawn"][0][] = [];
  const restarts: ProcessEvents["restart"][0][] = [];
  const giveUps: ProcessEvents["giveUp"][0][] = [];
  const errors: ProcessError[] = [];
  const states: ProcessState[] = [];
  proc.on("spawn", (info) => {
    events.push("spawn");
    spawns.push(info);
  });
  proc.on("exit", () => {
    events.push("exit");
  });
  proc.on("restart", (info) => {
    events.push("restart");
    restarts.push(info);
  });
  proc.on("giveUp", (info) => {
    events.push("giveUp");
    giveUps.push(info);
  });
  proc.on("error", (e) => {
    errors.push(e);
  });
  proc.on("state", (s) => {
    states.push(s);
  });
  return { events, spawns, restarts, giveUps, errors, states };
}

const quiet = { stdout: "ignore", stderr: "ignore" } as const;

describe("restart policy", () => {
  test("a crash loop stops at maxRestarts within the window and marks the process failed", async () => {
    const proc = make("crashy", {
      restart: {
        policy: "on-failure",
        maxRestarts: 3,
        window: "30s",
        initialBackoff: "20ms",
        maxBackoff: "1s",
      },
    });
    const r = record(proc);
    proc.start(await fakeChild({ exitAfter: "20ms", exitCode: 3 }), quiet);
    const exit = await proc.wait("10s");
    expect(exit).toMatchObject({ exitCode: 3, stopped: false });
    expect(proc.state).toBe("failed");
    expect(r.events).toEqual([
      "spawn",
      "exit",
      "restart",
      "spawn",
      "exit",
      "restart",
      "spawn",
      "exit",
      "restart",
      "spawn",
      "exit",
      "giveUp",
    ]);
    expect(r.restarts.map((x) => [x.restarts, x.delay])).toEqual([
      [1, 20],
      [2, 40],
      [3, 80],
    ]);
    expect(r.spawns.map((s) => s.restarts)).toEqual([0, 1, 2, 3]);
    expect(new Set(r.spawns.map((s) => s.pid)).size).toBe(4);
    expect(r.giveUps).toEqual([{ restarts: 3, window: 30_000, exit }]);
    expect(proc.health()).toMatchObject({ state: "failed", restarts: 3, pid: null });
    expect(r.states).toEqual([
      "running",
      "restarting",
      "running",
      "restarting",
      "running",
      "restarting",
      "running",
      "failed",
    ]);
    // start() after giving up begins afresh.
    proc.start(["sleep", "30"]);
    expect(proc.health().restarts).toBe(0);
  });

  test("maxRestarts: 0 gives up on the first crash", async () => {
    const proc = make("once", { restart: { policy: "always", maxRestarts: 0 } });
    const r = record(proc);
    proc.start(await fakeChild({ exitAfter: 0, exitCode: 1 }));
    await proc.wait("5s");
    expect(r.events).toEqual(["spawn", "exit", "giveUp"]);
    expect(proc.state).toBe("failed");
  });

  test('"on-failure" does not restart after exit code 0; "no" never restarts', async () => {
    const ok = make("ok", { restart: "on-failure" });
    const rOk = record(ok);
    ok.start(await fakeChild({ exitAfter: 0 }));
    await ok.wait("5s");
    expect(rOk.events).toEqual(["spawn", "exit"]);
    expect(ok.state).toBe("exited");

    const no = make("no", { restart: "no" });
    const rNo = record(no);
    no.start(await fakeChild({ exitAfter: 0, exitCode: 9 }));
    expect((await no.wait("5s"))?.exitCode).toBe(9);
    expect(rNo.events).toEqual(["spawn", "exit"]);
    expect(no.state).toBe("exited");
  });

  test('"always" restarts after exit code 0; stop() during the backoff cancels the restart', async () => {
    const proc = make("always", {
      restart: { policy: "always", initialBackoff: "5s", maxBackoff: "5s" },
    });
    const r = record(proc);
    proc.start(await fakeChild({ exitAfter: 0 }));
    await waitFor(() => proc.state === "restarting");
    expect(proc.running).toBe(false);
    expect(proc.poll()).toBeNull();
    const nextIn = proc.health().nextRestartIn as number;
    expect(nextIn).toBeGreaterThan(4_000);
    expect(nextIn).toBeLessThanOrEqual(5_000);
    const started = performance.now();
    const exit = await proc.stop();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(exit).toMatchObject({ exitCode: 0, stopped: false });
    expect(proc.state).toBe("stopped");
    expect(proc.health().nextRestartIn).toBeNull();
    expect(r.events).toEqual(["spawn", "exit", "restart"]);
  });

  test("stream watchers stay attached across restarts", async () => {
    const proc = make("restarting", {
      restart: { policy: "on-failure", maxRestarts: 2, initialBackoff: "10ms" },
    });
    const lines: string[] = [];
    proc.watchStream("stdout", (line) => {
      lines.push(line);
    });
    const errLines: string[] = [];
    proc.watchStream("stderr", (line) => {
      errLines.push(line);
    });
    const r = record(proc);
    // Each run prints both lines at once and crashes (exit code 1) 10 ms after it started.
    const argv = await fakeChild({ stdout: ["started"], stderr: ["crashing"], crashAfter: "10ms" });
    proc.start(argv, { stdout: "pipe", stderr: "pipe" });
    await proc.wait("10s");
    expect(new Set(r.spawns.map((s) => s.pid)).size).toBe(3);
    expect(lines).toEqual(["started", "started", "started"]);
    expect(errLines).toEqual(["crashing", "crashing", "crashing"]);
    expect(proc.health().streams.stdout.lines).toBe(3);
  });

  test("stop() while a restarted child runs stops it for good", async () => {
    const proc = make("restarted", {
      restart: { policy: "always", initialBackoff: "10ms" },
    });
    const r = record(proc);
    proc.start(["sh", "-c", '[ -e "$MARK" ] && exec sleep 30; touch "$MARK"; exit 1'], {
      env: { PATH: process.env.PATH, MARK: join(scratch(), "mark") },
    });
    await waitFor(() => r.spawns.length === 2 && proc.running);
    const exit = await proc.stop();
    expect(exit).toMatchObject({ signalCode: "SIGTERM", stopped: true });
    expect(r.events).toEqual(["spawn", "exit", "restart", "spawn", "exit"]);
    expect(proc.state).toBe("stopped");
    expect(proc.health().restarts).toBe(1);
  });

  test("a restart that cannot spawn is reported and counts towards maxRestarts", async () => {
    const dir = scratch();
    const program = join(dir, "vanishing.sh");
    writeFileSync(program, "#!/bin/sh\nexit 2\n");
    chmodSync(program, 0o755);
    const proc = make("vanishing", {
      restart: { policy: "on-failure", maxRestarts: 2, initialBackoff: "10ms" },
    });
    const r = record(proc);
    proc.on("exit", () => rmSync(program, { force: true }));
    proc.start([program]);
    await proc.wait("5s");
    expect(r.events).toEqual(["spawn", "exit", "restart", "restart", "giveUp"]);
    expect(r.errors.map((e) => [e.name, e.phase])).toEqual([
      ["SpawnError", "spawn"],
      ["SpawnError", "spawn"],
    ]);
    expect(r.errors[0]?.message).toContain("no such file");
    expect(proc.state).toBe("failed");
  });
});

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "specter-process-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("RestartTracker", () => {
  const config = (restart: object) => resolveProcessOptions("t", { restart }).restart;

  test("counts restarts in a sliding window", () => {
    const t = new RestartTracker(
      config({
        policy: "always",
        maxRestarts: 2,
        window: "10s",
        initialBackoff: 100,
        maxBackoff: 1000,
      }),
    );
    expect(t.decide(true, 5, 0)).toEqual({ action: "restart", delay: 100 });
    expect(t.decide(true, 5, 1_000)).toEqual({ action: "restart", delay: 200 });
    expect(t.decide(true, 5, 2_000)).toEqual({ action: "giveUp" });
    // Once the first restart is older than the window, one more is allowed.
    expect(t.decide(true, 5, 10_001)).toEqual({ action: "restart", delay: 400 });
    expect(t.total).toBe(3);
  });

  test("backoff doubles up to maxBackoff and starts over after a run as long as the window", () => {
    const t = new RestartTracker(
      config({
        policy: "on-failure",
        maxRestarts: 100,
        window: "1s",
        initialBackoff: 100,
        maxBackoff: 300,
      }),
    );
    const delays = [0, 1, 2, 3].map((i) => (t.decide(true, 5, i) as { delay: number }).delay);
    expect(delays).toEqual([100, 200, 300, 300]);
    expect(t.decide(true, 1_000, 10)).toEqual({ action: "restart", delay: 100 });
  });

  test("policies", () => {
    expect(new RestartTracker(config({ policy: "no" })).decide(true, 0)).toEqual({
      action: "none",
    });
    expect(new RestartTracker(config({ policy: "on-failure" })).decide(false, 0)).toEqual({
      action: "none",
    });
    expect(new RestartTracker(config({ policy: "always" })).decide(false, 0).action).toBe(
      "restart",
    );
  });
});
