import { describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { Scope } from "@specter/core";
import { descendants, isAlive, waitFor } from "@specter/core/testing";
import { ManagedProcess } from "@specter/process";
import { Watcher, WorkerPool } from "@specter/watcher";
import { Service } from "../src/index.ts";
import { cleanupAfterEach } from "./cleanups.ts";
import { spinMarker } from "./fixtures/spin-source.ts";

const cleanups = cleanupAfterEach();

/** sh and a sleep, both ignoring SIGTERM: they end only by SIGKILL, after `terminateTimeout`. */
const STUBBORN = ["sh", "-c", "trap '' TERM; sleep 30 & wait"];

/** The pids of a started process's tree, once its child is up. */
async function treeOf(proc: ManagedProcess): Promise<number[]> {
  const pid = proc.pid as number;
  await waitFor(() => descendants(pid).length === 1);
  return [pid, ...descendants(pid)];
}

/** A started service with a short `cleanupTimeout`, stopped after the test; its errors collected. */
async function startedService(name: string, cleanupTimeout: string) {
  const s = new Service(name, { cleanupTimeout });
  cleanups.push(() => s.stop());
  const errors: string[] = [];
  s.onError((e) => void errors.push(e.message));
  await s.start();
  return { s, errors };
}

describe("an owner's cleanup bound covers what it owns", () => {
  test("a service with cleanupTimeout 200ms waits for its process's terminateTimeout (1s)", async () => {
    const { s, errors } = await startedService("short-bound", "200ms");
    const proc = s.startProcess(STUBBORN, { name: "stubborn", terminateTimeout: "1s" });
    const pids = await treeOf(proc);
    await s.stop();
    expect(s.state).toBe("stopped");
    expect(pids.filter(isAlive)).toEqual([]);
    expect(proc.lastExit?.killed).toBe(true);
    expect(errors).toEqual([]);
  }, 10_000);

  test("attach() to a core Scope and to a Service passes the process's own bound", async () => {
    const scope = new Scope("request", { cleanupTimeout: "100ms" });
    const svc = new Service("attached", { cleanupTimeout: "100ms" });
    cleanups.push(() => svc.stop());
    await svc.start();
    const procs = [scope, svc].map((owner) =>
      new ManagedProcess("stubborn", { terminateTimeout: "700ms" }).attach(owner).start(STUBBORN),
    );
    for (const p of procs) cleanups.push(() => p.stop());
    const pids = (await Promise.all(procs.map(treeOf))).flat();
    await Promise.all([scope.close(), svc.stop()]);
    expect(pids.filter(isAlive)).toEqual([]);
  }, 10_000);

  test("a parent with a short bound waits for a child service whose process needs longer", async () => {
    const parent = new Service("parent", { cleanupTimeout: "100ms" });
    const child = new Service("child", { cleanupTimeout: "100ms" });
    cleanups.push(() => parent.stop());
    await parent.start();
    await parent.adopt(child);
    const proc = child.startProcess(STUBBORN, { name: "stubborn", terminateTimeout: "700ms" });
    const pids = await treeOf(proc);
    await parent.stop();
    expect([parent.state, child.state]).toEqual(["stopped", "stopped"]);
    expect(pids.filter(isAlive)).toEqual([]);
  }, 10_000);

  test("a service with cleanupTimeout 100ms waits for its watcher's stopTimeout (600ms)", async () => {
    const pool = new WorkerPool({ size: 1 });
    const { s, errors } = await startedService("watching", "100ms");
    const spin = { module: new URL("./fixtures/spin-source.ts", import.meta.url), export: "spin" };
    const watcher = s.own(
      new Watcher("stuck", { poll: spin, interval: "1s", stopTimeout: "600ms", pool }),
    );
    watcher.start();
    await waitFor(() => existsSync(spinMarker()), { timeout: 5_000 });
    rmSync(spinMarker());
    await s.stop();
    expect(watcher.state).toBe("stopped");
    expect(pool.stats().workers).toBe(0);
    expect(errors).toEqual([]);
  }, 10_000);

  test("a release of your own is bounded by cleanupTimeout, even for a service, watcher or process", async () => {
    const { s, errors } = await startedService("custom", "100ms");
    const never = () => new Promise(() => {});
    const child = new Service("child");
    const proc = new ManagedProcess("proc");
    // Never started: only the release given here could end them, and it never settles.
    s.own(new Watcher("watch", { poll: () => 1, interval: "1s" }), never);
    s.own(proc, never);
    s.own(child, never);
    void s.stop();
    await waitFor(() => s.state === "stopped", { timeout: 3_000 });
    expect(errors).toEqual(
      ['Service "child"', 'ManagedProcess "proc"', 'Watcher "watch"'].map(
        (label) =>
          `service "custom": ${label} did not finish within 100ms (cleanupTimeout); moved on`,
      ),
    );
  }, 10_000);

  test("a child service whose stop() is overridden is bounded by cleanupTimeout: only Service's own stop is bounded step by step", async () => {
    const { s, errors } = await startedService("owner", "100ms");
    class Hanging extends Service {
      override async stop(): Promise<void> {
        await super.stop();
        await new Promise(() => {}); // e.g. a client's close() that never returns
      }
    }
    await s.adopt(new Hanging("hanging"));
    void s.stop();
    await waitFor(() => s.state === "stopped", { timeout: 3_000 });
    expect(errors).toEqual([
      'service "owner": Hanging "hanging" did not finish within 100ms (cleanupTimeout); moved on',
    ]);
  }, 10_000);

  test("an owner whose addCleanup takes (fn, label) only still owns an attached process", async () => {
    const registered: (() => unknown)[] = [];
    const owner = { addCleanup: (fn: () => unknown, _label?: string) => void registered.push(fn) };
    const proc = new ManagedProcess("legacy").attach(owner).start(["sleep", "30"]);
    cleanups.push(() => proc.stop());
    const pid = proc.pid as number;
    await Promise.all(registered.map((fn) => fn()));
    expect(isAlive(pid)).toBe(false);
  });

  test("a cleanup abandoned anyway is reported by name, and so is how it ended", async () => {
    const { s, errors } = await startedService("abandons", "30ms");
    const { promise: pool, reject } = Promise.withResolvers<void>();
    s.addCleanup(() => pool, "db pool", { timeout: "60ms" });
    await s.stop();
    expect(errors).toEqual([
      'service "abandons": db pool did not finish within 60ms (its timeout); moved on',
    ]);
    reject(new Error("connection reset"));
    await waitFor(() => errors.length === 2);
    expect(errors[1]).toBe(
      'service "abandons": db pool failed after it was abandoned (its timeout 60ms): connection reset',
    );
  });
});
