import { afterEach, describe, expect, test } from "bun:test";
import { OptionsError, Scope } from "@specter/core";
import { descendants, isAlive, waitFor } from "@specter/core/testing";
import { ManagedProcess } from "@specter/process";
import { Watcher } from "@specter/watcher";
import {
  type Activity,
  Registry,
  Service,
  type ServiceError,
  type ServiceState,
} from "../src/index.ts";

const services: { stop(): Promise<void> }[] = [];
function track<S extends { stop(): Promise<void> }>(s: S): S {
  services.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

function errorsOf(s: { onError(fn: (e: ServiceError) => unknown): unknown }): ServiceError[] {
  const errors: ServiceError[] = [];
  s.onError((e) => {
    errors.push(e);
  });
  return errors;
}

/** A resource that records when it was released. */
function resource(log: string[], name: string, method: "stop" | "close" | "destroy" = "stop") {
  return { [method]: () => log.push(name) } as Record<string, () => unknown>;
}

describe("Service lifecycle", () => {
  test("runs onStart once and onStop once; start and stop are idempotent and concurrent-safe", async () => {
    const log: string[] = [];
    class Counter extends Service {
      override async onStart() {
        log.push("start");
        await Bun.sleep(5);
      }
      override onStop() {
        log.push("stop");
      }
    }
    const s = track(new Counter("counter"));
    const states: ServiceState[] = [];
    s.onLifecycle((state) => {
      states.push(state);
    });
    const [a, b] = [s.start(), s.start()];
    expect(a).toBe(b);
    await a;
    await s.start();
    expect(s.running).toBe(true);
    await Promise.all([s.stop(), s.stop()]);
    await s.stop();
    expect(log).toEqual(["start", "stop"]);
    expect(states).toEqual(["starting", "running", "stopping", "stopped"]);
  });

  test("stop releases owned resources in reverse order, after onStop", async () => {
    const log: string[] = [];
    const s = track(
      new Service("owner", {
        onStart(svc) {
          svc.own(resource(log, "first"));
          svc.own(resource(log, "second", "close"));
          svc.addCleanup(() => log.push("cleanup"));
          svc.own(resource(log, "third", "destroy"));
        },
        onStop() {
          log.push("onStop");
        },
      }),
    );
    await s.start();
    await s.stop();
    expect(log).toEqual(["onStop", "third", "cleanup", "second", "first"]);
  });

  test("own() finds every kind of cleanup method, including dispose symbols, and returns the resource", async () => {
    const log: string[] = [];
    const s = track(new Service("kinds"));
    await s.start();
    const methods = ["stop", "close", "disconnect", "destroy", "terminate", "kill"];
    for (const m of methods) s.own({ [m]: () => log.push(m) });
    s.own({ [Symbol.asyncDispose]: async () => log.push("asyncDispose") });
    s.own({ [Symbol.dispose]: () => log.push("dispose") });
    const custom = { shutdown: () => log.push("shutdown") };
    expect(s.own(custom, "shutdown")).toBe(custom);
    s.own({ end: () => log.push("end") }, (r) => r.end());
    await s.stop();
    expect(log).toEqual(["end", "shutdown", "dispose", "asyncDispose", ...methods.reverse()]);
  });

  test("own() of something without a cleanup method is a TypeError naming what was tried", () => {
    const s = new Service("picky");
    expect(() => s.own({ name: "socket" })).toThrow(TypeError);
    expect(() => s.own({ name: "socket" })).toThrow(
      "own(): cannot tell how to release this Object: it has none of stop(), close(), disconnect(), destroy(), terminate(), kill(), [Symbol.asyncDispose]() or [Symbol.dispose]()",
    );
    expect(() => s.own({ stop: 1 }, "stop")).toThrow("own(): the resource has no method stop()");
    expect(() => s.own(42)).toThrow("own(): expected an object with a cleanup method, got number");
  });

  test("a failing onStart rolls back what it acquired and rejects with the cause", async () => {
    const log: string[] = [];
    const cause = new Error("database unreachable");
    class Half extends Service {
      override onStart() {
        this.own(resource(log, "acquired-1"));
        this.own(resource(log, "acquired-2"));
        throw cause;
      }
    }
    const s = track(new Half("half"));
    const errors = errorsOf(s);
    expect(s.start()).rejects.toBe(cause);
    await waitFor(() => s.state === "failed");
    expect(log).toEqual(["acquired-2", "acquired-1"]);
    expect(errors[0]?.phase).toBe("start");
    expect(errors[0]?.message).toBe(
      'service "half": onStart failed: database unreachable; released what it had acquired',
    );
    expect(s.health().owned).toBe(0);
  });

  test("a failing cleanup is reported and the rest still run", async () => {
    const log: string[] = [];
    const s = track(new Service("brittle"));
    const errors = errorsOf(s);
    await s.start();
    s.own(resource(log, "a"));
    s.addCleanup(() => {
      throw new Error("flush failed");
    }, "flush");
    s.own(resource(log, "b"));
    await s.stop();
    expect(log).toEqual(["b", "a"]);
    expect(errors.map((e) => e.message)).toEqual(['service "brittle": flush failed: flush failed']);
    expect(s.state).toBe("stopped");
  });

  test("a cleanup that never settles is bounded by cleanupTimeout; the rest still run", async () => {
    const log: string[] = [];
    const s = track(new Service("stuck", { cleanupTimeout: "50ms" }));
    const errors = errorsOf(s);
    await s.start();
    s.own(resource(log, "after-stuck"));
    s.addCleanup(() => new Promise(() => {}), "hung socket");
    const t0 = performance.now();
    await s.stop();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(log).toEqual(["after-stuck"]);
    expect(errors[0]?.message).toBe(
      'service "stuck": hung socket did not finish within 50ms (cleanupTimeout); moved on',
    );
  });

  test("the last call wins: stop(); start(); stop() ends stopped, start(); stop(); start() ends running", async () => {
    const a = track(new Service("a", { onStart: () => Bun.sleep(5) }));
    a.stop();
    a.start().catch(() => {});
    await a.stop();
    expect(a.state).toBe("stopped");
    const b = track(new Service("b", { onStart: () => Bun.sleep(5) }));
    b.start();
    b.stop();
    await b.start();
    expect(b.state).toBe("running");
  });

  test("stop() during an onStart that never returns aborts the signal, waits cleanupTimeout, then rolls back", async () => {
    const log: string[] = [];
    let signal: AbortSignal | undefined;
    const s = track(
      new Service("hangs", {
        cleanupTimeout: "50ms",
        onStart(svc) {
          svc.own(resource(log, "acquired"));
          signal = svc.signal;
          return new Promise(() => {});
        },
      }),
    );
    const starting = s.start();
    await waitFor(() => s.state === "starting" && signal !== undefined);
    await s.stop();
    expect(signal?.aborted).toBe(true);
    await expect(starting).rejects.toThrow(
      'service "hangs": start abandoned because stop() was called while onStart was running',
    );
    expect(s.state).toBe("stopped");
    expect(log).toEqual(["acquired"]);
  });

  test("a resource owned after the service failed or stopped is released at once", async () => {
    const log: string[] = [];
    const s = track(new Service("late", { onStart: () => Promise.reject(new Error("no")) }));
    const errors = errorsOf(s);
    await expect(s.start()).rejects.toThrow("no");
    s.own(resource(log, "late-resource"));
    await waitFor(() => log.length === 1);
    expect(errors.map((e) => e.message)).toContain(
      'service "late": own(Object) after the service failed: released at once',
    );
    expect(s.health().owned).toBe(0);
  });

  test("can start again after stop", async () => {
    let starts = 0;
    const s = track(new Service("again", { onStart: () => void starts++ }));
    await s.start();
    await s.stop();
    await s.start();
    expect(starts).toBe(2);
    expect(s.state).toBe("running");
  });

  test("await using stops the service", async () => {
    const log: string[] = [];
    let svc: Service | undefined;
    {
      await using s = new Service("scoped", { onStart: (x) => void x.own(resource(log, "r")) });
      await s.start();
      svc = s;
    }
    expect(svc?.state).toBe("stopped");
    expect(log).toEqual(["r"]);
  });

  test("bad names and options are OptionsErrors", () => {
    expect(() => new Service("")).toThrow(OptionsError);
    expect(() => new Service("x", { cleanupTimeout: "forever" })).toThrow(
      'Service "x": option "cleanupTimeout" got "forever"',
    );
    expect(() => new Service("x", { colour: 1 } as never)).toThrow(
      'option "colour" got 1: expected no such option',
    );
  });
});

describe("children", () => {
  test("adopt starts a child; stopping the parent stops children in reverse order, three deep", async () => {
    const log: string[] = [];
    const leaf = (name: string) =>
      new Service(name, {
        onStart: (s) => void s.addCleanup(() => log.push(`${name} released`)),
        onStop: () => void log.push(`${name} stopping`),
      });
    const root = track(
      new Service("root", {
        async onStart(s) {
          const mid = await s.adopt(
            new Service("mid", {
              async onStart(m) {
                await m.adopt(leaf("leaf-a"));
                await m.adopt(leaf("leaf-b"));
              },
            }),
          );
          expect(mid.running).toBe(true);
          await s.adopt(leaf("sibling"));
        },
      }),
    );
    await root.start();
    expect(root.health().children.map((c) => c.name)).toEqual(["mid", "sibling"]);
    await root.stop();
    expect(log).toEqual([
      "sibling stopping",
      "sibling released",
      "leaf-b stopping",
      "leaf-b released",
      "leaf-a stopping",
      "leaf-a released",
    ]);
  });

  test("a child that fails to start fails the parent's start, and the parent rolls back", async () => {
    const log: string[] = [];
    const parent = track(
      new Service("parent", {
        async onStart(s) {
          s.own(resource(log, "parent-resource"));
          await s.adopt(
            new Service("child", { onStart: () => Promise.reject(new Error("child broke")) }),
          );
        },
      }),
    );
    parent.onError(() => {});
    await expect(parent.start()).rejects.toThrow("child broke");
    expect(parent.state).toBe("failed");
    expect(log).toEqual(["parent-resource"]);
  });
});

describe("managed timers and tasks", () => {
  test("interval, timeout and spawn are cancelled on stop", async () => {
    let ticks = 0;
    let fired = false;
    let aborted = false;
    const s = track(new Service("timers"));
    await s.start();
    s.interval(() => void ticks++, "5ms");
    s.timeout(() => {
      fired = true;
    }, "1h");
    const task = s.spawn(
      (signal) =>
        new Promise<string>((resolve) =>
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve("cleaned up");
          }),
        ),
    );
    await waitFor(() => ticks >= 3);
    expect(s.health().tasks).toEqual({ intervals: 1, timeouts: 1, spawned: 1 });
    await s.stop();
    const after = ticks;
    expect(aborted).toBe(true);
    expect(await task.done).toBe("cleaned up");
    expect(task.active).toBe(false);
    expect(s.health().tasks).toEqual({ intervals: 0, timeouts: 0, spawned: 0 });
    await Bun.sleep(20); // a leaked interval would tick again
    expect(ticks).toBe(after);
    expect(fired).toBe(false);
  });

  test("handles cancel early; a fired timeout leaves nothing to clean up", async () => {
    let ticks = 0;
    let fired = 0;
    const s = track(new Service("early"));
    await s.start();
    const every = s.interval(() => void ticks++, "5ms");
    s.timeout(() => void fired++, "5ms");
    await waitFor(() => ticks >= 2 && fired === 1);
    every.cancel();
    every.cancel();
    expect(every.active).toBe(false);
    await waitFor(() => s.health().owned === 0);
    expect(s.health().tasks).toEqual({ intervals: 0, timeouts: 0, spawned: 0 });
  });

  test("tasks that end because of the stop's abort are not reported as errors", async () => {
    const s = track(new Service("quiet-stop"));
    const errors = errorsOf(s);
    await s.start();
    const onAbort = (signal: AbortSignal) =>
      new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    let runs = 0;
    s.interval((signal) => {
      runs++;
      return onAbort(signal);
    }, "1ms");
    await waitFor(() => runs === 1);
    s.spawn(onAbort);
    await s.stop();
    expect(errors).toEqual([]);
  });

  test("errors in timers and tasks are reported, not thrown into the void", async () => {
    const s = track(new Service("faulty"));
    const errors = errorsOf(s);
    await s.start();
    s.timeout(() => {
      throw new Error("timer bug");
    }, "1ms");
    const task = s.spawn(async () => {
      throw new Error("task bug");
    });
    expect(await task.done).toBeUndefined();
    await waitFor(() => errors.length === 2);
    expect(errors.map((e) => e.message).sort()).toEqual([
      'service "faulty": task failed: task bug',
      'service "faulty": timeout failed: timer bug',
    ]);
  });

  test("an interval does not overlap a run that is still going", async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const s = track(new Service("slow-interval"));
    await s.start();
    s.interval(async () => {
      running++;
      most = Math.max(most, running);
      await Bun.sleep(20);
      running--;
      runs++;
    }, "2ms");
    await waitFor(() => runs >= 3);
    expect(most).toBe(1);
  });

  test("scheduling on a stopped service is an error; bad durations are OptionsErrors", async () => {
    const s = new Service("idle");
    expect(() => s.interval(() => {}, "1s")).toThrow(
      'Service "idle".interval(): the service is idle; schedule work from onStart() or while it runs',
    );
    track(s);
    await s.start();
    expect(() => s.interval(() => {}, "often")).toThrow(
      'Service "idle".interval(): option "every" got "often"',
    );
    expect(() => s.timeout("nope" as never, 5)).toThrow(
      'option "fn" got "nope": expected a function',
    );
  });
});

