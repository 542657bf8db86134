/**
 * A cleanup registered after stop(), by a poll that ignored its abort and acquired something
 * late, runs at once: on the main thread, in a Worker kept alive by a neighbour, and in a
 * subprocess (which stop() ends with its group).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandLine, descendants, isAlive, waitFor } from "@specter/core/testing";
import { type SourceContext, WorkerPool } from "../src/index.ts";
import { LATE_MARK, lateProgress } from "./fixtures/holds-resources.ts";
import { stoppedAfterEach } from "./helpers.ts";

const HOLDS = new URL("./fixtures/holds-resources.ts", import.meta.url);
const make = stoppedAfterEach();

const dir = mkdtempSync(join(tmpdir(), "specter-late-cleanup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const lateChildren = () =>
  descendants().filter((p) => commandLine(p).join(" ") === `sleep ${LATE_MARK}`);

describe("a cleanup registered after stop() runs at once", () => {
  test("function source", async () => {
    let child: number | undefined;
    let started = false;
    const w = make("late-function", {
      poll: async ({ onClose }: SourceContext) => {
        started = true;
        await Bun.sleep(300);
        const proc = Bun.spawn(["sleep", LATE_MARK], { stdout: "ignore", stderr: "ignore" });
        onClose?.(proc);
        child = proc.pid;
        return proc.pid;
      },
      interval: "1h",
    });
    w.start();
    await waitFor(() => started);
    await w.stop();
    const pid = await waitFor(() => child, { timeout: 3000 });
    await waitFor(() => !isAlive(pid), { timeout: 3000 });
  }, 10_000);

  test("module source in a Worker that a neighbour keeps alive", async () => {
    const pool = new WorkerPool({ size: 1 });
    const path = join(dir, `worker-${++files}`);
    const neighbour = make("neighbour", {
      poll: { module: HOLDS, export: "richValue" },
      interval: "10ms",
      pool,
    });
    const w = make("late-worker", {
      poll: { module: HOLDS, export: "registerLate", args: [path] },
      interval: "1h",
      pool,
    });
    neighbour.start();
    w.start();
    await waitFor(() => lateProgress(path).host !== undefined, { timeout: 5000 });
    await w.stop();
    expect(pool.stats().workers).toBe(1);
    const child = await waitFor(() => lateProgress(path).child, { timeout: 3000 });
    await waitFor(() => !isAlive(child), { timeout: 3000 });
    expect(lateChildren()).toEqual([]);
  }, 10_000);

  test('module source with isolation "process": stop() ends it before it can acquire', async () => {
    const path = join(dir, `process-${++files}`);
    const w = make("late-process", {
      poll: { module: HOLDS, export: "registerLate", args: [path] },
      interval: "1h",
      isolation: "process",
    });
    w.start();
    const host = await waitFor(() => lateProgress(path).host, { timeout: 5000 });
    await w.stop();
    expect(isAlive(host)).toBe(false);
    expect(lateChildren()).toEqual([]);
  }, 10_000);
});
