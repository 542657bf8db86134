/**
 * The knobs users of execa, PM2 and systemd reach for: `killSignal`, `timeout`, `env` extending
 * `process.env` (`extendEnv: false` replaces it), `signal` (AbortSignal) and `input`; each checked
 * against a real child, with bad values rejected before anything starts.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { AbortError, ManagedProcess, type ProcessExit, startProcess } from "../src/index.ts";
import { fakeChild, leftovers, waitFor } from "../src/testing/index.ts";
import { cleanup, collect, make, optionsError } from "./helpers.ts";

afterEach(cleanup);

/**
 * nginx's graceful stop is SIGQUIT. The shell waits on a background `sleep` (which, started by a
 * non-interactive shell, ignores SIGQUIT) so that the trap runs at once and nothing dumps core.
 */
const NGINX_LIKE = [
  "sh",
  "-c",
  'trap "echo got QUIT; exit 0" QUIT; echo up; while :; do sleep 0.05 & wait $!; done',
];

describe("killSignal", () => {
  test("an nginx-style child stopped with SIGQUIT exits cleanly, without SIGKILL", async () => {
    const proc = make("nginx", { killSignal: "SIGQUIT", terminateTimeout: "2s" });
    const out = collect(proc, "stdout");
    proc.start(NGINX_LIKE, { stdout: "pipe" });
    await waitFor(() => out.lines.includes("up"));
    const exit = await proc.stop();
    expect(exit).toMatchObject({ exitCode: 0, signalCode: null, stopped: true, killed: false });
    expect(out.lines).toEqual(["up", "got QUIT"]);
    expect(await leftovers()).toEqual([]);
  });

  test("the default stays SIGTERM, which the same child does not trap", async () => {
    const proc = make("nginx-term", { terminateTimeout: "2s" });
    const out = collect(proc, "stdout");
    proc.start(NGINX_LIKE, { stdout: "pipe" });
    await waitFor(() => out.lines.includes("up"));
    expect(await proc.stop()).toMatchObject({ signalCode: "SIGTERM", killed: false });
    expect(out.lines).toEqual(["up"]);
  });

  test("SIGKILL still follows terminateTimeout when the child ignores killSignal", async () => {
    const proc = make("deaf", { killSignal: "SIGINT", terminateTimeout: "100ms" });
    const out = collect(proc, "stdout");
    // An ignored signal stays ignored across exec: neither the shell nor its sleep hears SIGINT.
    proc.start(["sh", "-c", 'trap "" INT; echo up; sleep 30'], { stdout: "pipe" });
    await waitFor(() => out.lines.includes("up"));
    expect(await proc.stop()).toMatchObject({ signalCode: "SIGKILL", killed: true });
    expect(await leftovers()).toEqual([]);
  });
});

describe("killSignal: every name it accepts can be sent", () => {
  // os.constants.signals has them, so the option takes them; process.kill knows them not by name.
  for (const killSignal of ["SIGPWR", "SIGPOLL", "SIGSTKFLT"] as const) {
    test(`${killSignal} stops the process (sent by number)`, async () => {
      const proc = make(`by-${killSignal}`, { killSignal, terminateTimeout: "2s" });
      proc.start(["sleep", "30"]);
      const exit = await proc.stop();
      expect(exit).toMatchObject({ stopped: true, killed: false });
      expect(exit?.signalCode).not.toBe("SIGKILL");
      expect(exit?.signalCode).not.toBeNull();
      expect(proc.state).toBe("stopped");
    });
  }
});