describe("events and state", () => {
  test("emit and listen are typed; listeners end when the listening service stops", async () => {
    const hub = track(new Service<{ events: { alert: { level: number } } }>("hub"));
    const listener = track(new Service("listener"));
    await hub.start();
    await listener.start();
    const got: number[] = [];
    listener.listen(hub, "alert", (data) => {
      got.push(data.level);
    });
    const own: number[] = [];
    hub.listen("alert", (data) => {
      own.push(data.level);
    });
    hub.emit("alert", { level: 1 });
    await listener.stop();
    hub.emit("alert", { level: 2 });
    expect(got).toEqual([1]);
    expect(own).toEqual([1, 2]);
  });

  test("setData merges shallowly and notifies; onData supports immediate and owner", async () => {
    const s = track(
      new Service<{ data: { load: number; disk?: number } }>("with-data", {
        initialData: { load: 0 },
      }),
    );
    const owner = track(new Service("owner"));
    await owner.start();
    const seen: [number, number][] = [];
    s.onData((data, previous) => void seen.push([data.load, previous.load]), {
      immediate: true,
      owner,
    });
    const all: number[] = [];
    const off = s.on("data", (data) => void all.push(data.load));
    const before = s.data;
    s.setData({ load: 1 });
    s.setData({ disk: 5 });
    expect(s.data).toEqual({ load: 1, disk: 5 });
    expect(before).toEqual({ load: 0 }); // each change is a new object
    await owner.stop();
    off();
    s.setData({ load: 2 });
    expect(seen).toEqual([
      [0, 0],
      [1, 0],
      [1, 1],
    ]);
    expect(all).toEqual([1, 1]);
    expect(() => new Service("both", { initialData: {}, initialState: {} })).toThrow(
      'Service "both": option "initialState" got {}: expected only one of initialData and initialState',
    );
  });

  test("a throwing data listener is reported, with immediate too", async () => {
    const s = track(new Service<{ data: { n: number } }>("bad-data", { initialData: { n: 0 } }));
    const errors = errorsOf(s);
    s.onData(
      () => {
        throw new Error("data bug");
      },
      { immediate: true },
    );
    s.setData({ n: 1 });
    expect(errors.map((e) => [e.phase, e.message])).toEqual([
      ["listener", 'service "bad-data": a listener of "data" threw: data bug'],
      ["listener", 'service "bad-data": a listener of "data" threw: data bug'],
    ]);
  });

  test("deprecated: getState, setState, subscribe and initialState still work, as data, setData and onData", async () => {
    const s = track(
      new Service<{ state: { load: number; disk?: number } }>("stateful", {
        initialState: { load: 0 },
      }),
    );
    expect(s.data).toEqual({ load: 0 });
    const owner = track(new Service("owner"));
    await owner.start();
    const seen: [number, number][] = [];
    s.subscribe((state, previous) => void seen.push([state.load, previous.load]), {
      immediate: true,
      owner,
    });
    s.setState({ load: 1 });
    s.setState({ disk: 5 });
    expect(s.getState()).toEqual({ load: 1, disk: 5 });
    expect(s.getState()).toBe(s.data);
    await owner.stop();
    s.setState({ load: 2 });
    expect(seen).toEqual([
      [0, 0],
      [1, 0],
      [1, 1],
    ]);
  });

  test("unsubscribing a subscription with an owner also removes it from the owner", async () => {
    const s = track(new Service<{ state: { n: number } }>("source", { initialState: { n: 0 } }));
    const owner = track(new Service("owner"));
    await owner.start();
    for (let i = 0; i < 100; i++) s.subscribe(() => {}, { owner })();
    expect(owner.health().owned).toBe(0);
  });

  test("a throwing state subscriber or event listener is reported and the others still run", async () => {
    const s = track(new Service<{ events: { ping: number } }>("iso"));
    const errors = errorsOf(s);
    await s.start();
    const got: number[] = [];
    s.listen("ping", () => {
      throw new Error("listener bug");
    });
    s.listen("ping", (n) => void got.push(n));
    s.emit("ping", 7);
    expect(got).toEqual([7]);
    expect(errors[0]?.message).toBe('service "iso": a listener of "ping" threw: listener bug');
  });
});

