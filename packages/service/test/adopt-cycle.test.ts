import { describe, expect, test } from "bun:test";
import { createStatusApp, Registry, Service, ServiceError } from "../src/index.ts";
import { cleanupAfterEach } from "./cleanups.ts";

const cleanups = cleanupAfterEach();

function services(...names: string[]): Service[] {
  const made = names.map((name) => new Service(name, { cleanupTimeout: "1s" }));
  for (const s of made) cleanups.push(() => s.stop());
  return made;
}

const messageOf = (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (e: Error) => (e instanceof ServiceError ? e.message : `not a ServiceError: ${e}`),
  );

describe("adoption cycles are refused", () => {
  test("b.adopt(a) after a.adopt(b): a ServiceError naming both and what to do", async () => {
    const [a, b] = services("a", "b") as [Service, Service];
    await a.start();
    await a.adopt(b);
    expect(await messageOf(b.adopt(a))).toBe(
      'service "b": adopt(service "a") refused: "a" is an ancestor of "b" ("a" owns "b"), so ' +
        'owning it would make a cycle; keep ownership a tree: let "a" stay the owner, or stop it ' +
        "and adopt it from a service outside it",
    );
    expect(b.ownedChildren()).toEqual([]);
    expect(a.health().children.map((c) => c.name)).toEqual(["b"]);
    const t0 = performance.now();
    await a.stop();
    // A cycle made each stop wait for the other until cleanupTimeout (1 s) cut it.
    expect(performance.now() - t0).toBeLessThan(500);
    expect([a.state, b.state]).toEqual(["stopped", "stopped"]);
  });

  test("a deeper cycle (a → b → c, then c.adopt(a)) and own() of an ancestor are refused too", async () => {
    const [a, b, c] = services("a", "b", "c") as [Service, Service, Service];
    await a.start();
    await a.adopt(b);
    await b.adopt(c);
    expect(await messageOf(c.adopt(a))).toContain(
      'adopt(service "a") refused: "a" is an ancestor of "c" ("a" owns "b" owns "c")',
    );
    expect(() => c.own(a)).toThrow(ServiceError);
    expect(() => c.own(a)).toThrow('service "c": own(service "a") refused');
    expect(c.ownedChildren()).toEqual([]);
    const app = createStatusApp({ registry: registryOf(a) });
    for (const route of ["/status", "/healthz"])
      expect((await app.request(route)).status).toBe(200);
  });

  test("a service cannot adopt or own itself", async () => {
    const [a] = services("a") as [Service];
    expect(await messageOf(a.adopt(a))).toBe(
      'service "a": adopt(service "a") refused: a service cannot adopt itself',
    );
    expect(() => a.own(a)).toThrow('service "a": own(service "a") refused');
    expect(a.health().owned).toBe(0);
  });

  test("two parents of one child is not a cycle: both own it, each stop stops it", async () => {
    const [a, b, shared] = services("a", "b", "shared") as [Service, Service, Service];
    await a.start();
    await b.start();
    await a.adopt(shared);
    await b.adopt(shared);
    await a.adopt(b);
    expect(a.health().children.map((c) => c.name)).toEqual(["shared", "b"]);
    await a.stop();
    expect([a.state, b.state, shared.state]).toEqual(["stopped", "stopped", "stopped"]);
  });
});

function registryOf(service: Service): Registry {
  const registry = new Registry();
  registry.register(service);
  return registry;
}
