import { afterEach, describe, expect, test } from "bun:test";
import { descendants } from "@specter/core/testing";
import { hostHooksInstalled } from "../src/exit-hooks.ts";
import type { ProcessExit } from "../src/index.ts";
import { fakeChild, waitFor } from "../src/testing/index.ts";
import { cleanup, make } from "./helpers.ts";

afterEach(cleanup);

const quiet = { stdout: "ignore", stderr: "ignore" } as const;

describe("listeners that stop or start the process", () => {
  test('stop() from a "spawn" listener stops the first run', async () => {
    const proc = make("stop-on-spawn", { terminateTimeout: "2s" });
    let stopped: Promise<ProcessExit | null> | undefined;
    proc.on("spawn", () => {
      stopped ??= proc.stop();
    });
    proc.start(["sleep", "30"]);
    const exit = await stopped;
    expect(exit).toMatchObject({ signalCode: "SIGTERM", stopped: true, killed: false });
    expect(proc.state).toBe("stopped");
    expect(proc.running).toBe(false);
    expect(await proc.wait("1s")).toBe(exit as ProcessExit);
  });

  test('stop() from a "state" listener on "running" stops the first run', async () => {
    const proc = make("stop-on-running", { terminateTimeout: "2s" });
    let stopped: Promise<ProcessExit | null> | undefined;
    proc.on("state", (state) => {
      if (state === "running") stopped ??= proc.stop();
    });
    proc.start(["sleep", "30"]);
    expect(await stopped).toMatchObject({ signalCode: "SIGTERM", stopped: true });
    expect(proc.state).toBe("stopped");
  });

  test('stop() from a "restart" listener cancels the backoff at once', async () => {
    const proc = make("stop-on-restart", {
      restart: { policy: "always", initialBackoff: "20s", maxBackoff: "20s" },
    });
    let stopped: ProcessExit | null | undefined;
    const restarts: number[] = [];
    proc.on("restart", ({ delay }) => {
      restarts.push(delay);
      proc.stop().then((exit) => {
        stopped = exit;
      });
    });
    proc.start(await fakeChild({ exitAfter: 0, exitCode: 1 }), quiet);
    await waitFor(() => stopped !== undefined, {
      timeout: 3_000,
      message: "stop() from the restart listener waited out the backoff",
    });
    expect(stopped).toMatchObject({ exitCode: 1, stopped: false });
    expect(restarts).toEqual([20_000]);
    expect(proc.state).toBe("stopped");
  });

  test('stop() from a "state" listener on "restarting" skips the restart', async () => {
    const proc = make("stop-on-restarting", {
      restart: { policy: "always", initialBackoff: "20s", maxBackoff: "20s" },
    });
    let stopped: ProcessExit | null | undefined;
    let restartEvents = 0;
    proc.on("restart", () => {
      restartEvents++;
    });
    proc.on("state", (state) => {
      if (state === "restarting") {
        proc.stop().then((exit) => {
          stopped = exit;
        });
      }
    });
    proc.start(await fakeChild({ exitAfter: 0, exitCode: 1 }), quiet);
    await waitFor(() => stopped !== undefined, { timeout: 3_000 });
    expect(restartEvents).toBe(0);
    expect(proc.state).toBe("stopped");
  });

  test('start() from an "exit" listener starts the next run; events stay in order', async () => {
    const proc = make("start-on-exit");
    const events: string[] = [];
    const errors: unknown[] = [];
    proc.on("spawn", () => events.push("spawn"));
    proc.on("state", (state, previous) => events.push(`${previous}->${state}`));
    proc.on("exit", (exit) => {
      events.push(`exit ${exit.exitCode}`);
      if (exit.exitCode !== 0) return;
      try {
        proc.start(["sleep", "30"]);
      } catch (error) {
        errors.push(error);
      }
    });
    proc.start(["true"]);
    const first = await proc.wait("5s");
    expect(errors).toEqual([]);
    expect(first).toMatchObject({ exitCode: 0, stopped: false });
    expect(proc.state).toBe("running");
    expect(proc.running).toBe(true);
    expect(events).toEqual([
      "idle->running",
      "spawn",
      "exit 0",
      "running->exited",
      "exited->running",
      "spawn",
    ]);
    expect(await proc.stop()).toMatchObject({ signalCode: "SIGTERM", stopped: true });
  });

  test('the state is final when "exit" is emitted (no restart follows)', async () => {
    const proc = make("exit-state", { restart: { policy: "on-failure", maxRestarts: 0 } });
    const seen: string[] = [];
    proc.on("exit", () => seen.push(proc.state));
    proc.start(await fakeChild({ exitAfter: 0, exitCode: 2 }), quiet);
    await proc.wait("5s");
    expect(seen).toEqual(["failed"]);
  });

  test('start() from a "state" listener on "exited" keeps the host hooks for the new run', async () => {
    const proc = make("start-on-exited");
    let again = true;
    proc.on("state", (state) => {
      if (state === "exited" && again) {
        again = false;
        proc.start(["sleep", "30"]);
      }
    });
    proc.start(["true"]);
    const first = proc.wait();
    await first; // the first run's supervision is over, its cleanup done
    expect(proc.state).toBe("running");
    expect(hostHooksInstalled()).toBe(true);
    expect(process.listenerCount("SIGTERM")).toBeGreaterThan(0);
    await proc.stop();
    await waitFor(() => !hostHooksInstalled(), { timeout: 2_000 });
  });

  test('start() from a "giveUp" listener keeps the host hooks for the new run', async () => {
    const proc = make("start-on-giveup", { restart: { policy: "on-failure", maxRestarts: 0 } });
    let again = true;
    proc.on("giveUp", () => {
      if (again) {
        again = false;
        proc.start(["sleep", "30"]);
      }
    });
    proc.start(await fakeChild({ exitAfter: 0, exitCode: 1 }), quiet);
    await proc.wait();
    expect(proc.state).toBe("running");
    expect(hostHooksInstalled()).toBe(true);
    await proc.stop();
  });
});

describe("a child that exited while its group lives on", () => {
  test("the run stays running, with its pid, until the group is gone", async () => {
    const proc = make("leftover", { terminateTimeout: "1500ms", killTimeout: "1s" });
    const exits: { running: boolean; pid: number | null }[] = [];
    proc.on("exit", () => exits.push({ running: proc.running, pid: proc.pid }));
    // The leader exits 3 at once; a grandchild that ignores SIGTERM stays in the group.
    const argv = await fakeChild({
      grandchildren: 1,
      ignoreSigterm: true,
      exitAfter: 0,
      exitCode: 3,
    });
    proc.start(argv, quiet);
    const pid = proc.pid as number;
    await waitFor(() => !descendants().includes(pid), { timeout: 3_000 });
    expect(proc.state).toBe("running");
    expect(proc.running).toBe(true);
    expect(proc.pid).toBe(pid);
    expect(proc.exitCode).toBeNull();
    expect(proc.poll()).toBeNull();
    expect(proc.health().pid).toBe(pid);
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ pid, exitCode: 3, killed: true, stopped: false });
    expect(exits).toEqual([{ running: false, pid: null }]);
    expect(proc.exitCode).toBe(3);
  }, 10_000);
});
