/**
 * Fault group: bad input. Every public constructor and method, given wrong types, negative or zero
 * durations, unknown options and the like, must throw an error that names the option (or argument)
 * and what is allowed, and leave nothing started.
 */

import { descendants } from "@specter/core/testing";
import { ManagedProcess } from "@specter/process";
import { createStatusApp, Registry, Service, serveStatus } from "@specter/service";
import { Watcher, WorkerPool } from "@specter/watcher";
import { group } from "../lib.ts";

const g = group("bad-input");
const poll = () => 1;
const sources = new URL("../fixtures/sources.ts", import.meta.url);
const running = new Service("running");
await running.start();
const idleProc = new ManagedProcess("idle");

/** [what, call, substrings the message must contain] */
const cases: [string, () => unknown, string[]][] = [
  [
    "Watcher: poll not a function",
    () => new Watcher("x", { poll: 5 as never, interval: "1s" }),
    ['"poll"', "expected"],
  ],
  [
    "Watcher: negative interval",
    () => new Watcher("x", { poll, interval: -1 }),
    ['"interval"', "-1", "greater than 0"],
  ],
  [
    "Watcher: zero interval",
    () => new Watcher("x", { poll, interval: 0 }),
    ['"interval"', "greater than 0"],
  ],
  [
    "Watcher: interval not a duration",
    () => new Watcher("x", { poll, interval: "fast" }),
    ['"interval"', '"fast"', '"250ms"'],
  ],
  [
    "Watcher: unknown option",
    () => new Watcher("x", { poll, interval: 10, retries: 3 } as never),
    ['"retries"', "known options are"],
  ],
  [
    "Watcher: both poll and stream",
    () => new Watcher("x", { poll, stream: () => [], interval: 10 } as never),
    ['"stream"', "not both"],
  ],
  ["Watcher: neither poll nor stream", () => new Watcher("x", {} as never), ['"poll"', '"stream"']],
  [
    "Watcher: empty name",
    () => new Watcher("", { poll, interval: 10 }),
    ['"name"', "non-empty string"],
  ],
  [
    "Watcher: negative stopTimeout",
    () => new Watcher("x", { poll, interval: 10, stopTimeout: -5 }),
    ['"stopTimeout"', "duration"],
  ],
  [
    "Watcher: jitter out of range",
    () => new Watcher("x", { poll, interval: 10, jitter: 3 }),
    ['"jitter"', "0 to 1"],
  ],
  [
    "Watcher: relative module path",
    () => new Watcher("x", { poll: { module: "./a.ts" }, interval: 10 }),
    ['"poll.module"', "import.meta.url"],
  ],
  [
    "Watcher: bad worker mode",
    () => new Watcher("x", { poll: { module: sources }, interval: 10, worker: "own" as never }),
    ['"worker"', '"dedicated"'],
  ],
  ["WorkerPool: zero size", () => new WorkerPool({ size: 0 }), ['"size"', "0"]],
  [
    "WorkerPool: bad hangGrace",
    () => new WorkerPool({ hangGrace: -1 }),
    ['"hangGrace"', "duration"],
  ],
  [
    "ManagedProcess: negative terminateTimeout",
    () => new ManagedProcess("x", { terminateTimeout: -1 }),
    ['"terminateTimeout"'],
  ],
  [
    "ManagedProcess: unknown option",
    () => new ManagedProcess("x", { stopSignal: "SIGQUIT" } as never),
    ['"stopSignal"'],
  ],
  [
    "ManagedProcess: bad restart policy",
    () => new ManagedProcess("x", { restart: "sometimes" as never }),
    ['"restart'],
  ],
  [
    "ManagedProcess: zero maxRestarts window",
    () => new ManagedProcess("x", { restart: { policy: "always", window: 0 } }),
    ['"restart.window"'],
  ],
  ["start: empty argv", () => new ManagedProcess("x").start([]), ["argv"]],
  ["start: argv not strings", () => new ManagedProcess("x").start([42 as never]), ["argv"]],
  [
    "start: missing executable",
    () => new ManagedProcess("x").start(["/nonexistent/specter-binary"]),
    ["/nonexistent/specter-binary"],
  ],
  [
    "start: bad stdout mode",
    () => new ManagedProcess("x").start(["true"], { stdout: "file" as never }),
    ['"stdout"', '"pipe"'],
  ],
  [
    "watchStream: stream name",
    () => idleProc.watchStream("stdin" as never, () => {}),
    ['"stdout"', '"stderr"'],
  ],
  [
    "watchStream: callback not a function",
    () => idleProc.watchStream("stdout", 5 as never),
    ["function"],
  ],
  ["attach: owner without addCleanup", () => idleProc.attach({} as never), ["addCleanup"]],
  [
    "Service: zero cleanupTimeout",
    () => new Service("x", { cleanupTimeout: 0 }),
    ['"cleanupTimeout"', "greater than 0"],
  ],
  [
    "Service: unknown option",
    () => new Service("x", { timeout: 5 } as never),
    ['"timeout"', "no such option"],
  ],
  [
    "Service.interval: zero period",
    () => running.interval(() => {}, 0),
    ['"every"', "greater than 0"],
  ],
  [
    "Service.timeout: not a function",
    () => running.timeout("later" as never, "1s"),
    ['"fn"', "a function"],
  ],
  [
    "Service.own: nothing to clean up with",
    () => running.own({ data: 1 }),
    ["stop()", "close()", "Symbol.asyncDispose"],
  ],
  ["Service.adopt: not a service", () => running.adopt({} as never), ["Service"]],
  [
    "Registry.require: missing key",
    () => new Registry().require("db"),
    ['"db"', "provide it first"],
  ],
  [
    "Registry.waitFor: negative timeout",
    () => new Registry().waitFor("db", { timeout: -1 }),
    ['"timeout"'],
  ],
  ["serveStatus: port out of range", () => serveStatus({ port: 70_000 }), ['"port"', "65535"]],
  ["createStatusApp: empty token", () => createStatusApp({ token: "" }), ['"token"', "non-empty"]],
];

const failures: string[] = [];
for (const [what, call, needles] of cases) {
  let message: string | undefined;
  try {
    const result = call();
    if (result instanceof Promise) await result;
  } catch (error) {
    message = (error as Error).message;
  }
  if (message === undefined) failures.push(`${what}: did not throw`);
  else {
    const missing = needles.filter((n) => !message.includes(n));
    if (missing.length) failures.push(`${what}: "${message}" lacks ${missing.join(", ")}`);
  }
}
await g.check(
  `${cases.length} kinds of bad input`,
  "each throws an error naming the option and what is allowed",
  async () => ({
    figure: failures.length
      ? failures.join(" || ")
      : `${cases.length} of ${cases.length} named the option and the allowed values`,
    ok: failures.length === 0,
  }),
);

await g.check("after all that bad input", "nothing was started", async () => {
  const children = descendants().length;
  const workers = WorkerPool.default.stats().workers;
  return {
    figure: `processes ${children}, workers ${workers}, idle process state ${idleProc.state}`,
    ok: children === 0 && workers === 0 && idleProc.state === "idle",
  };
});

await running.stop();
await g.done();