describe("timeout", () => {
  test("a run that lasts longer is stopped, and its exit says timedOut", async () => {
    const proc = make("slow", { timeout: "150ms", terminateTimeout: "1s" });
    const exits: ProcessExit[] = [];
    proc.on("exit", (exit) => {
      exits.push(exit);
    });
    proc.start(await fakeChild());
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ signalCode: "SIGTERM", stopped: false, timedOut: true });
    expect(exit?.uptime).toBeGreaterThanOrEqual(140);
    expect(exits).toEqual([exit as ProcessExit]);
    expect(proc.state).toBe("exited");
    expect(proc.lastExit?.timedOut).toBe(true);
    expect(await leftovers()).toEqual([]);
  });

  test("the graceful step uses killSignal; a child that exits 0 on it still timed out", async () => {
    const proc = make("slow-nginx", { timeout: "150ms", killSignal: "SIGQUIT" });
    proc.start(NGINX_LIKE, { stdout: "ignore" });
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ exitCode: 0, killed: false, stopped: false, timedOut: true });
  });

  test("a run that ends in time is not timed out, and stop() is not either", async () => {
    const quick = make("quick", { timeout: "5s" }).start(await fakeChild({ exitAfter: 0 }));
    expect(await quick.wait("5s")).toMatchObject({ exitCode: 0, timedOut: false });
    const stopped = make("stopped", { timeout: "5s" }).start(await fakeChild());
    expect(await stopped.stop()).toMatchObject({ stopped: true, timedOut: false });
  });

  test('a timed-out run is a failure: "on-failure" restarts it until it gives up', async () => {
    const proc = make("hangs", {
      timeout: "100ms",
      restart: { policy: "on-failure", maxRestarts: 2, initialBackoff: "10ms" },
    });
    const exits: ProcessExit[] = [];
    proc.on("exit", (exit) => {
      exits.push(exit);
    });
    let gaveUp = false;
    proc.on("giveUp", () => {
      gaveUp = true;
    });
    // Exits 0 when its timeout's SIGTERM comes: still a failure, it did not finish in time.
    proc.start(["sh", "-c", 'trap "exit 0" TERM; while :; do sleep 0.05 & wait $!; done']);
    const exit = await proc.wait("10s");
    expect(exits).toHaveLength(3);
    for (const e of exits) expect(e).toMatchObject({ exitCode: 0, timedOut: true });
    expect(exit?.timedOut).toBe(true);
    expect(gaveUp).toBe(true);
    expect(proc.state).toBe("failed");
    expect(proc.health().restarts).toBe(2);
  });
});

describe("env", () => {
  /**
   * The child's environment, as `env` prints it (a full path: the child may have no PATH),
   * without the marker every run carries so that its escaped descendants can be found.
   */
  async function childEnv(proc: ManagedProcess): Promise<string[]> {
    const out = collect(proc, "stdout");
    await proc.wait("5s");
    return out.lines.filter((line) => !line.startsWith("SPECTER_RUN="));
  }

  test("env extends process.env: PATH and HOME stay, a variable set to undefined goes", async () => {
    process.env.SPECTER_GONE = "present";
    try {
      const proc = make("env").start(["/usr/bin/env"], {
        env: { SPECTER_KNOB: "1", SPECTER_GONE: undefined },
        stdout: "pipe",
      });
      const lines = await childEnv(proc);
      expect(lines).toContain(`PATH=${process.env.PATH}`);
      expect(lines).toContain(`HOME=${process.env.HOME}`);
      expect(lines).toContain("SPECTER_KNOB=1");
      expect(lines.filter((line) => line.startsWith("SPECTER_GONE="))).toEqual([]);
    } finally {
      delete process.env.SPECTER_GONE;
    }
  });

  test("extendEnv: false makes env the whole environment", async () => {
    const proc = make("bare").start(["/usr/bin/env"], {
      env: { SPECTER_KNOB: "2" },
      extendEnv: false,
      stdout: "pipe",
    });
    expect(await childEnv(proc)).toEqual(["SPECTER_KNOB=2"]);
    const empty = make("empty").start(["/usr/bin/env"], { extendEnv: false, stdout: "pipe" });
    expect(await childEnv(empty)).toEqual([]);
  });

  test("each restart reads process.env afresh", async () => {
    const proc = make("late", { restart: { policy: "always", initialBackoff: "10ms" } });
    const out = collect(proc, "stdout");
    proc.start(["sh", "-c", 'echo "late=$SPECTER_LATE"'], { env: {}, stdout: "pipe" });
    await waitFor(() => out.lines.length >= 1);
    process.env.SPECTER_LATE = "yes";
    try {
      await waitFor(() => out.lines.includes("late=yes"));
    } finally {
      delete process.env.SPECTER_LATE;
    }
    await proc.stop();
    expect(out.lines[0]).toBe("late=");
  });
});

