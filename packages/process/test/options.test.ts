import { afterEach, describe, expect, test } from "bun:test";
import { ManagedProcess } from "../src/index.ts";
import { leftovers } from "../src/testing/index.ts";
import { cleanup, make, optionsError } from "./helpers.ts";

afterEach(cleanup);

describe("constructor options", () => {
  test("defaults are valid", () => {
    expect(new ManagedProcess("p").state).toBe("idle");
  });

  test("the name must be a non-empty string", () => {
    expect(optionsError(() => new ManagedProcess(""))).toBe(
      'ManagedProcess: option "name" got "": expected a non-empty string',
    );
  });

  test("each bad option is named with its value and what is allowed", () => {
    expect(optionsError(() => new ManagedProcess("p", { terminateTimeout: "soon" }))).toBe(
      'ManagedProcess "p": option "terminateTimeout" got "soon": expected a duration (milliseconds as a number, or a string like "250ms", "2s", "5m", "1m30s")',
    );
    expect(optionsError(() => new ManagedProcess("p", { killTimeout: 0 }))).toContain(
      'option "killTimeout" got 0: expected a duration greater than 0',
    );
    expect(optionsError(() => new ManagedProcess("p", { restart: "sometimes" as never }))).toBe(
      'ManagedProcess "p": option "restart" got "sometimes": expected "no", "on-failure", "always", or { policy, maxRestarts, window, initialBackoff, maxBackoff }',
    );
    expect(
      optionsError(
        () => new ManagedProcess("p", { restart: { policy: "always", maxRestarts: -1 } }),
      ),
    ).toContain(
      'option "restart.maxRestarts" got -1: expected a whole number of restarts, 0 or more',
    );
    expect(
      optionsError(
        () => new ManagedProcess("p", { restart: { initialBackoff: "2s", maxBackoff: "1s" } }),
      ),
    ).toContain('option "restart.maxBackoff" got "1s": expected at least initialBackoff (2000ms)');
    // A bad field of the restart object is named by its path.
    expect(
      optionsError(() => new ManagedProcess("p", { restart: { policy: "always", window: 0 } })),
    ).toContain('option "restart.window" got 0: expected a duration greater than 0');
    expect(
      optionsError(() => new ManagedProcess("p", { restart: { policy: "maybe" as never } })),
    ).toContain(
      'option "restart.policy" got "maybe": expected one of "no", "on-failure", "always"',
    );
    expect(
      optionsError(() => new ManagedProcess("p", { restart: { polcy: "always" } as never })),
    ).toContain(
      'option "restart.polcy" got "always": expected no such option; known options are policy, maxRestarts, window, initialBackoff, maxBackoff',
    );
    expect(optionsError(() => new ManagedProcess("p", { hostShutdown: "yes" as never }))).toContain(
      'option "hostShutdown" got "yes": expected true or false',
    );
    expect(optionsError(() => new ManagedProcess("p", { terminatTimeout: 5 } as never))).toBe(
      'ManagedProcess "p": option "terminatTimeout" got 5: expected no such option; known options are terminateTimeout, killTimeout, killSignal, timeout, ready, readyTimeout, restart, hostShutdown',
    );
  });
});

describe("restart backoff floor", () => {
  test("initialBackoff and maxBackoff under 10 ms are refused, naming the option, the value and the range", () => {
    const range = "expected a duration from 10ms to 24 days";
    expect(
      optionsError(
        () => new ManagedProcess("p", { restart: { policy: "always", initialBackoff: 0 } }),
      ),
    ).toBe(
      `ManagedProcess "p": option "restart.initialBackoff" got 0: ${range} (milliseconds as a number, or a string like "250ms", "2s", "5m", "1m30s")`,
    );
    expect(
      optionsError(() => new ManagedProcess("p", { restart: { initialBackoff: "9.5ms" } })),
    ).toContain(`option "restart.initialBackoff" got "9.5ms": ${range}`);
    expect(
      optionsError(
        () => new ManagedProcess("p", { restart: { initialBackoff: 10, maxBackoff: "1ms" } }),
      ),
    ).toContain(`option "restart.maxBackoff" got "1ms": ${range}`);
    const floor = new ManagedProcess("p", {
      restart: { policy: "always", initialBackoff: 10, maxBackoff: "10ms" },
    });
    expect(floor.state).toBe("idle");
  });

  test("a non-object options argument says an object is expected", () => {
    expect(optionsError(() => new ManagedProcess("p", [] as never))).toBe(
      'ManagedProcess "p": value got []: expected an options object, or nothing',
    );
    expect(optionsError(() => new ManagedProcess("p", "fast" as never))).toBe(
      'ManagedProcess "p": value got "fast": expected an options object, or nothing',
    );
  });
});

