/**
 * `health()` and its schema are one definition: every health() a managed process can return parses
 * with the strict `ProcessHealth` schema, so a field added to one but not the other fails here.
 */
import { afterEach, expect, test } from "bun:test";
import { type ProcessError, ProcessHealth } from "../src/index.ts";
import { fakeChild, waitFor } from "../src/testing/index.ts";
import { cleanup, collect, make } from "./helpers.ts";

afterEach(cleanup);

const quiet = { stdout: "ignore", stderr: "ignore" } as const;

/** Parses `health` with the strict schema: it must pass and come out unchanged. */
function expectParses(health: ProcessHealth): void {
  expect(ProcessHealth.parse(health)).toEqual(health);
}

test("an idle process's health() parses with the strict schema", () => {
  const health = make("h-idle").health();
  expect(health).toMatchObject({
    state: "idle",
    pid: null,
    lastExit: null,
    lastError: null,
    usage: null,
  });
  expectParses(health);
});

test("a running process's health (piped streams, a lastError) parses with the strict schema", async () => {
  const proc = make("h-running");
  const errors: ProcessError[] = [];
  proc.on("error", (error) => {
    errors.push(error);
  });
  proc.start(await fakeChild({ stdout: ["out"], stderr: ["err"] }), {
    stdout: "pipe",
    stderr: "pipe",
  });
  proc.watchStream("stdout", () => {
    throw new Error("watcher bug");
  });
  const err = collect(proc, "stderr");
  await waitFor(() => errors.length === 1 && err.lines.length === 1);
  const health = proc.health();
  expect(health).toMatchObject({
    state: "running",
    pid: proc.pid,
    callbackErrors: 1,
    lastError: { phase: "callback" },
    streams: { stdout: { lines: 1, watchers: 1 }, stderr: { lines: 1, watchers: 1 } },
  });
  expectParses(health);
});

test("a process waiting to restart (nextRestartIn) parses with the strict schema", async () => {
  const proc = make("h-restarting", {
    restart: { policy: "always", initialBackoff: "20s", maxBackoff: "20s" },
  });
  proc.start(await fakeChild({ exitAfter: 0, exitCode: 1 }), quiet);
  await waitFor(() => proc.state === "restarting");
  const health = proc.health();
  expect(health.nextRestartIn).not.toBeNull();
  expect(health).toMatchObject({ restarts: 1, lastExit: { exitCode: 1 } });
  expectParses(health);
});

test("an exited and a stopped process's health (lastExit) parse with the strict schema", async () => {
  const exited = make("h-exited").start(await fakeChild({ exitAfter: 0, exitCode: 3 }), quiet);
  await exited.wait();
  const health = exited.health();
  expect(health).toMatchObject({ state: "exited", pid: null, lastExit: { exitCode: 3 } });
  expectParses(health);

  const stopped = make("h-stopped").start(["sleep", "30"]);
  await stopped.stop();
  const after = stopped.health();
  expect(after).toMatchObject({ state: "stopped", lastExit: { signalCode: "SIGTERM" } });
  expectParses(after);
});

test("usage reads the CPU and memory of the run's whole process group at call time", async () => {
  const proc = make("h-usage");
  // The busy loop runs in a second member of the group, not in the child itself.
  proc.start(["sh", "-c", "while :; do :; done & sleep 30"], quiet);
  const health = await waitFor(
    () => {
      const h = proc.health();
      return h.usage && h.usage.processes === 3 && h.usage.cpuSeconds >= 0.1 ? h : undefined;
    },
    { timeout: 10_000, message: "the group's busy loop to show 0.1 s of CPU" },
  );
  expect(health.usage?.residentMemoryBytes).toBeGreaterThan(0);
  expectParses(health);
  // Read again, not cached: the loop keeps spinning.
  const before = health.usage?.cpuSeconds ?? 0;
  await waitFor(() => (proc.health().usage?.cpuSeconds ?? 0) > before, { timeout: 5_000 });
  await proc.stop();
  expect(proc.health().usage).toBeNull();
});

test("the schema rejects a health object with a field it does not know", () => {
  const health = make("h-strict").health();
  expect(() => ProcessHealth.parse({ ...health, surprise: 1 })).toThrow();
});