describe("signal (AbortSignal)", () => {
  test("aborting stops the process like stop()", async () => {
    const controller = new AbortController();
    const proc = make("abortable").start(await fakeChild(), { signal: controller.signal });
    controller.abort();
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ signalCode: "SIGTERM", stopped: true });
    expect(proc.state).toBe("stopped");
    expect(await leftovers()).toEqual([]);
  });

  test("AbortSignal.timeout() works as a deadline, and cancels a pending restart", async () => {
    const proc = make("deadline", { restart: { policy: "always", initialBackoff: "10s" } });
    proc.start(await fakeChild({ exitAfter: 0 }), { signal: AbortSignal.timeout(150) });
    await waitFor(() => proc.state === "restarting");
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ exitCode: 0, stopped: false });
    expect(proc.state).toBe("stopped");
  });

  test("an already aborted signal starts nothing: AbortError naming the option", async () => {
    const proc = make("too-late");
    const controller = new AbortController();
    controller.abort(new Error("user left"));
    let error: unknown;
    try {
      proc.start(await fakeChild(), { signal: controller.signal });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).message).toBe(
      'ManagedProcess "too-late": start(): option "signal" is already aborted (user left); nothing was started',
    );
    expect((error as Error).cause).toBe(controller.signal.reason);
    expect(proc.state).toBe("idle");
    expect(await leftovers()).toEqual([]);
  });

  test("the listener is removed once the process is done: a later abort touches nothing", async () => {
    const controller = new AbortController();
    const { signal } = controller;
    let added = 0;
    let removed = 0;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    const proc = make("reused").start(await fakeChild({ exitAfter: 0 }), { signal });
    await proc.wait("5s");
    expect([added, removed]).toEqual([1, 1]);
    proc.start(await fakeChild()); // a new run, without the signal
    controller.abort();
    await Bun.sleep(20);
    expect(proc.state).toBe("running");
  });
});

describe("input", () => {
  test("a string is written to stdin, which is then closed; proc.stdin is null", async () => {
    const proc = make("cat").start(["cat"], { input: "hello\nwörld", stdout: "pipe" });
    const out = collect(proc, "stdout");
    expect(proc.stdin).toBeNull();
    expect(await proc.wait("5s")).toMatchObject({ exitCode: 0 });
    expect(out.lines).toEqual(["hello", "wörld"]);
  });

  test("bytes round-trip exactly, and every restart gets them again", async () => {
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) % 256);
    const proc = make("bytes", { restart: { policy: "on-failure", initialBackoff: "10ms" } });
    const chunks: Uint8Array[][] = [[]];
    proc.on("exit", () => {
      chunks.push([]);
    });
    proc.watchStream("stdout", (chunk) => chunks.at(-1)?.push(chunk), { mode: "chunks" });
    // Echoes its stdin, then fails on its first run only (the marker is in its environment).
    const script = 'cat; [ -e "$MARK" ] && exit 0; : > "$MARK"; exit 1';
    const mark = `${process.env.TMPDIR ?? "/tmp"}/specter-input-${process.pid}-${Date.now()}`;
    proc.start(["sh", "-c", script], { input: bytes, env: { MARK: mark }, stdout: "pipe" });
    bytes.fill(0); // start() copied them
    const exit = await proc.wait("10s");
    await Bun.file(mark).delete();
    expect(exit?.exitCode).toBe(0);
    expect(proc.health().restarts).toBe(1);
    const expected = new Uint8Array(200_000).map((_, i) => (i * 7) % 256);
    for (const run of chunks.slice(0, 2)) expect(Buffer.concat(run)).toEqual(Buffer.from(expected));
  });
});