describe("start() arguments", () => {
  test("argv must be a non-empty array of strings; nothing is started", async () => {
    const proc = make("p");
    expect(optionsError(() => proc.start("sleep 30" as never))).toContain(
      'option "argv" got "sleep 30": expected an array of strings, program first',
    );
    expect(optionsError(() => proc.start([]))).toContain(
      'option "argv" got []: expected a non-empty array of strings',
    );
    expect(optionsError(() => proc.start(["sleep", 30 as never]))).toContain(
      'option "argv.1" got 30: expected strings only',
    );
    expect(optionsError(() => proc.start([""]))).toContain(
      "expected a program name or path as the first element",
    );
    expect(optionsError(() => proc.start(["sleep", "30"], { stdout: "piped" as never }))).toBe(
      'ManagedProcess "p": start(): option "stdout" got "piped": expected one of "pipe", "inherit", "ignore"',
    );
    expect(optionsError(() => proc.start(["sleep", "30"], { detached: true } as never))).toContain(
      'option "detached" got true: expected no such option',
    );
    expect(optionsError(() => proc.start(["sleep", "30"], "pipe" as never))).toContain(
      "expected an options object, or nothing",
    );
    expect(optionsError(() => proc.start(["sleep", "30"], { env: { A: 1 } as never }))).toContain(
      'option "env.A" got 1',
    );
    // The key is named, with what it got and that a string is expected (zod says "Invalid input").
    expect(
      optionsError(() => proc.start(["true"], { env: { HOME: "/h", PORT: 3000 } as never })),
    ).toBe(
      'ManagedProcess "p": start(): option "env.PORT" got 3000: expected a string, e.g. "3000" (environment values are text; undefined removes the variable)',
    );
    expect(optionsError(() => proc.start(["true"], { env: { TOKEN: null } as never }))).toContain(
      'option "env.TOKEN" got null: expected a string',
    );
    expect(optionsError(() => proc.start(["true"], { env: ["A=1"] as never }))).toContain(
      'option "env" got [ "A=1" ]: expected an object of string values',
    );
    expect(proc.state).toBe("idle");
    expect(await leftovers()).toEqual([]);
  });
});

describe("watchStream() arguments", () => {
  test("stream name, callback and options are checked", () => {
    const proc = make("p");
    expect(optionsError(() => proc.watchStream("stdin" as never, () => {}))).toBe(
      'ManagedProcess "p": watchStream(): option "stream" got "stdin": expected one of "stdout", "stderr"',
    );
    expect(optionsError(() => proc.watchStream("stdout", "log" as never))).toContain(
      'option "callback" got "log": expected a function called once per line (or chunk)',
    );
    expect(
      optionsError(() => proc.watchStream("stdout", () => {}, { maxLineLength: 0 })),
    ).toContain('option "maxLineLength" got 0: expected a whole number of characters, at least 1');
    expect(
      optionsError(() => proc.watchStream("stdout", () => {}, { overflow: "drop" as never })),
    ).toContain('option "overflow" got "drop": expected one of "split", "truncate"');
    expect(
      optionsError(() =>
        proc.watchStream("stdout", () => {}, { mode: "chunks", maxLineLength: 5 } as never),
      ),
    ).toContain('option "maxLineLength" got 5: expected no such option; known options are mode');
    expect(proc.health().streams.stdout.watchers).toBe(0);
  });
});

describe("other arguments", () => {
  test("wait(timeout) and on(event)", async () => {
    const proc = make("p").start(["sleep", "30"]);
    await expect(proc.wait("later")).rejects.toThrow(
      'ManagedProcess "p": wait(): option "timeout" got "later": expected a duration greater than 0',
    );
    expect(optionsError(() => proc.on("exited" as never, () => {}))).toBe(
      'ManagedProcess "p": on(): option "event" got "exited": expected one of "spawn", "exit", "restart", "giveUp", "error", "state"',
    );
    expect(optionsError(() => proc.on("exit", null as never))).toContain(
      'option "listener" got null: expected a function',
    );
  });
});
