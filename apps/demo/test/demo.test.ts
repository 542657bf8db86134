import { afterEach, expect, test } from "bun:test";
import { descendants, isAlive, waitFor } from "@specter/core/testing";
import { HealthzResponse, StatusResponse } from "@specter/service";
import { removeRunDirs, runDemo } from "./run.ts";

afterEach(removeRunDirs);

test("the demo serves /status and /healthz, and Ctrl-C stops everything it started", async () => {
  const demo = runDemo(["--port", "0"]);
  try {
    const header = await waitFor(
      () => demo.lines.find((l) => l.startsWith("Specter demo: status ")),
      { timeout: 10_000 },
    );
    const base = /status (http:\/\/127\.0\.0\.1:\d+\/)status/.exec(header)?.[1] as string;
    expect(base).toBeDefined();
    // Wait until the supervised child and the watchers are up.
    await waitFor(
      () =>
        demo.lines.some((l) => /child\s+ready/.test(l)) &&
        demo.lines.some((l) => /load\s+\d/.test(l)),
      {
        timeout: 10_000,
      },
    );
    const status = StatusResponse.parse(await (await fetch(`${base}status`)).json());
    expect(status.services.map((s) => [s.name, s.state])).toEqual([
      ["monitor", "running"],
      ["logs", "running"],
      ["supervisor", "running"],
    ]);
    const monitor = status.services[0];
    expect(monitor?.watchers.map((w) => [w.name, w.isolation])).toEqual([
      ["load", "shared-worker"],
      ["memory", "shared-worker"],
      ["disk", "shared-worker"],
    ]);
    const healthz = await fetch(`${base}healthz`);
    expect(healthz.status).toBe(200);
    expect(HealthzResponse.parse(await healthz.json()).ok).toBe(true);

    const started = descendants(demo.child.pid);
    expect(started.length).toBeGreaterThanOrEqual(1);
    demo.child.kill("SIGINT");
    expect(await demo.child.exited).toBe(0);
    await demo.read;
    expect(await demo.stderr).toBe("");
    expect(demo.lines.at(-1)).toMatch(
      /^stopped in \d+ms after .* — left behind: 0 processes, 0 workers, 0 timers$/,
    );
    expect(started.filter(isAlive)).toEqual([]);
    expect(demo.left()).toEqual([]);
    expect(demo.folders()).toEqual([]); // its temporary folder is gone too
  } finally {
    demo.child.kill("SIGKILL");
  }
}, 30_000);

test("--duration runs for a fixed time and exits 0; --json prints events as JSON lines", async () => {
  const demo = runDemo(["--port", "0", "--duration", "3s", "--json"]);
  try {
    expect(await demo.child.exited).toBe(0);
    await demo.read;
    const events = demo.lines.map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    expect(events[0]?.type).toBe("ready");
    expect(events.some((e) => e.type === "watcher-value")).toBe(true);
    expect(events.at(-1)).toMatchObject({
      type: "summary",
      clean: true,
      left: { processes: 0, workers: 0, timers: 0 },
    });
  } finally {
    demo.child.kill("SIGKILL");
  }
}, 30_000);

test("Ctrl-C during start-up stops cleanly and leaves no child behind", async () => {
  const demo = runDemo(["--port", "0"]);
  try {
    await waitFor(() => demo.lines.some((l) => l.startsWith("Specter demo: status ")), {
      timeout: 10_000,
    });
    demo.child.kill("SIGINT");
    expect(await demo.child.exited).toBe(0);
    await demo.read;
    expect(demo.lines.at(-1)).toMatch(/left behind: 0 processes, 0 workers, 0 timers$/);
    expect(await demo.stderr).toBe("");
    expect(demo.left()).toEqual([]);
    expect(demo.folders()).toEqual([]); // its temporary folder is gone too
  } finally {
    demo.child.kill("SIGKILL");
  }
}, 30_000);

test("even a demo killed with SIGKILL leaves no process behind (the orphan guard stops its child)", async () => {
  const demo = runDemo(["--port", "0"]);
  try {
    await waitFor(() => demo.lines.some((l) => /child\s+ready/.test(l)), { timeout: 10_000 });
    expect(demo.left().length).toBeGreaterThanOrEqual(1);
    expect(demo.folders().length).toBe(1); // the run's own TMPDIR holds the demo's folder
    demo.child.kill("SIGKILL");
    await demo.child.exited;
    await waitFor(() => demo.left().length === 0, { timeout: 5_000 });
  } finally {
    demo.child.kill("SIGKILL");
  }
}, 30_000);

test("bad arguments are explained, with the usage", async () => {
  const demo = runDemo(["--duration", "soon"]);
  expect(await demo.child.exited).toBe(2);
  const err = await demo.stderr;
  expect(err).toContain('demo: option "duration" got "soon": expected a duration greater than 0');
  const unknown = runDemo(["--colour"]);
  expect(await unknown.child.exited).toBe(2);
  expect(await unknown.stderr).toContain("usage: bun run apps/demo");
});

test("with port 4777 taken, the demo uses a free port and says so; --port 4777 is an error", async () => {
  // Taken by this test, or already by something else: either way the demo cannot have it.
  let holder: ReturnType<typeof Bun.serve> | undefined;
  try {
    holder = Bun.serve({ hostname: "127.0.0.1", port: 4777, fetch: () => new Response("taken") });
  } catch {
    // in use already
  }
  try {
    const demo = runDemo(["--duration", "2s"]);
    try {
      expect(await demo.child.exited).toBe(0);
      await demo.read;
      expect(demo.lines[0]).toBe("port 4777 is taken; using a free port instead");
      const port = /^Specter demo: status http:\/\/127\.0\.0\.1:(\d+)\/status /.exec(
        demo.lines[1] ?? "",
      )?.[1];
      expect(Number(port)).toBeGreaterThan(0);
      expect(Number(port)).not.toBe(4777);
      expect(demo.folders()).toEqual([]);
    } finally {
      demo.child.kill("SIGKILL");
    }
    const given = runDemo(["--port", "4777"]);
    expect(await given.child.exited).toBe(2);
    expect(await given.stderr).toContain("demo: cannot listen on 127.0.0.1:4777");
    expect(given.folders()).toEqual([]);
  } finally {
    await holder?.stop(true);
  }
}, 30_000);
