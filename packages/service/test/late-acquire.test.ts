import { describe, expect, test } from "bun:test";
import { Scope } from "@specter/core";
import { isAlive, waitFor } from "@specter/core/testing";
import { ManagedProcess, startProcess } from "@specter/process";
import { EventBus, Registry, Service, type ServiceError } from "../src/index.ts";
import { cleanupAfterEach } from "./cleanups.ts";

const cleanups = cleanupAfterEach();

/** A service whose errors are collected; `cleanupTimeout` short so an abandoned start ends fast. */
function lateService(name: string, onStart?: (s: Service) => unknown) {
  const s = new Service(name, { cleanupTimeout: "50ms", onStart });
  cleanups.push(() => s.stop());
  const errors: string[] = [];
  s.onError((e: ServiceError) => void errors.push(e.message));
  return { s, errors };
}

describe("acquired after the service stopped: released at once", () => {
  test("a slow onStart that ignores the stop signal: attach, startProcess owner and registry owner", async () => {
    const registry = new Registry();
    const procs: ManagedProcess[] = [];
    const pids: number[] = [];
    const gate = Promise.withResolvers<void>();
    const acquired = Promise.withResolvers<void>();
    const { s, errors } = lateService("late", async (svc) => {
      await gate.promise; // ignores svc.signal
      try {
        const attached = new ManagedProcess("attached").attach(svc).start(["sleep", "30"]);
        cleanups.push(() => attached.stop());
        const owned = startProcess("owned", ["sleep", "30"], { owner: svc });
        cleanups.push(() => owned.stop());
        procs.push(attached, owned);
        registry.provide("late-key", 1, { owner: svc });
        pids.push(...procs.map((p) => p.pid as number));
      } finally {
        acquired.resolve();
      }
    });
    const starting = s.start().catch((e: Error) => e.message);
    await waitFor(() => s.state === "starting");
    await s.stop();
    expect(s.state).toBe("stopped");
    gate.resolve();
    await acquired.promise;
    expect(await starting).toContain("start abandoned");
    expect(pids).toHaveLength(2);
    await waitFor(() => procs.every((p) => p.state === "stopped"), { timeout: 5_000 });
    expect(pids.filter(isAlive)).toEqual([]);
    expect(registry.resolve("late-key")).toBeUndefined();
    expect(s.health().owned).toBe(0);
    expect(errors).toEqual([
      'service "late": ManagedProcess "attached" added after the service stopped: released at once',
      'service "late": ManagedProcess "owned" added after the service stopped: released at once',
      'service "late": registry key "late-key" added after the service stopped: released at once',
    ]);
  }, 10_000);

  test("addCleanup, onData and listen owners, own(), svc.scope.addCleanup and fork(), after a stop", async () => {
    const { s, errors } = lateService("done");
    await s.start();
    await s.stop();
    const ran: string[] = [];
    s.addCleanup(() => ran.push("cleanup"), "cleanup");
    const source = new Service<{ data: { n: number } }>("source", { initialData: { n: 0 } });
    const seen: number[] = [];
    source.onData((d) => void seen.push(d.n), { owner: s });
    const bus = new EventBus<{ ping: number }>();
    const pings: number[] = [];
    s.listen(bus, "ping", (n) => void pings.push(n));
    s.own({ close: () => void ran.push("owned") });
    s.scope.addCleanup(() => void ran.push("scope"), "straight to the scope");
    const fork = s.scope.fork("request");
    await waitFor(() => ran.length === 3 && fork.state === "closed");
    source.setData({ n: 1 });
    bus.emit("ping", 1);
    expect(seen).toEqual([]);
    expect(pings).toEqual([]);
    expect(ran.sort()).toEqual(["cleanup", "owned", "scope"]);
    expect(s.health().owned).toBe(0);
    expect(errors).toContain(
      'service "done": cleanup added after the service stopped: released at once',
    );
    expect(errors).toContain(
      'service "done": own(Object) after the service stopped: released at once',
    );
    expect(errors).toContain(
      'service "done": straight to the scope added after the service stopped: released at once',
    );
    expect(errors).toContain(
      'service "done": scope "request" added after the service stopped: released at once',
    );
    expect(() => s.interval(() => {}, "10ms")).toThrow("the service is stopped");
  });

  test("a cleanup added to a fork that already closed, while the service runs, is released at once and reported", async () => {
    const { s, errors } = lateService("forks");
    await s.start();
    const request = s.scope.fork("request");
    await request.close();
    const ran: string[] = [];
    request.addCleanup(() => void ran.push("late"), "upload");
    await waitFor(() => ran.length === 1);
    expect(s.state).toBe("running");
    expect(errors).toEqual([
      'service "forks": upload added to scope "request" after it closed: released at once',
    ]);
  });

  test("adopt() after the stop does not start the child; it rejects and the child stays stopped", async () => {
    const gate = Promise.withResolvers<void>();
    const child = new Service("child");
    cleanups.push(() => child.stop());
    let adopted: string | undefined;
    const { s } = lateService("parent", async (svc) => {
      await gate.promise;
      adopted = await svc.adopt(child).then(
        () => "adopted",
        (e: Error) => e.message,
      );
    });
    const starting = s.start().catch(() => {});
    await waitFor(() => s.state === "starting");
    await s.stop();
    gate.resolve();
    await starting;
    await waitFor(() => adopted !== undefined);
    expect(adopted).toBe(
      'service "parent": adopt(service "child") after the service stopped: not started',
    );
    expect(child.state).toBe("idle");
  });

  test("a restarted service accepts cleanups again; a cleanup added before the first start waits for the stop", async () => {
    const { s, errors } = lateService("again");
    const ran: string[] = [];
    s.addCleanup(() => ran.push("before start"));
    expect(s.health().owned).toBe(1);
    await s.start();
    await s.stop();
    await s.start();
    s.addCleanup(() => ran.push("second lifetime"));
    expect(s.health().owned).toBe(1);
    expect(ran).toEqual(["before start"]);
    await s.stop();
    expect(ran).toEqual(["before start", "second lifetime"]);
    expect(errors).toEqual([]);
  });

  test("a cleanup added to a core Scope after it closed runs at once (attach, provide)", async () => {
    const scope = new Scope("request");
    await scope.close();
    const registry = new Registry();
    registry.provide("k", 1, { owner: scope });
    const proc = new ManagedProcess("p").attach(scope).start(["sleep", "30"]);
    cleanups.push(() => proc.stop());
    await waitFor(() => proc.state === "stopped" && registry.resolve("k") === undefined, {
      timeout: 5_000,
    });
    expect(isAlive(proc.lastExit?.pid ?? 0)).toBe(false);
  }, 10_000);

  test("a stop queued behind a start whose onStart never returns still ends it (abandoned after cleanupTimeout)", async () => {
    let signal: AbortSignal | undefined;
    const { s } = lateService("queued", (svc) => {
      signal = svc.signal;
      return new Promise(() => {}); // ignores the signal
    });
    void s.stop();
    const starting = s.start().catch((e: Error) => e.message);
    await s.stop();
    expect(signal?.aborted).toBe(true);
    expect(await starting).toContain("start abandoned");
    expect(s.state).toBe("stopped");
  });
});
