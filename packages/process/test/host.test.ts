import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { liveProcesses } from "@specter/core";
import { commandLine, isAlive } from "@specter/core/testing";
import { fakeChild, waitFor } from "../src/testing/index.ts";
import { fixture, make, straysAfterEach } from "./helpers.ts";

const HOOKS = ["SIGINT", "SIGTERM", "exit"] as const;
const hookCounts = () => HOOKS.map((e) => process.listenerCount(e));

/** Pids a test started outside `make()`; killed after it whatever happened. */
const strays = straysAfterEach();

/** The live orphan guard of the host `hostPid`, if any (one per host). */
function guardOf(hostPid: number): number | undefined {
  for (const { pid } of liveProcesses()) {
    const args = commandLine(pid);
    const at = args.indexOf("specter-orphan-guard");
    if (at !== -1 && args[at + 1] === String(hostPid)) return pid;
  }
  return undefined;
}

/** A guard that did its job ends once nothing it watched lives. */
async function guardGone(hostPid: number): Promise<void> {
  await waitFor(() => !guardOf(hostPid), { timeout: 5_000, message: `guard of ${hostPid} ended` });
}

interface HostReport {
  pid: number;
  pgid: number;
  grandchildren: number[];
  hooks: number[];
}

/** Runs fixtures/host.ts in `mode` and returns it once it reported its process tree. */
async function host(mode: string, env: Record<string, string> = {}) {
  const fake = await fakeChild({ stdout: ["ready"], grandchildren: 2 });
  const child = Bun.spawn([process.execPath, fixture("host.ts"), mode], {
    env: { ...process.env, FAKE_CHILD: JSON.stringify(fake), ...env },
    stdout: "pipe",
    stderr: "inherit",
  });
  strays.push(child.pid);
  const messages: Record<string, unknown>[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      let i = text.indexOf("\n");
      while (i !== -1) {
        messages.push(JSON.parse(text.slice(0, i)));
        text = text.slice(i + 1);
        i = text.indexOf("\n");
      }
    }
  })();
  await waitFor(() => messages.length > 0, { timeout: 5_000 });
  const report = messages[0] as unknown as HostReport;
  strays.push(report.pid, ...report.grandchildren);
  return { child, report, messages, reading };
}