describe("input to a child that never reads it", () => {
  test("10 MB on a pipe nobody reads: stop() does not wait on it, nor does an exit", async () => {
    const input = "x".repeat(10_000_000); // far more than a pipe holds
    const stopped = make("deaf").start(["sleep", "30"], { input });
    await Bun.sleep(50);
    const started = performance.now();
    expect(await stopped.stop()).toMatchObject({ signalCode: "SIGTERM", stopped: true });
    expect(performance.now() - started).toBeLessThan(1_000);
    const exits = make("deaf-exit").start(["sh", "-c", "sleep 0.1; exit 3"], { input });
    expect(await exits.wait("3s")).toMatchObject({ exitCode: 3 });
  });
});

describe("bad values are OptionsErrors naming the option; nothing starts", () => {
  test("constructor: killSignal, timeout, ready, readyTimeout", () => {
    expect(optionsError(() => new ManagedProcess("p", { killSignal: "SIGFOO" as never }))).toBe(
      'ManagedProcess "p": option "killSignal" got "SIGFOO": expected a signal name of os.constants.signals, e.g. "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP"',
    );
    expect(optionsError(() => new ManagedProcess("p", { killSignal: 15 as never }))).toContain(
      'option "killSignal" got 15: expected a signal name',
    );
    expect(optionsError(() => new ManagedProcess("p", { timeout: 0 }))).toContain(
      'option "timeout" got 0: expected a duration greater than 0',
    );
    expect(optionsError(() => new ManagedProcess("p", { timeout: "soon" }))).toContain(
      'option "timeout" got "soon": expected a duration greater than 0',
    );
    expect(optionsError(() => new ManagedProcess("p", { ready: "listening" as never }))).toBe(
      'ManagedProcess "p": option "ready" got "listening": expected a RegExp, or a function (line, stream) => boolean, that matches the ready line',
    );
    expect(
      optionsError(() => new ManagedProcess("p", { ready: /up/, readyTimeout: "-1s" })),
    ).toContain('option "readyTimeout" got "-1s": expected a duration greater than 0');
    expect(optionsError(() => new ManagedProcess("p", { readyTimeout: "5s" }))).toBe(
      'ManagedProcess "p": option "readyTimeout" got "5s": expected only with a "ready" option (it bounds the wait for the ready line)',
    );
  });

  test("start(): extendEnv, signal, input, and input with a stdin it cannot use", async () => {
    const proc = make("p");
    const argv = await fakeChild();
    expect(optionsError(() => proc.start(argv, { extendEnv: "no" as never }))).toBe(
      'ManagedProcess "p": start(): option "extendEnv" got "no": expected true or false',
    );
    expect(optionsError(() => proc.start(argv, { signal: {} as never }))).toContain(
      'option "signal" got {}: expected an AbortSignal',
    );
    expect(optionsError(() => proc.start(argv, { input: 42 as never }))).toContain(
      'option "input" got 42: expected a string or a Uint8Array, written to stdin',
    );
    expect(optionsError(() => proc.start(argv, { input: "x", stdin: "inherit" }))).toBe(
      'ManagedProcess "p": start(): option "stdin" got "inherit": expected "pipe" or nothing: "input" is written to stdin',
    );
    expect(proc.state).toBe("idle");
    expect(await leftovers()).toEqual([]);
  });

  test("startProcess() hands each knob to the constructor or to start()", async () => {
    const controller = new AbortController();
    const proc = startProcess("helper", ["cat"], {
      killSignal: "SIGQUIT",
      timeout: "10s",
      input: "from startProcess",
      stdout: "pipe",
      signal: controller.signal,
    });
    const out = collect(proc, "stdout");
    expect(await proc.wait("5s")).toMatchObject({ exitCode: 0, timedOut: false });
    expect(out.lines).toEqual(["from startProcess"]);
    expect(() => startProcess("bad", ["cat"], { killSignal: "QUIT" as never })).toThrow(
      'option "killSignal" got "QUIT"',
    );
  });
});
