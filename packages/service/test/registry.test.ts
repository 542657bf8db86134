import { describe, expect, test } from "bun:test";
import { OptionsError } from "@specter/core";
import { collectLines, descendants, isAlive, waitFor } from "@specter/core/testing";
import { type Activity, Registry, RegistryError, Service } from "../src/index.ts";

describe("Registry", () => {
  test("provide, resolve, require, list and unregister", () => {
    const r = new Registry();
    const db = { query: () => 1 };
    expect(r.provide("db", db)).toBe(db);
    expect(r.resolve<typeof db>("db")).toBe(db);
    expect(r.require<typeof db>("db")).toBe(db);
    expect(r.resolve("cache")).toBeUndefined();
    expect(r.list()).toEqual([{ key: "db", kind: "Object", owner: null }]);
    expect(r.unregister("db")).toBe(true);
    expect(r.unregister("db")).toBe(false);
    expect(r.list()).toEqual([]);
  });

  test("a duplicate key is an error unless replace is set", () => {
    const r = new Registry();
    r.provide("port", 1);
    expect(() => r.provide("port", 2)).toThrow(RegistryError);
    expect(() => r.provide("port", 2)).toThrow(
      'provide("port"): the key is taken; pass { replace: true } to replace it, or unregister("port") first',
    );
    r.provide("port", 3, { replace: true });
    expect(r.require("port")).toBe(3);
  });

  test("require of a missing key names the keys there are", () => {
    const r = new Registry();
    r.provide("a", 1);
    r.provide("b", 2);
    expect(() => r.require("c")).toThrow(
      'require("c"): nothing is provided under that key (provided: "a", "b"); provide it first, or use waitFor("c")',
    );
    expect(() => r.require("")).toThrow("require(): the key must be a non-empty string");
  });

  test("an owner's stop unregisters what it provided", async () => {
    const r = new Registry();
    const owner = new Service("db-service");
    await owner.start();
    r.provide("db", { ok: true }, { owner });
    expect(r.list()).toEqual([{ key: "db", kind: "Object", owner: "db-service" }]);
    await owner.stop();
    expect(r.resolve("db")).toBeUndefined();
    expect(() => r.provide("x", 1, { owner: {} as never })).toThrow(
      'provide("x"): options.owner must have addCleanup(fn)',
    );
  });

  test("a replaced value is not removed by its old owner's stop", async () => {
    const r = new Registry();
    const old = new Service("old");
    await old.start();
    r.provide("db", "old", { owner: old });
    r.provide("db", "new", { replace: true });
    await old.stop();
    expect(r.resolve("db")).toBe("new");
  });

  test("a replace with a bad owner throws and leaves the old entry and its owner as they were", async () => {
    const r = new Registry();
    const owner = new Service("a");
    await owner.start();
    r.provide("k", 1, { owner });
    expect(() => r.provide("k", 2, { replace: true, owner: {} as never })).toThrow(
      "options.owner must have addCleanup",
    );
    await owner.stop();
    expect(r.resolve("k")).toBeUndefined();
  });

  test("waitFor can be aborted", async () => {
    const r = new Registry();
    const controller = new AbortController();
    const waiting = r.waitFor("never", { signal: controller.signal });
    controller.abort(new Error("shutting down"));
    await expect(waiting).rejects.toThrow("shutting down");
  });

  test("waitFor resolves when the key is provided, at once if it is, and rejects after its timeout", async () => {
    const r = new Registry();
    const later = r.waitFor<number>("late", { timeout: "1s" });
    setTimeout(() => r.provide("late", 42), 5);
    expect(await later).toBe(42);
    expect(await r.waitFor("late")).toBe(42);
    await expect(r.waitFor("never", { timeout: "20ms" })).rejects.toThrow(
      'waitFor("never"): nothing was provided within 20ms',
    );
    expect(() => r.waitFor("x", { timeout: "soon" })).toThrow(
      'Registry.waitFor("x"): option "timeout" got "soon"',
    );
  });

  test("registered services are listed, names are unique, and stop() stops them most recent first", async () => {
    const r = new Registry();
    const order: string[] = [];
    const make = (name: string) =>
      r.register(new Service(name, { onStop: () => void order.push(name) }));
    const [a, b, c] = [make("a"), make("b"), make("c")];
    await Promise.all([a.start(), b.start(), c.start()]);
    expect(r.services().map((s) => s.name)).toEqual(["a", "b", "c"]);
    expect(r.service("b")).toBe(b);
    expect(() => r.register(new Service("a"))).toThrow(
      'register(): a service named "a" is already registered',
    );
    expect(r.register(a)).toBe(a);
    await r.stop();
    expect(order).toEqual(["c", "b", "a"]);
    expect(r.deregister(b)).toBe(true);
    expect(r.services().map((s) => s.name)).toEqual(["a", "c"]);
  });

  test('on("activity") and onActivity see every registered service; unknown events are OptionsErrors', async () => {
    const r = new Registry();
    const seen: string[] = [];
    const off = r.on("activity", (a: Activity) => void seen.push(`${a.service} ${a.type}`));
    const old: string[] = [];
    r.onActivity((a) => void old.push(a.service));
    const svc = r.register(new Service("watched"));
    await svc.start();
    off();
    await svc.stop();
    expect(seen).toEqual(["watched service", "watched service"]);
    expect(old).toEqual(["watched", "watched", "watched", "watched"]);
    expect(() => r.on("state" as never, () => {})).toThrow(OptionsError);
  });

  test("stopRequested is true from the moment stop() is called, and stays true", async () => {
    const r = new Registry();
    const gate = Promise.withResolvers<void>();
    const svc = r.register(new Service("slow-stop", { onStop: () => gate.promise }));
    await svc.start();
    expect(r.stopRequested).toBe(false);
    const stopping = r.stop();
    expect(r.stopRequested).toBe(true);
    gate.resolve();
    await stopping;
    expect(r.stopRequested).toBe(true);
  });
});