describe("host shutdown hooks", () => {
  test("are installed only while a managed process is alive", async () => {
    const before = hookCounts();
    const proc = make("hooked").start(["sleep", "30"]);
    expect(hookCounts()).toEqual(before.map((n) => n + 1));
    const other = make("hooked-too").start(["sleep", "30"]);
    expect(hookCounts()).toEqual(before.map((n) => n + 1));
    await proc.stop();
    expect(hookCounts()).toEqual(before.map((n) => n + 1));
    await other.stop();
    expect(hookCounts()).toEqual(before);
    // A process that ends by itself removes them too.
    const quick = make("quick").start(["true"]);
    expect(hookCounts()).toEqual(before.map((n) => n + 1));
    await quick.wait();
    expect(hookCounts()).toEqual(before);
    // A process waiting to restart is still managed: a host shutdown must cancel the restart.
    const restarting = make("restarting", {
      restart: { policy: "always", initialBackoff: "10s", maxBackoff: "10s" },
    });
    restarting.start(["true"]);
    await waitFor(() => restarting.state === "restarting");
    expect(hookCounts()).toEqual(before.map((n) => n + 1));
    await restarting.stop();
    expect(hookCounts()).toEqual(before);
  });

  test("hostShutdown: false installs nothing", async () => {
    const before = hookCounts();
    make("opt-out", { hostShutdown: false }).start(["sleep", "30"]);
    expect(hookCounts()).toEqual(before);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} to the host stops the process tree, then the host dies of ${signal}`, async () => {
      const { child, report, messages, reading } = await host("signal");
      expect(report.hooks).toEqual([1, 1, 1]);
      expect(report.pgid).toBe(report.pid);
      expect(report.grandchildren.length).toBe(2);
      expect(report.grandchildren.every(isAlive)).toBe(true);
      child.kill(signal);
      await child.exited;
      await reading;
      expect(child.signalCode).toBe(signal);
      expect(isAlive(report.pid)).toBe(false);
      for (const pid of report.grandchildren) expect(isAlive(pid)).toBe(false);
      // The managed process was stopped gracefully (SIGTERM to its group) before the host went.
      expect(messages[1]).toMatchObject({
        exit: { pid: report.pid, signalCode: "SIGTERM", stopped: true, killed: false },
      });
    }, 10_000);
  }

  test("a plain exit of the host kills the survivors (and their orphan guards)", async () => {
    const { child, report } = await host("exit");
    expect(await child.exited).toBe(0);
    await waitFor(() => !isAlive(report.pid) && !report.grandchildren.some(isAlive));
    await waitFor(() => !guardOf(child.pid), {
      timeout: 500, // killed with the group, not left to notice the closed pipe and wait it out
      message: "the guard went with its group",
    });
  });

  test("a host that handles SIGTERM itself keeps running; its processes are stopped", async () => {
    const { child, report, messages } = await host("own-handler");
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(messages.slice(1)).toEqual([
      { handled: "SIGTERM" },
      { exit: expect.objectContaining({ signalCode: "SIGTERM", stopped: true }) },
      { stillRunning: true, hooks: 1 },
    ]);
    expect(isAlive(report.pid)).toBe(false);
    for (const pid of report.grandchildren) expect(isAlive(pid)).toBe(false);
  }, 10_000);

  test("with hostShutdown: false the processes outlive the host (the opt-out works)", async () => {
    const { child, report } = await host("opt-out");
    expect(report.hooks).toEqual([0, 0, 0]);
    expect(await child.exited).toBe(0);
    expect(isAlive(report.pid)).toBe(true);
    process.kill(-report.pgid, "SIGKILL");
    await waitFor(() => !isAlive(report.pid) && !report.grandchildren.some(isAlive));
  });

  test("a host killed with SIGKILL (no hook can run) still takes its trees down", async () => {
    const { child, report } = await host("signal");
    await waitFor(() => guardOf(child.pid), { message: "the host's orphan guard runs" });
    child.kill("SIGKILL");
    await child.exited;
    await waitFor(() => !isAlive(report.pid) && !report.grandchildren.some(isAlive), {
      message: "the orphan guard killed the group",
    });
    await guardGone(child.pid);
  }, 10_000);

  test("the orphan guard stops the group gracefully: SIGTERM first", async () => {
    const dir = mkdtempSync(join(tmpdir(), "specter-guard-"));
    const mark = join(dir, "mark");
    try {
      const { child, report } = await host("graceful", { MARK: mark });
      child.kill("SIGKILL");
      await child.exited;
      await waitFor(() => !isAlive(report.pid));
      expect(readFileSync(mark, "utf8")).toBe("TERM\n");
      await guardGone(child.pid);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 10_000);

  test("`bun test` ending with a process never stopped leaves nothing behind", async () => {
    const run = Bun.spawn([process.execPath, "test", fixture("forgets-to-stop.fixture.ts")], {
      stdout: "pipe",
      stderr: "pipe",
    });
    strays.push(run.pid);
    const [stdout, , code] = await Promise.all([
      new Response(run.stdout).text(),
      new Response(run.stderr).text(),
      run.exited,
    ]);
    expect(code).toBe(0);
    const line = stdout.split("\n").find((l) => l.startsWith("{"));
    const { pids, folder } = JSON.parse(line ?? "{}") as { pids: number[]; folder: string };
    strays.push(...pids);
    expect(pids.length).toBe(3);
    await waitFor(() => !pids.some(isAlive), { message: `${pids} all gone after bun test` });
    await guardGone(run.pid);
    await waitFor(() => !existsSync(folder), { message: `fakeChild's ${folder} removed` });
  }, 15_000);
});