describe("owning watchers and processes", () => {
  test("a service owning a watcher shows it in health and stops it", async () => {
    let n = 0;
    class MonitorService extends Service {
      watcher!: Watcher<number>;
      override onStart() {
        this.watcher = this.own(new Watcher("disk", { poll: () => ++n, interval: "5ms" }));
        this.watcher.start();
      }
    }
    const svc = track(new MonitorService("monitor"));
    await svc.start();
    await waitFor(() => svc.watcher.health().delivered >= 2);
    expect(svc.health().watchers.map((w) => [w.name, w.state])).toEqual([["disk", "running"]]);
    await svc.stop();
    expect(svc.watcher.state).toBe("stopped");
    expect(svc.health().watchers).toEqual([]);
  });

  test("startProcess starts a process the service owns; stop leaves no process behind", async () => {
    const svc = track(new Service("procs"));
    await svc.start();
    const proc = svc.startProcess(["sh", "-c", "sleep 30 & sleep 30 & wait"], {
      terminateTimeout: "2s",
    });
    const pid = proc.pid as number;
    await waitFor(() => descendants(pid).length === 2);
    const tree = [pid, ...descendants(pid)];
    expect(svc.health().processes.map((p) => [p.name, p.state])).toEqual([["sh", "running"]]);
    await svc.stop();
    expect(tree.filter(isAlive)).toEqual([]);
    expect(proc.state).toBe("stopped");
  }, 10_000);

  test("a failing onStart leaves no process or worker behind", async () => {
    const sources = new URL("../../watcher/test/fixtures/sources.ts", import.meta.url);
    let pid = 0;
    let watcher: Watcher | undefined;
    const s = track(
      new Service("rollback", {
        onStart(svc) {
          pid = svc.startProcess(["sleep", "30"]).pid as number;
          watcher = svc.own(
            new Watcher("w", { poll: { module: sources, export: "counter" }, interval: "5ms" }),
          );
          watcher.start();
          throw new Error("config missing");
        },
      }),
    );
    s.onError(() => {});
    await expect(s.start()).rejects.toThrow("config missing");
    expect(isAlive(pid)).toBe(false);
    expect(watcher?.state).toBe("stopped");
  }, 10_000);
});