describe("Registry.handleSignals", () => {
  test("SIGTERM stops every registered service, then ends the host by the signal; no process survives", async () => {
    const host = Bun.spawn(
      [process.execPath, new URL("./fixtures/host.ts", import.meta.url).pathname],
      { stdout: "pipe", stderr: "pipe" },
    );
    const { lines: out, done: reading } = collectLines(host.stdout);
    try {
      await waitFor(() => out.includes("ready"), { timeout: 5000 });
      await waitFor(() => descendants(host.pid).length >= 3, { timeout: 5000 });
      const tree = descendants(host.pid);
      host.kill("SIGTERM");
      await host.exited;
      await reading;
      expect(host.signalCode).toBe("SIGTERM");
      expect(out).toEqual(["ready", "cleanup ran"]);
      expect(tree.filter(isAlive)).toEqual([]);
      expect(await new Response(host.stderr).text()).toBe("");
    } finally {
      host.kill("SIGKILL");
    }
  }, 15_000);

  test('the signal list form: handleSignals(["SIGTERM"]) stops, then ends the host by the signal', async () => {
    const run = await host("array");
    expect(run.signalCode).toBe("SIGTERM");
    expect(run.lines).toEqual(["ready", "stopping"]);
    expect(run.left).toEqual([]);
  }, 15_000);

  test("with options: onSignal first, then the stop; onStopped after it, and the signal is not raised again", async () => {
    const run = await host("on-stopped");
    expect(run.signalCode).toBeNull();
    expect(run.exitCode).toBe(3);
    expect(run.lines).toEqual([
      "ready",
      "got SIGTERM; stopRequested false",
      "stopping",
      "stopped by SIGTERM; stopRequested true",
    ]);
    expect(run.left).toEqual([]);
  }, 15_000);

  test("a second signal while stopping goes to onRepeat, and the stop carries on", async () => {
    const run = await host("repeat", (child) => child.kill("SIGINT"));
    expect(run.exitCode).toBe(3);
    expect(run.lines).toEqual([
      "ready",
      "got SIGTERM; stopRequested false",
      "stopping",
      "repeat SIGINT",
      "stopped by SIGTERM; stopRequested true",
    ]);
    expect(run.left).toEqual([]);
  }, 15_000);

  test("without onRepeat, a second signal ends the host at once, also when processes hooked the signal first", async () => {
    // onStop never returns: only the second signal can end this host. The managed processes' own
    // host hooks were installed before the registry's handler, and both must not wait for the
    // other to raise it.
    const run = await host("repeat-default", (child) => child.kill("SIGTERM"));
    expect(run.signalCode).toBe("SIGTERM");
    expect(run.lines).toEqual(["ready", "stopping"]);
    expect(run.left).toEqual([]);
  }, 15_000);

  test("bad options are OptionsErrors", () => {
    const r = new Registry();
    expect(() => r.handleSignals({ onStopped: 1 } as never)).toThrow(
      'Registry.handleSignals(): option "onStopped" got 1: expected a function (signal) => void',
    );
    expect(() => r.handleSignals(["SIGUSR1"] as never)).toThrow('option "signals.0"');
  });
});

/**
 * Runs fixtures/signals.ts in `mode`, sends SIGTERM once it is ready and, once it says
 * "stopping", calls `whileStopping`. Returns how it ended, what it printed and which of its
 * processes are left.
 */
async function host(mode: string, whileStopping?: (child: Bun.Subprocess) => void) {
  const child = Bun.spawn(
    [process.execPath, new URL("./fixtures/signals.ts", import.meta.url).pathname, mode],
    { stdout: "pipe", stderr: "pipe" },
  );
  const { lines, done: reading } = collectLines(child.stdout);
  try {
    await waitFor(() => lines.includes("ready"), { timeout: 5000 });
    await waitFor(() => descendants(child.pid).length >= 3, { timeout: 5000 });
    const tree = descendants(child.pid);
    child.kill("SIGTERM");
    if (whileStopping) {
      await waitFor(() => lines.includes("stopping"), { timeout: 5000 });
      whileStopping(child);
    }
    await child.exited;
    await reading;
    expect(await new Response(child.stderr).text()).toBe("");
    return {
      lines,
      exitCode: child.exitCode,
      signalCode: child.signalCode,
      left: tree.filter(isAlive),
    };
  } finally {
    child.kill("SIGKILL");
  }
}
