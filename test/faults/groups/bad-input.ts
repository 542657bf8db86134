/**
 * Fault group: bad input. Every public constructor and method, given wrong types, negative or zero
 * durations, unknown options and the like, must throw an error that names the option (or argument)
 * and what is allowed, and leave nothing started.
 */

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandLine, descendants, waitFor } from "@specter/core/testing";
import { ManagedProcess } from "@specter/process";
import { createStatusApp, maskArgv, Registry, Service, serveStatus } from "@specter/service";
import { Watcher, WorkerPool } from "@specter/watcher";
import { leaks, REALISTIC_ARGVS, SECRET_MARK } from "../fixtures/argv-secrets.ts";
import { group } from "../lib.ts";

const g = group("bad-input");
// Bun's fetch client and server keep an epoll and an eventfd once used: warm them up before the
// fd baseline (the live /status check below fetches).
const warmUp = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
await (await fetch(warmUp.url)).text();
await warmUp.stop(true);
g.baseline();
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
    "ManagedProcess: initialBackoff 0",
    () => new ManagedProcess("x", { restart: { policy: "always", initialBackoff: 0 } }),
    ['"restart.initialBackoff"', "got 0", "from 10ms to 24 days"],
  ],
  [
    "ManagedProcess: maxBackoff under the floor",
    () => new ManagedProcess("x", { restart: { initialBackoff: 10, maxBackoff: "1ms" } }),
    ['"restart.maxBackoff"', '"1ms"', "from 10ms"],
  ],
  [
    "ManagedProcess: options not an object",
    () => new ManagedProcess("x", [] as never),
    ["got []", "an options object"],
  ],
  [
    "start: env value not a string",
    () => new ManagedProcess("x").start(["true"], { env: { PORT: 3000 } as never }),
    ['"env.PORT"', "got 3000", "a string"],
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

await g.check(
  "`initialBackoff: 0` for a ManagedProcess",
  "refused, naming the option, the value and the range (a floor of 10 ms, not a rate limit)",
  async () => {
    let message = "accepted";
    try {
      new ManagedProcess("storm", { restart: { policy: "always", initialBackoff: 0 } });
    } catch (error) {
      message = (error as Error).message;
    }
    return {
      figure: `was accepted (434 restarts/s in the issue); now: ${message}`,
      ok: message.includes('"restart.initialBackoff" got 0') && message.includes("10ms"),
    };
  },
);

await g.check(
  "a crash loop at the backoff floor (initialBackoff = maxBackoff = 10ms, `true` exits at once)",
  "at most 100 restarts a second, and one guard process for all of them",
  async () => {
    const proc = new ManagedProcess("storm", {
      restart: { policy: "always", maxRestarts: 100_000, initialBackoff: 10, maxBackoff: 10 },
    });
    let restarts = 0;
    proc.on("restart", () => restarts++);
    const guards = new Set<number>();
    proc.start(["true"], { stdout: "ignore", stderr: "ignore" });
    const t0 = performance.now();
    while (performance.now() - t0 < 2_000) {
      for (const pid of descendants()) {
        if (commandLine(pid).join(" ").includes("specter-orphan-guard")) guards.add(pid);
      }
      await Bun.sleep(50);
    }
    const perSecond = Math.round(restarts / ((performance.now() - t0) / 1_000));
    await proc.stop();
    return {
      figure: `${perSecond} restarts/s over 2 s (initialBackoff 0 allowed 126/s on this machine before, 434/s in the issue), ${guards.size} guard process`,
      ok: perSecond <= 100 && guards.size <= 1,
    };
  },
);

await g.check(
  "a non-string env value (`env: { PORT: 3000 }`)",
  "the error names the key and says a string is expected, and what it got",
  async () => {
    let message = "accepted";
    try {
      new ManagedProcess("env").start(["true"], { env: { PORT: 3000 } as never });
    } catch (error) {
      message = (error as Error).message;
    }
    return {
      figure: `was "expected Invalid input"; now: ${message}`,
      ok:
        message.includes('"env.PORT" got 3000: expected a string') && !message.includes("Invalid"),
    };
  },
);

await g.check(
  `maskArgv on ${REALISTIC_ARGVS.length} realistic command lines with secrets`,
  "none shows its secret (short flags of known programs, user:pass, headers, URLs, JSON, key=value)",
  async () => {
    const leaked = leaks(maskArgv);
    return {
      figure: `${leaked.length} of ${REALISTIC_ARGVS.length} leaked (before: 22 of the first 32, and 4 of the review's last 4; 17 of 30 in the issue)${
        leaked.length ? `: ${leaked.map((a) => a.join(" ")).join(" | ")}` : ""
      }`,
      ok: leaked.length === 0,
    };
  },
);

await g.check(
  `live /status and status page of ${REALISTIC_ARGVS.length} real processes started with those command lines`,
  "no secret in GET /status or GET / (real HTTP on 127.0.0.1)",
  async () => {
    // Each program is a stand-in of that name that sleeps, so the argv is exactly the realistic one
    // (`sh -c "mysql ..."` and `env ... psql` find the stand-ins on PATH).
    const bin = mkdtempSync(join(tmpdir(), "specter-argv-"));
    const names = new Set(REALISTIC_ARGVS.flat().filter((w) => /^[a-z][\w-]*$/.test(w)));
    for (const name of names) {
      if (name === "sh" || name === "env") continue;
      writeFileSync(join(bin, name), "#!/bin/sh\nexec sleep 30\n");
      chmodSync(join(bin, name), 0o755);
    }
    const registry = new Registry();
    const svc = registry.register(new Service("secrets"));
    await svc.start();
    const server = serveStatus({ registry });
    try {
      const env = { PATH: `${bin}:${process.env.PATH}` };
      for (const [program, ...rest] of REALISTIC_ARGVS) {
        const path =
          program === "sh" || program === "env"
            ? (program as string)
            : join(bin, program as string);
        svc.startProcess([path, ...rest], { env, stdout: "ignore", stderr: "ignore" });
      }
      await waitFor(() => svc.ownedProcesses().every((p) => p.state === "running"), {
        timeout: 10_000,
      });
      const status = await (await fetch(`${server.url}status`)).text();
      const page = await (await fetch(server.url)).text();
      const shown = (JSON.parse(status).services[0]?.processes ?? []).length;
      const inStatus = status.split(SECRET_MARK).length - 1;
      const inPage = page.split(SECRET_MARK).length - 1;
      return {
        figure: `${shown} processes on /status; secrets shown: /status ${inStatus}, page ${inPage} (before: /status 22, page 44; the issue saw "-p S3CR3T_B" and "x:S3CR3T_C")`,
        ok: shown === REALISTIC_ARGVS.length && inStatus === 0 && inPage === 0,
      };
    } finally {
      await server.stop();
      await svc.stop();
      rmSync(bin, { recursive: true, force: true });
    }
  },
);

await running.stop();
await g.done();