describe("on(event, fn)", () => {
  test("state, error, activity and data events; each returns an unsubscribe; the old names are the same", async () => {
    const s = track(new Service<{ data: { n: number } }>("observed", { initialData: { n: 0 } }));
    const got: string[] = [];
    const offs = [
      s.on("state", (state, previous) => void got.push(`state ${previous}->${state}`)),
      s.on("error", (error) => void got.push(`error ${error.phase}`)),
      s.on("activity", (a: Activity) => void got.push(`activity ${a.type}`)),
      s.on("data", (data, previous) => void got.push(`data ${previous.n}->${data.n}`)),
    ];
    const old: string[] = [];
    s.onLifecycle((state) => void old.push(state));
    s.onError((error) => void old.push(error.phase));
    s.onActivity((a) => void old.push(a.type));
    await s.start();
    s.setData({ n: 1 });
    s.timeout(() => {
      throw new Error("boom");
    }, "1ms");
    await waitFor(() => got.includes("error task"));
    for (const off of offs) {
      off();
      off(); // twice is harmless
    }
    await s.stop();
    s.setData({ n: 2 });
    expect(got).toEqual([
      "state idle->starting",
      "activity service",
      "state starting->running",
      "activity service",
      "data 0->1",
      "activity data",
      "activity error",
      "error task",
    ]);
    expect(old).toEqual([
      "starting",
      "service",
      "running",
      "service",
      "data",
      "error",
      "task",
      "stopping",
      "service",
      "stopped",
      "service",
      "data",
    ]);
  });

  test("an unknown event or a listener that is not a function is an OptionsError", () => {
    const s = new Service("strict-events");
    expect(() => s.on("lifecycle" as never, () => {})).toThrow(OptionsError);
    expect(() => s.on("lifecycle" as never, () => {})).toThrow(
      'Service "strict-events".on(): option "event" got "lifecycle": expected one of "state", "error", "activity", "data"',
    );
    expect(() => s.on("state", 5 as never)).toThrow("expected a function");
  });

  test("a throwing state listener is reported as a listener error; the others still run", async () => {
    const s = track(new Service("throwing-state"));
    const errors = errorsOf(s);
    const states: ServiceState[] = [];
    s.on("state", () => {
      throw new Error("state bug");
    });
    s.on("state", (state) => void states.push(state));
    await s.start();
    expect(states).toEqual(["starting", "running"]);
    expect(errors[0]?.message).toBe(
      'service "throwing-state": a listener of "state" threw: state bug',
    );
  });
});

