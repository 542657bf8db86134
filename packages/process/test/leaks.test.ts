import { afterEach, expect, test } from "bun:test";
import { descendants, openFds, threadCount, waitFor } from "@specter/core/testing";
import { cleanup, collect, fixture, make } from "./helpers.ts";

afterEach(cleanup);

test("200 start/stop cycles leave no process and no open fd behind", async () => {
  const proc = make("cycler", { terminateTimeout: "2s" });
  const out = collect(proc, "stdout");
  const cycle = async (i: number) => {
    proc.start(["sh", "-c", `echo ${i}; exec sleep 30`], { stdout: "pipe", stderr: "pipe" });
    await waitFor(() => out.lines.length === i + 1);
    const exit = await proc.stop();
    if (exit?.signalCode !== "SIGTERM") throw new Error(`cycle ${i}: ${JSON.stringify(exit)}`);
  };
  // Warm up: the first spawns open Bun's long-lived handles (signal and event fds).
  for (let i = 0; i < 5; i++) await cycle(i);
  const fds = openFds();
  const threads = threadCount();
  for (let i = 5; i < 205; i++) await cycle(i);
  expect(out.lines.length).toBe(205);
  expect(out.lines.at(-1)).toBe("204");
  await waitFor(() => descendants().length === 0, { message: "no child and no orphan guard left" });
  await waitFor(() => openFds() <= fds, {
    timeout: 2_000,
    message: `open fds back to ${fds} (now ${openFds()})`,
  });
  expect(threadCount()).toBeLessThanOrEqual(threads + 2);
}, 30_000);

test("a program using managed processes ends by itself: no timer, handle or child is left", async () => {
  const child = Bun.spawn([process.execPath, fixture("exits-cleanly.ts")], {
    stdout: "pipe",
    stderr: "inherit",
  });
  let timer: Timer | undefined;
  const ended = await Promise.race([
    child.exited.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(resolve, 10_000, false);
    }),
  ]);
  clearTimeout(timer);
  if (!ended) child.kill("SIGKILL");
  expect(ended).toBe(true);
  expect(child.exitCode).toBe(0);
  expect(await new Response(child.stdout).text()).toBe("done\n");
}, 15_000);
