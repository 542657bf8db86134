/**
 * A service with typed data and events is still a `Service`: it is registered, adopted, owned,
 * listened to and served without a cast. `tsc --noEmit` checks this file (every
 * `@ts-expect-error` must meet an error, or tsc fails); `bun test` runs it.
 */
import { expect, test } from "bun:test";
import {
  Registry,
  Service,
  type ServiceTypes,
  StatusResponse,
  serveStatus,
  statusOf,
} from "../src/index.ts";

type MonitorTypes = { data: { load: string }; events: { alert: { level: number } } };

class MonitorService extends Service<MonitorTypes> {
  override onStart() {
    this.setData({ load: "0.50" });
  }
}

class ParentService extends Service<{ data: { children: number } }> {}

test("a typed service is registered, adopted, owned, listened to and served without a cast", async () => {
  const registry = new Registry();
  const monitor: MonitorService = registry.register(new MonitorService("monitor"));
  const parent = registry.register(new ParentService("parent", { initialData: { children: 0 } }));
  try {
    await monitor.start();
    await parent.start();
    const child: MonitorService = await parent.adopt(new MonitorService("child"));
    const owned: MonitorService = parent.own(new MonitorService("owned"));
    parent.setData({ children: 2 });

    const levels: number[] = [];
    parent.listen(child, "alert", (alert) => {
      levels.push(alert.level);
    });
    child.emit("alert", { level: 3 });
    expect(levels).toEqual([3]);

    const loads: string[] = [];
    monitor.onData((data) => {
      loads.push(data.load);
    });
    monitor.setData({ load: "0.75" });
    expect(loads).toEqual(["0.75"]);

    const plain: Service = monitor;
    const general: Service<ServiceTypes> = child;
    const listed: readonly Service[] = registry.services();
    expect(listed).toEqual([plain, parent]);
    expect(parent.ownedChildren()).toEqual([general, owned]);
    expect(statusOf(monitor).data).toEqual({ load: "0.75" });

    const server = serveStatus({ registry });
    try {
      const res = await fetch(new URL("/status", server.url));
      const body = StatusResponse.parse(await res.json());
      expect(body.services.map((s) => [s.name, s.state, s.data])).toEqual([
        ["monitor", "running", { load: "0.75" }],
        ["parent", "running", { children: 2 }],
      ]);
      expect(body.services[1]?.children.map((c) => [c.name, c.state])).toEqual([
        ["child", "running"],
        ["owned", "idle"],
      ]);
    } finally {
      await server.stop();
    }
  } finally {
    await registry.stop();
  }
  expect([monitor.state, parent.state]).toEqual(["stopped", "stopped"]);
});

test("what must stay a type error does", async () => {
  const registry = new Registry();
  const monitor = new MonitorService("monitor");
  // @ts-expect-error `load` is a string
  monitor.setData({ load: 1 });
  // @ts-expect-error no such key in the data
  monitor.setData({ cpu: "1" });
  // @ts-expect-error no such key in the data
  expect(monitor.data.memory).toBeUndefined();
  // @ts-expect-error `level` is a number
  monitor.emit("alert", { level: "high" });
  // @ts-expect-error no such event
  monitor.emit("alarm", { level: 1 });
  // @ts-expect-error an alert has no `message`
  monitor.listen("alert", (alert) => alert.message);
  // @ts-expect-error a MonitorService is not a service of other data
  const other: Service<{ data: { load: number } }> = monitor;
  expect(other).toBeDefined();
  // @ts-expect-error only a Service can be registered
  expect(() => registry.register({ name: "fake" })).toThrow("register(): expected a Service");
  // @ts-expect-error only a Service can be adopted
  await expect(new Service("parent").adopt({ name: "fake" })).rejects.toThrow(
    "adopt(): expected a Service",
  );
});
