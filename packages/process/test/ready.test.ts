/**
 * Readiness: with `ready` the state is "starting" until an output line matches, `proc.ready`
 * settles once per run, a restart waits again, and `readyTimeout` stops a run that never gets
 * there.
 */
import { afterEach, describe, expect, test } from "bun:test";
import {
  type ManagedProcess,
  OptionsError,
  type ProcessError,
  ProcessHealth,
  type ProcessState,
  ProcessStateError,
  ReadyError,
} from "../src/index.ts";
import { fakeChild, leftovers, waitFor } from "../src/testing/index.ts";
import { cleanup, make } from "./helpers.ts";

afterEach(cleanup);

function states(proc: ManagedProcess): ProcessState[] {
  const seen: ProcessState[] = [];
  proc.on("state", (state) => {
    seen.push(state);
  });
  return seen;
}

/** What `promise` rejects with (failing the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("ready", () => {
  test("a RegExp: starting until the line comes, then running; proc.ready has the line", async () => {
    const proc = make("server", { ready: /listening on \d+/ });
    const seen = states(proc);
    const argv = await fakeChild({
      stdout: ["booting", "listening on 8080"],
      lineInterval: "80ms",
    });
    proc.start(argv, { stdout: "pipe" });
    expect(proc.state).toBe("starting");
    expect(proc.running).toBe(true);
    const ready = await proc.ready;
    expect(ready).toMatchObject({ pid: proc.pid as number, line: "listening on 8080" });
    expect(ready.stream).toBe("stdout");
    expect(ready.after).toBeGreaterThanOrEqual(70);
    expect(proc.state).toBe("running");
    await proc.stop();
    expect(seen).toEqual(["starting", "running", "stopping", "stopped"]);
    expect(await leftovers()).toEqual([]);
  });

  test("a predicate gets each line and its stream; only piped streams are read", async () => {
    const calls: string[] = [];
    const proc = make("tunnel", {
      ready: (line, stream) => {
        calls.push(`${stream}: ${line}`);
        return stream === "stderr" && line.includes("Registered");
      },
    });
    const argv = await fakeChild({
      stdout: ["Registered (on stdout: not it)"],
      stderr: ["INF Requesting", "INF Registered tunnel connection"],
    });
    proc.start(argv, { stdout: "pipe", stderr: "pipe" });
    expect(await proc.ready).toMatchObject({ stream: "stderr" });
    expect(calls).toEqual([
      "stdout: Registered (on stdout: not it)",
      "stderr: INF Requesting",
      "stderr: INF Registered tunnel connection",
    ]);
    // Lines after ready are the watchers' alone.
    expect(proc.health().streams.stderr.watchers).toBe(0);
  });

  test("a restart waits for readiness again, with a new proc.ready", async () => {
    // A global RegExp keeps state between test() calls; the option must not.
    const proc = make("flaky", {
      ready: /^ready$/g,
      restart: { policy: "on-failure", initialBackoff: "200ms" },
    });
    const seen = states(proc);
    proc.start(await fakeChild({ stdout: ["ready"], crashAfter: "100ms" }), { stdout: "pipe" });
    const first = await proc.ready;
    await waitFor(() => proc.state === "restarting");
    const next = proc.ready; // the next run's, pending through the backoff
    const second = await next;
    expect(second.pid).not.toBe(first.pid);
    expect(second.line).toBe("ready");
    await proc.stop();
    expect(seen.slice(0, 5)).toEqual(["starting", "running", "restarting", "starting", "running"]);
  });

  test("readyTimeout rejects proc.ready and stops the run (timedOut)", async () => {
    const proc = make("stuck", { ready: /ready/, readyTimeout: "150ms" });
    proc.start(await fakeChild({ stdout: ["booting"] }), { stdout: "pipe" });
    const error = await rejection(proc.ready);
    expect(error).toBeInstanceOf(ReadyError);
    expect(error).toMatchObject({ reason: "timeout", process: "stuck" });
    expect(error.message).toBe(
      'ManagedProcess "stuck" was not ready within readyTimeout (150ms); stopping it',
    );
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ signalCode: "SIGTERM", stopped: false, timedOut: true });
    expect(proc.state).toBe("exited");
    expect(await leftovers()).toEqual([]);
  });

  test("with a restart policy, a run not ready in time is a failure and is restarted", async () => {
    const proc = make("never-ready", {
      ready: /ready/,
      readyTimeout: "80ms",
      restart: { policy: "on-failure", maxRestarts: 1, initialBackoff: "10ms" },
    });
    const seen = states(proc);
    proc.start(await fakeChild(), { stdout: "pipe" });
    const exit = await proc.wait("5s");
    expect(exit?.timedOut).toBe(true);
    expect(proc.state).toBe("failed");
    expect(seen).toEqual(["starting", "restarting", "starting", "failed"]);
    expect(await rejection(proc.ready)).toMatchObject({ reason: "timeout" });
  });

  test("a run that exits, or is stopped, before it is ready rejects proc.ready", async () => {
    const crash = make("crash", { ready: /ready/ });
    crash.start(await fakeChild({ stdout: ["oops"], crashAfter: "20ms" }), { stdout: "pipe" });
    const crashed = await rejection(crash.ready);
    expect(crashed).toMatchObject({ reason: "exit" });
    expect(crashed.message).toBe('ManagedProcess "crash" exited (code 1) before it was ready');
    expect(crash.state).toBe("exited");

    const stopped = make("stopped", { ready: /ready/ });
    stopped.start(await fakeChild(), { stdout: "pipe" });
    const pending = stopped.ready;
    await stopped.stop();
    const error = await rejection(pending);
    expect(error).toMatchObject({ reason: "stop" });
    expect(error.message).toBe('ManagedProcess "stopped" was stopped before it was ready');
  });

  test("readyTimeout passing while an exited child's group is ended: the exit, not a timeout", async () => {
    // The child exits at once; its grandchild ignores SIGTERM, so the end of the run takes
    // terminateTimeout, during which readyTimeout passes: the run ended by itself, not timed out.
    const proc = make("exited-first", {
      ready: /ready/,
      readyTimeout: "300ms",
      terminateTimeout: "700ms",
    });
    // The subshell ignores SIGTERM before the child exits (100 ms later), and `sleep` inherits that.
    proc.start(["sh", "-c", "(trap '' TERM; exec sleep 30) & sleep 0.1; exit 3"], {
      stdout: "pipe",
    });
    const error = await rejection(proc.ready);
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ exitCode: 3, timedOut: false, stopped: false, killed: true });
    expect(error).toMatchObject({ reason: "exit" });
  });

  test("a stop during the restart backoff rejects the pending proc.ready", async () => {
    const proc = make("backoff", {
      ready: /ready/,
      restart: { policy: "always", initialBackoff: "10s" },
    });
    proc.start(await fakeChild({ exitAfter: 0 }), { stdout: "pipe" });
    await waitFor(() => proc.state === "restarting");
    const next = proc.ready;
    await proc.stop();
    expect(await rejection(next)).toMatchObject({ reason: "stop" });
  });

  test("nobody awaiting proc.ready is fine: its rejection does not crash the host", async () => {
    const proc = make("ignored", { ready: /ready/, readyTimeout: "50ms" });
    proc.start(await fakeChild(), { stdout: "pipe" });
    await proc.wait("5s"); // the readyTimeout rejection went unobserved
    expect(proc.lastExit?.timedOut).toBe(true);
  });

  test("a predicate that throws is reported and the wait goes on", async () => {
    const proc = make("throws", {
      ready: (line) => {
        if (line === "bad") throw new Error("cannot parse");
        return line === "ok";
      },
    });
    const errors: ProcessError[] = [];
    proc.on("error", (error) => {
      errors.push(error);
    });
    proc.start(await fakeChild({ stdout: ["bad", "ok"] }), { stdout: "pipe" });
    expect(await proc.ready).toMatchObject({ line: "ok" });
    expect(errors.map((e) => e.message)).toEqual([
      'ManagedProcess "throws": the "ready" check threw: cannot parse',
    ]);
    expect(proc.health().callbackErrors).toBe(1);
  });

  test("without ready, proc.ready resolves at spawn and the state is running at once", async () => {
    const proc = make("plain");
    expect(await rejection(proc.ready)).toBeInstanceOf(ProcessStateError);
    proc.start(await fakeChild());
    expect(proc.state).toBe("running");
    expect(await proc.ready).toEqual({
      pid: proc.pid as number,
      line: null,
      stream: null,
      after: 0,
    });
  });

  test("ready needs stdout or stderr piped: an OptionsError naming both, nothing started", async () => {
    const proc = make("unpiped", { ready: /ready/ });
    let error: unknown;
    try {
      proc.start(await fakeChild());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OptionsError);
    expect((error as Error).message).toBe(
      'ManagedProcess "unpiped": start(): option "stdout" got "inherit": expected "pipe" for stdout or stderr: the "ready" option waits for a line of output; option "stderr" got "inherit": expected "pipe" for stdout or stderr: the "ready" option waits for a line of output',
    );
    expect(proc.state).toBe("idle");
    expect(await leftovers()).toEqual([]);
  });

  test("health() says starting, and its strict schema accepts it", async () => {
    const proc = make("health", { ready: /ready/ });
    proc.start(await fakeChild(), { stdout: "pipe" });
    const health = ProcessHealth.parse(proc.health());
    expect(health.state).toBe("starting");
    const exit = await proc.stop();
    expect(ProcessHealth.parse(proc.health()).lastExit).toEqual(exit);
  });
});
