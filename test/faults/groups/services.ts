/** Fault group: services. */

import { collectLines, descendants, isAlive, waitFor } from "@specter/core/testing";
import { Service } from "@specter/service";
import { Watcher } from "@specter/watcher";
import { adoptionCycle, lateAcquisitions, longTerminate } from "../fixtures/service-lifetimes.ts";
import { group, pool, since } from "../lib.ts";

const g = group("services");
const sources = new URL("../fixtures/sources.ts", import.meta.url);

await g.check(
  "onStart failing halfway",
  "everything acquired so far is released: no process, worker or timer",
  async () => {
    const p = pool({ size: 1 });
    let pid = 0;
    let watcher: Watcher | undefined;
    const svc = new Service("half", {
      onStart(s) {
        pid = s.startProcess(["sleep", "30"]).pid as number;
        watcher = s.own(
          new Watcher("w", {
            poll: { module: sources, export: "counter" },
            interval: "10ms",
            pool: p,
          }),
        );
        watcher.start();
        s.interval(() => {}, "10ms");
        throw new Error("config missing");
      },
    });
    svc.onError(() => {});
    const error = await svc.start().then(
      () => undefined,
      (e: Error) => e.message,
    );
    const tasks = svc.health().tasks;
    const ok =
      error === "config missing" &&
      !isAlive(pid) &&
      watcher?.state === "stopped" &&
      p.stats().workers === 0 &&
      tasks.intervals === 0;
    return {
      figure: `rejected with "${error}"; process alive ${isAlive(pid)}, watcher ${watcher?.state}, workers ${p.stats().workers}, intervals ${tasks.intervals}; state ${svc.state}`,
      ok,
    };
  },
);

await g.check(
  "cleanup that never settles",
  "bounded by cleanupTimeout; the rest of the teardown still runs",
  async () => {
    const order: string[] = [];
    const svc = new Service("stuck", { cleanupTimeout: "200ms" });
    svc.onError(() => {});
    await svc.start();
    svc.addCleanup(() => void order.push("first"));
    svc.addCleanup(() => new Promise(() => {}), "never");
    svc.addCleanup(() => void order.push("last"));
    const t0 = performance.now();
    await svc.stop();
    const ms = since(t0);
    return {
      figure: `stop took ${ms} ms (cleanupTimeout 200 ms); ran ${order.join(", ")}`,
      ok: ms >= 190 && ms < 700 && order.join() === "last,first",
    };
  },
);

await g.check(
  "nested services three deep",
  "stopped from the top in reverse order of start",
  async () => {
    const order: string[] = [];
    const node = (name: string, children: () => Service[] = () => []) =>
      new Service(name, {
        async onStart(s) {
          for (const child of children()) await s.adopt(child);
        },
        onStop: () => void order.push(name),
      });
    const root = node("root", () => [
      node("a", () => [node("a1"), node("a2")]),
      node("b", () => [node("b1")]),
    ]);
    await root.start();
    await root.stop();
    const expected = ["root", "b", "b1", "a", "a2", "a1"];
    return { figure: `onStop order: ${order.join(" → ")}`, ok: order.join() === expected.join() };
  },
);

await g.check(
  "host SIGTERM with live services",
  "all services stop, then the host ends by SIGTERM; no process left",
  async () => {
    const host = Bun.spawn(
      [process.execPath, new URL("../fixtures/host.ts", import.meta.url).pathname],
      { stdout: "pipe", stderr: "pipe" },
    );
    const { lines, done: reading } = collectLines(host.stdout);
    await waitFor(() => lines.includes("ready"), { timeout: 10_000 });
    const tree = descendants(host.pid);
    const t0 = performance.now();
    host.kill("SIGTERM");
    await host.exited;
    await reading;
    const alive = tree.filter(isAlive);
    const stopped = lines.filter((l) => l.endsWith("stopped"));
    return {
      figure: `exited by ${host.signalCode} in ${since(t0)} ms; ${stopped.join(", ")}; ${tree.length} processes before, ${alive.length} after`,
      ok:
        host.signalCode === "SIGTERM" &&
        stopped.join() === "jobs stopped,api stopped,db stopped" &&
        alive.length === 0,
    };
  },
);

await g.check(
  "slow onStart acquires after stop (attach, startProcess owner, registry owner)",
  "acquired after the service stopped: released at once (0 processes, 0 pending cleanups, no key), and reported",
  lateAcquisitions,
);

await g.check(
  "adoption cycle: b.adopt(a) after a.adopt(b); c.adopt(a) under a → b → c",
  "refused with a ServiceError naming both; health(), /status and /healthz work; stop does not wait out cleanupTimeout",
  adoptionCycle,
);

await g.check(
  "terminateTimeout 3 s > cleanupTimeout 1 s (process ignores SIGTERM)",
  "the owner's bound covers what it owns: `stopped` is reported only once the process tree is gone",
  longTerminate,
);

await g.done();