describe("the service's scope", () => {
  test("a stop closes the lifetime's scope and the next start opens a fresh one; cleanups added while stopped run at once", async () => {
    const log: string[] = [];
    const s = track(new Service("lifetimes"));
    s.addCleanup(() => log.push("added before start"));
    const first = s.scope;
    expect(first).toBeInstanceOf(Scope);
    expect(first.state).toBe("open");
    await s.start();
    const child = s.scope.fork("request");
    child.addCleanup(() => log.push("forked scope"));
    await s.stop();
    expect(log).toEqual(["forked scope", "added before start"]);
    expect(first.state).toBe("closed");
    expect(child.state).toBe("closed");
    s.onError(() => {}); // the late cleanup is reported
    s.addCleanup(() => log.push("added after stop"));
    await waitFor(() => log.length === 3);
    expect(s.health().owned).toBe(0);
    await s.start();
    expect(s.scope).not.toBe(first);
    expect(s.scope.state).toBe("open");
    s.addCleanup(() => log.push("second lifetime"));
    await s.stop();
    expect(log).toEqual([
      "forked scope",
      "added before start",
      "added after stop",
      "second lifetime",
    ]);
  });

  test("addCleanup of something that is not a function is an OptionsError naming the service", () => {
    expect(() => new Service("tidy").addCleanup("later" as never)).toThrow(
      'Service "tidy".addCleanup(): option "fn" got "later": expected a function',
    );
  });

  test("a stop of a service that never started still runs the cleanups added to it", async () => {
    const log: string[] = [];
    const s = new Service("never-started");
    s.addCleanup(() => log.push("ran"));
    await s.stop();
    expect(log).toEqual(["ran"]);
    expect(s.state).toBe("stopped");
  });

  test("a core Scope owns registry keys, data subscriptions and processes (attach)", async () => {
    const scope = new Scope("request");
    const registry = new Registry();
    registry.provide("db", { ok: true }, { owner: scope });
    expect(registry.list()).toEqual([{ key: "db", kind: "Object", owner: "request" }]);
    const s = track(new Service<{ data: { n: number } }>("source", { initialData: { n: 0 } }));
    const seen: number[] = [];
    s.onData((data) => void seen.push(data.n), { owner: scope });
    const proc = new ManagedProcess("sleeper", { terminateTimeout: "2s" }).attach(scope);
    proc.start(["sleep", "30"]);
    const pid = proc.pid as number;
    s.setData({ n: 1 });
    await scope.close();
    s.setData({ n: 2 });
    expect(seen).toEqual([1]);
    expect(registry.resolve("db")).toBeUndefined();
    expect(proc.state).toBe("stopped");
    expect(isAlive(pid)).toBe(false);
    expect(() => s.onData(() => {}, { owner: {} as never })).toThrow(
      "onData(): options.owner must have addCleanup(fn), like a Service or a Scope",
    );
  }, 10_000);
});
