import { expect, test } from "bun:test";
import { openFds, threadCount, waitFor } from "@specter/core/testing";
import { Watcher, WorkerPool } from "../src/index.ts";
import { SOURCES } from "./helpers.ts";

test("after stop() nothing is left: a process that ran every kind of watcher exits by itself", async () => {
  const child = Bun.spawn(
    [process.execPath, new URL("./fixtures/leak-check.ts", import.meta.url).pathname],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  // If a timer, worker or read were left behind, the child would never exit: kill it at the deadline.
  const exited = await Promise.race([child.exited, Bun.sleep(8_000).then(() => "hung" as const)]);
  if (exited === "hung") child.kill("SIGKILL");
  const out = await new Response(child.stdout).text();
  const err = await new Response(child.stderr).text();
  expect({ exited, err }).toEqual({ exited: 0, err: "" });
  const report = JSON.parse(out);
  expect(report.values).toBeGreaterThanOrEqual(1000);
  expect(report.pool).toEqual({ workers: 0, sessions: 0, deaths: 1 });
  expect(report.defaultPool).toEqual({ workers: 0, sessions: 0, deaths: 0 });
  expect(report.states).toEqual(["stopped"]);
}, 15_000);

test("start/stop cycles leave no file descriptors and no growing thread count", async () => {
  const cycle = async () => {
    const pool = new WorkerPool({ size: 2 });
    const ws = Array.from({ length: 6 }, (_, i) =>
      new Watcher(`w${i}`, {
        poll: { module: SOURCES, export: "counter" },
        interval: "5ms",
        ...(i % 2 ? { worker: "dedicated" as const } : { pool }),
      }).start(),
    );
    await waitFor(() => ws.every((w) => w.health().delivered > 0));
    await Promise.all(ws.map((w) => w.stop()));
  };
  await cycle();
  const fds = openFds();
  const threads = threadCount();
  for (let i = 0; i < 5; i++) await cycle();
  expect(openFds()).toBe(fds);
  // Bun keeps a few threads after workers end; more cycles must not add more.
  expect(threadCount()).toBeLessThanOrEqual(threads + 2);
}, 15_000);
