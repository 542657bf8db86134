import { afterEach, describe, expect, test } from "bun:test";
import { realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { Scope } from "@specter/core";
import { isAlive } from "@specter/core/testing";
import {
  type ProcessState,
  ProcessStateError,
  SpawnError,
  startProcess,
  WaitTimeoutError,
} from "../src/index.ts";
import { fakeChild, leftovers, waitFor } from "../src/testing/index.ts";
import { cleanup, collect, fixture, groupMembers, make, pgidOf, sh } from "./helpers.ts";

afterEach(cleanup);

describe("start", () => {
  test("spawns argv (no shell) in its own process group and returns the process", async () => {
    const proc = make("sleeper");
    expect(proc.argv).toBeNull();
    const states: ProcessState[] = [];
    proc.on("state", (s) => {
      states.push(s);
    });
    const spawned: number[] = [];
    proc.on("spawn", ({ pid }) => {
      spawned.push(pid);
    });
    const argv = ["sleep", "30"];
    expect(proc.start(argv)).toBe(proc);
    argv.push("changed later");
    expect(proc.argv).toEqual(["sleep", "30"]);
    const pid = proc.pid as number;
    expect(pid).toBeGreaterThan(0);
    expect(spawned).toEqual([pid]);
    expect(proc.running).toBe(true);
    expect(proc.state).toBe("running");
    expect(isAlive(pid)).toBe(true);
    expect(pgidOf(pid)).toBe(pid);
    expect(pgidOf(pid)).not.toBe(pgidOf(process.pid));
    // Exactly one process below us: the orphan guard (even one not exec'd yet) is not counted.
    expect(await leftovers()).toEqual([pid]);
    // argv is not interpreted by a shell.
    const echo = make("echo");
    const out = collect(echo.start(["echo", "$HOME", "a;b"], { stdout: "pipe" }), "stdout");
    await echo.wait();
    expect(out.lines).toEqual(["$HOME a;b"]);
    await proc.stop();
    expect(states).toEqual(["running", "stopping", "stopped"]);
  });

  test("starting one that is running is a clear error, and changes nothing", async () => {
    const proc = make("twice").start(["sleep", "30"]);
    const pid = proc.pid;
    expect(() => proc.start(["sleep", "30"])).toThrow(ProcessStateError);
    expect(() => proc.start(["sleep", "30"])).toThrow(
      `ManagedProcess "twice" is already running (pid ${pid}); await stop() before starting it again`,
    );
    expect(await leftovers()).toEqual([pid as number]);
    await proc.stop();
    // After stop it may start again.
    proc.start(["sleep", "30"]);
    expect(proc.pid).not.toBe(pid);
    expect(proc.running).toBe(true);
  });

  test("a missing executable is a SpawnError naming it; nothing is left behind", async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
      const proc = make("missing");
      let error: unknown;
      try {
        proc.start(["no-such-program-xyz", "--flag"]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpawnError);
      expect((error as SpawnError).code).toBe("ENOENT");
      expect((error as Error).message).toBe(
        'ManagedProcess "missing": cannot start "no-such-program-xyz": executable not found in PATH; install it, fix the name or pass its full path',
      );
      expect(() => proc.start(["/no/such/dir/prog"])).toThrow(
        'cannot start "/no/such/dir/prog": no such file; check the path',
      );
      expect(() => proc.start([fixture("crlf.sh")])).toThrow(
        "permission denied; it must be an executable file (chmod +x)",
      );
      expect(proc.state).toBe("idle");
      expect(proc.running).toBe(false);
      expect(await proc.stop()).toBeNull();
      expect(await leftovers()).toEqual([]);
      // Unhandled rejections are reported once the microtasks of a turn have run.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(rejections).toEqual([]);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });

  test("a bad cwd is a SpawnError naming it", () => {
    const proc = make("cwd");
    expect(() => proc.start(["pwd"], { cwd: "/no/such/dir" })).toThrow(
      'cannot start: cwd "/no/such/dir" does not exist; pass an existing directory',
    );
    expect(() => proc.start(["pwd"], { cwd: fixture("crlf.sh") })).toThrow("is not a directory");
  });

  test("cwd and env reach the child; extendEnv: false replaces the environment", async () => {
    const dir = realpathSync(tmpdir());
    const proc = make("env").start(sh("env-cwd.sh"), {
      cwd: dir,
      env: { PATH: process.env.PATH, SPECTER_TEST_VALUE: "42" },
      stdout: "pipe",
    });
    const out = collect(proc, "stdout");
    await proc.wait();
    expect(out.lines).toEqual([dir, "value=42"]);
    const bare = make("bare-env").start(sh("env-cwd.sh"), {
      env: { PATH: process.env.PATH },
      extendEnv: false,
      stdout: "pipe",
    });
    const bareOut = collect(bare, "stdout");
    await bare.wait();
    expect(bareOut.lines[1]).toBe("value=unset");
  });

  test('stdin: "pipe" exposes the child\'s stdin', async () => {
    const proc = make("stdin").start(sh("echo-stdin.sh"), { stdin: "pipe", stdout: "pipe" });
    const out = collect(proc, "stdout");
    const stdin = proc.stdin;
    if (!stdin) throw new Error("no stdin");
    stdin.write("hello\nworld\n");
    stdin.end();
    const exit = await proc.wait("5s");
    expect(exit?.exitCode).toBe(0);
    expect(out.lines).toEqual(["got: hello", "got: world"]);
    expect(make("no-stdin").start(["sleep", "30"]).stdin).toBeNull();
  });
});

describe("stop", () => {
  test("a stop() after an exit listener started a new run stops that run, not the old stop", async () => {
    const proc = make("again");
    let second: Promise<unknown> | undefined;
    let secondPid = 0;
    proc.on("exit", () => {
      if (second) return;
      proc.start(["sleep", "30"]);
      secondPid = proc.pid as number;
      second = proc.stop(); // the first stop() has not settled yet
    });
    proc.start(["sleep", "30"]);
    const first = await proc.stop();
    expect(first?.stopped).toBe(true);
    const exit = (await second) as { pid: number; stopped: boolean } | null;
    expect(exit).toMatchObject({ pid: secondPid, stopped: true });
    expect(proc.running).toBe(false);
    expect(proc.state).toBe("stopped");
    expect(isAlive(secondPid)).toBe(false);
  });

  test("SIGTERM ends a well-behaved child at once; resolves with the exit", async () => {
    const proc = make("sleep").start(["sleep", "30"]);
    const pid = proc.pid as number;
    const exits: unknown[] = [];
    proc.on("exit", (exit) => {
      exits.push(exit);
    });
    const exit = await proc.stop();
    expect(exit).toMatchObject({
      pid,
      exitCode: null,
      signalCode: "SIGTERM",
      stopped: true,
      killed: false,
    });
    expect(exits).toEqual([exit]);
    expect(isAlive(pid)).toBe(false);
    expect(proc.state).toBe("stopped");
    expect(proc.running).toBe(false);
    expect(proc.pid).toBeNull();
    expect(proc.signalCode).toBe("SIGTERM");
    expect(proc.exitCode).toBeNull();
    expect(proc.poll()).toBe(-15);
  });

  test("a SIGTERM-ignoring child is killed after terminateTimeout", async () => {
    const proc = make("stubborn", { terminateTimeout: "400ms", killTimeout: "1s" });
    proc.start(await fakeChild({ stdout: ["ready"], ignoreSigterm: true }), { stdout: "pipe" });
    const out = collect(proc, "stdout");
    await waitFor(() => out.lines.includes("ready"));
    const started = performance.now();
    const exit = await proc.stop();
    const took = performance.now() - started;
    expect(exit).toMatchObject({ signalCode: "SIGKILL", stopped: true, killed: true });
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(400 + 2_000);
    expect(await leftovers()).toEqual([]);
  });

  test("no grandchild outlives stop()", async () => {
    const proc = make("tree").start(await fakeChild({ grandchildren: 2 }));
    const pid = proc.pid as number;
    await waitFor(() => groupMembers(pid).length === 3);
    const tree = groupMembers(pid);
    // The child and both grandchildren are in the child's group, which is not ours.
    expect(pgidOf(pid)).not.toBe(pgidOf(process.pid));
    expect(await leftovers()).toEqual(tree);
    await proc.stop();
    for (const p of tree) expect(isAlive(p)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  test("grandchildren that ignore SIGTERM are killed too, and the leader exits first", async () => {
    // The leader (sh) dies on SIGTERM at once; the sleeps ignore it (inherited) until SIGKILL.
    const proc = make("tree2", { terminateTimeout: "300ms" });
    proc.start(
      ["sh", "-c", "trap '' TERM; (trap - TERM; exec sleep 30) & sleep 30 & echo ready; wait"],
      {
        stdout: "pipe",
      },
    );
    const out = collect(proc, "stdout");
    const pid = proc.pid as number;
    await waitFor(() => out.lines.includes("ready") && groupMembers(pid).length === 3);
    const tree = groupMembers(pid);
    const exit = await proc.stop();
    expect(exit?.killed).toBe(true);
    for (const p of tree) expect(isAlive(p)).toBe(false);
  });

  test("a child that exits by itself leaves no grandchild behind", async () => {
    const proc = make("leaves-kids", { terminateTimeout: "2s" });
    proc.start(await fakeChild({ grandchildren: 2, stdout: ["ready"], exitAfter: 0 }), {
      stdout: "pipe",
    });
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ exitCode: 0, stopped: false });
    expect(proc.state).toBe("exited");
    expect(await leftovers()).toEqual([]);
  });

  test("idempotent and safe to call concurrently", async () => {
    const proc = make("twice", { terminateTimeout: "300ms" });
    proc.start(await fakeChild({ stdout: ["ready"], ignoreSigterm: true }), { stdout: "pipe" });
    const out = collect(proc, "stdout");
    await waitFor(() => out.lines.includes("ready"));
    const a = proc.stop();
    const b = proc.stop();
    expect(b).toBe(a);
    const [ea, eb] = await Promise.all([a, b]);
    expect(ea).toBe(eb);
    expect(await proc.stop()).toBe(ea);
    expect(ea?.signalCode).toBe("SIGKILL");
  });

  test("stop() before start() resolves null; wait() before start() rejects", async () => {
    const proc = make("never");
    expect(await proc.stop()).toBeNull();
    await expect(proc.wait()).rejects.toThrow(
      'ManagedProcess "never" was never started; call start() first',
    );
  });

  test("stop() and Symbol.asyncDispose stop it", async () => {
    const a = make("a").start(["sleep", "30"]);
    expect((await a.stop())?.stopped).toBe(true);
    const b = make("b").start(["sleep", "30"]);
    {
      await using _b = b;
    }
    expect(b.state).toBe("stopped");
  });
});

describe("wait, poll and health", () => {
  test("wait() resolves with the exit; poll() is null while running, then the code", async () => {
    const proc = make("crash").start(await fakeChild({ exitAfter: "100ms", exitCode: 7 }), {
      stdout: "ignore",
      stderr: "ignore",
    });
    expect(proc.poll()).toBeNull();
    expect(proc.exitCode).toBeNull();
    const exit = await proc.wait();
    expect(exit).toMatchObject({ exitCode: 7, signalCode: null, stopped: false, killed: false });
    expect(exit?.uptime).toBeGreaterThanOrEqual(90);
    expect(proc.poll()).toBe(7);
    expect(proc.exitCode).toBe(7);
    expect(proc.state).toBe("exited");
    expect(await proc.wait()).toBe(exit);
    expect(await proc.stop()).toBe(exit);
    expect(proc.state).toBe("exited");
  });

  test("wait(timeout) rejects when it passes and leaves the process alone", async () => {
    const proc = make("slow").start(["sleep", "30"]);
    const started = performance.now();
    await expect(proc.wait("50ms")).rejects.toBeInstanceOf(WaitTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    await expect(proc.wait(50)).rejects.toThrow(
      'ManagedProcess "slow" is still running after 50ms; stop() it or wait longer',
    );
    expect(proc.running).toBe(true);
  });

  test("uptime and health()", async () => {
    const argv = await fakeChild({
      stdout: ["out 1"],
      stderr: ["err 1", "err 2", "err 3"],
      exitAfter: 0,
    });
    const proc = make("healthy").start(argv, { stdout: "pipe", stderr: "pipe" });
    const pid = proc.pid;
    collect(proc, "stdout");
    collect(proc, "stderr");
    expect(proc.uptime).toBeGreaterThanOrEqual(0);
    expect(proc.health()).toMatchObject({ name: "healthy", pid, state: "running", restarts: 0 });
    await proc.wait();
    expect(proc.uptime).toBe(0);
    expect(proc.health()).toMatchObject({
      name: "healthy",
      pid: null,
      state: "exited",
      restarts: 0,
      lastExit: { pid, exitCode: 0 },
      uptime: 0,
      callbackErrors: 0,
      nextRestartIn: null,
      streams: {
        stdout: { lines: 1, bytes: 6, overflows: 0, watchers: 1 },
        stderr: { lines: 3, bytes: 18, overflows: 0, watchers: 1 },
      },
    });
  });
});

describe("attach and startProcess", () => {
  function owner() {
    const cleanups: (() => unknown)[] = [];
    return {
      addCleanup(fn: () => unknown) {
        cleanups.push(fn);
      },
      async stop() {
        for (const fn of cleanups.reverse()) await fn();
      },
    };
  }

  test("the process stops when its owner stops", async () => {
    const o = owner();
    const proc = make("owned").attach(o).start(["sleep", "30"]);
    const pid = proc.pid as number;
    await o.stop();
    expect(proc.state).toBe("stopped");
    expect(isAlive(pid)).toBe(false);
  });

  test("a Scope owns it: the process stops when the scope closes", async () => {
    const scope = new Scope("s");
    const proc = make("scoped").attach(scope).start(["sleep", "30"]);
    const pid = proc.pid as number;
    expect(scope.size).toBe(1);
    await scope.close();
    expect(proc.state).toBe("stopped");
    expect(proc.lastExit).toMatchObject({ pid, stopped: true });
    expect(isAlive(pid)).toBe(false);
  });

  test("an attached process stops when its `await using` scope block ends", async () => {
    let pid = 0;
    const proc = make("using");
    {
      await using scope = new Scope();
      proc.attach(scope).start(["sleep", "30"]);
      pid = proc.pid as number;
      expect(proc.running).toBe(true);
    }
    expect(proc.state).toBe("stopped");
    expect(proc.lastExit).toMatchObject({ pid, stopped: true });
    expect(isAlive(pid)).toBe(false);
  });

  test("attach labels its cleanup with the process's name", () => {
    const labels: (string | undefined)[] = [];
    make("labelled").attach({
      addCleanup: (_fn: () => unknown, label?: string) => labels.push(label),
    });
    expect(labels).toEqual(['ManagedProcess "labelled"']);
  });

  test("attach validates the owner with a clear TypeError", () => {
    const proc = make("owned");
    for (const bad of [null, {}, { addCleanup: 1 }, "service"]) {
      expect(() => proc.attach(bad as never)).toThrow(TypeError);
    }
    expect(() => proc.attach({} as never)).toThrow(
      'ManagedProcess "owned": attach(): option "owner" got {}: expected an owner with an addCleanup(fn) method',
    );
  });

  test("startProcess(name, argv, { owner, ... }) creates, attaches and starts", async () => {
    const o = owner();
    const argv = await fakeChild({ stderr: ["err 1", "err 2", "err 3"], exitAfter: 0 });
    const proc = startProcess("helper", argv, {
      owner: o,
      stderr: "pipe",
      stdout: "ignore",
      terminateTimeout: "1s",
    });
    const err = collect(proc, "stderr");
    await proc.wait();
    expect(err.lines).toEqual(["err 1", "err 2", "err 3"]);
    await o.stop();
    expect(() => startProcess("bad", ["sleep", "1"], { owner: {} as never })).toThrow("addCleanup");
    expect(await leftovers()).toEqual([]);
  });
});
