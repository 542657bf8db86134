/**
 * Nothing escapes `stop()`: descendants that leave the child's process group (job-control groups,
 * setpgid, setsid, double-fork daemons) are found — in the child's session or by the run's
 * marker — and ended the same way, by `stop()`, by the host-shutdown hooks and by the orphan
 * guard; the exit counts them (`escaped`). And the documented limit: a process that dropped the
 * marker, left the session and lost its parent is out of reach.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { environVariable, isAlive } from "@specter/core";
import type { ProcessExit } from "../src/index.ts";
import { waitFor } from "../src/testing/index.ts";
import { ESCAPES, has, killAll, runTree, survivors } from "./escapees.ts";
import { cleanup, collect, fixture, make } from "./helpers.ts";

/** Pids a test saw; killed after it whatever happened. */
const strays: number[] = [];
afterEach(async () => {
  killAll(strays.splice(0));
  await cleanup();
});

/** Starts `argv`, waits for its "ready" line and for its tree to hold `outside` escapees. */
async function startTree(name: string, argv: string[], outside: number, terminateTimeout = "2s") {
  const proc = make(name, { terminateTimeout });
  const out = collect(proc.start(argv, { stdout: "pipe" }), "stdout");
  await waitFor(() => out.lines.includes("ready"), { timeout: 5_000 });
  const pid = proc.pid as number;
  const tree = await waitFor(
    () => {
      const found = runTree(pid);
      return found.filter((p) => p.pgrp !== pid).length === outside ? found : undefined;
    },
    { timeout: 5_000, message: `${name}: ${outside} processes outside the group` },
  );
  const pids = tree.map((p) => p.pid);
  strays.push(...pids);
  return { proc, pid, pids };
}

describe("stop() ends what left the group", () => {
  for (const [name, { argv, outside, needs }] of Object.entries(ESCAPES)) {
    test.skipIf(!has(needs))(`${name}: 0 survivors, escaped ${outside}`, async () => {
      const { proc, pids } = await startTree(name, argv, outside);
      const exit = (await proc.stop()) as ProcessExit;
      expect(survivors(pids)).toEqual([]);
      expect(exit).toMatchObject({ stopped: true, killed: false, escaped: outside });
    });
  }

  test("what stays in the group is not counted as escaped", async () => {
    // Background sleeps, nohup, and a double fork without setsid: all in the group.
    const argv = [
      "sh",
      "-c",
      "sleep 300 & nohup sleep 300 >/dev/null 2>&1 & (sleep 300 &); echo ready; exec sleep 300",
    ];
    const { proc, pids } = await startTree("in-group", argv, 0);
    expect(pids.length).toBe(4);
    const exit = await proc.stop();
    expect(survivors(pids)).toEqual([]);
    expect(exit?.escaped).toBe(0);
  });

  test("an escapee that ignores SIGTERM is SIGKILLed after terminateTimeout", async () => {
    const argv = [
      "sh",
      "-c",
      "(setsid sh -c 'trap \"\" TERM; sleep 300' &); echo ready; exec sleep 300",
    ];
    const { proc, pids } = await startTree("stubborn-escapee", argv, 2, "300ms");
    const started = performance.now();
    const exit = await proc.stop();
    const took = performance.now() - started;
    expect(survivors(pids)).toEqual([]);
    expect(exit).toMatchObject({ signalCode: "SIGTERM", killed: true, escaped: 2 });
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2_000);
  });

  test("a child that exits by itself leaves no daemon behind; its exit says so", async () => {
    // It daemonizes, then exits once told to (a line on stdin): the daemon is out of its session.
    const proc = make("daemonizer", { terminateTimeout: "2s" });
    proc.start(["sh", "-c", "(setsid sleep 300 &); echo ready; read _; exit 0"], {
      stdin: "pipe",
      stdout: "pipe",
    });
    const out = collect(proc, "stdout");
    await waitFor(() => out.lines.includes("ready"));
    const pid = proc.pid as number;
    const daemon = await waitFor(() => runTree(pid).find((p) => p.session !== pid));
    strays.push(daemon.pid);
    proc.stdin?.write("go\n");
    proc.stdin?.flush();
    const exit = await proc.wait(5_000);
    expect(exit).toMatchObject({ exitCode: 0, stopped: false, killed: false, escaped: 1 });
    expect(isAlive(daemon.pid)).toBe(false);
  });

  test("every child carries the run marker, after the host's own when it is itself a run", async () => {
    const before = process.env.SPECTER_RUN;
    process.env.SPECTER_RUN = "outer-7.";
    try {
      const proc = make("marked");
      const out = collect(
        proc.start(["sh", "-c", 'echo "$SPECTER_RUN"'], { stdout: "pipe" }),
        "stdout",
      );
      await proc.wait(5_000);
      expect(out.lines[0]).toMatch(/^outer-7\.,[0-9a-f]{16}-\d+\.[0-9a-f]{16}$/);
    } finally {
      if (before === undefined) delete process.env.SPECTER_RUN;
      else process.env.SPECTER_RUN = before;
    }
    const other = make("plain").start(["sleep", "30"]);
    const value = environVariable(other.pid as number, "SPECTER_RUN");
    expect(value).toMatch(/^[0-9a-f]{16}-\d+\.[0-9a-f]{16}$/);
  });

  test("out of reach (documented): env -i, setsid, and a parent that has exited", async () => {
    const proc = make("out-of-reach", { terminateTimeout: "1s" });
    const argv = [
      "sh",
      "-c",
      "(env -i setsid sleep 300 >/dev/null 2>&1 & echo $!); echo ready; exec sleep 300",
    ];
    const out = collect(proc.start(argv, { stdout: "pipe" }), "stdout");
    await waitFor(() => out.lines.includes("ready"));
    const lost = Number(out.lines[0]);
    strays.push(lost);
    await waitFor(() => isAlive(lost) && environVariable(lost, "SPECTER_RUN") === undefined);
    const exit = await proc.stop();
    expect(exit?.escaped).toBe(0);
    expect(isAlive(lost)).toBe(true);
  });
});

describe("the host's own ends reach escapees too", () => {
  /** Runs fixtures/escape-host.ts and returns it once it reported the tree of its child. */
  async function host() {
    const child = Bun.spawn([process.execPath, fixture("escape-host.ts"), "1s"], {
      stdout: "pipe",
      stderr: "inherit",
    });
    strays.push(child.pid);
    const lines: string[] = [];
    const reading = (async () => {
      let text = "";
      for await (const chunk of child.stdout) {
        text += new TextDecoder().decode(chunk);
        const parts = text.split("\n");
        text = parts.pop() ?? "";
        lines.push(...parts);
      }
    })();
    await waitFor(() => lines.length > 0, { timeout: 10_000 });
    const report = JSON.parse(lines[0] as string) as {
      pid: number;
      tree: number[];
      outside: number;
    };
    strays.push(...report.tree);
    expect(report.tree.length).toBe(4);
    expect(report.outside).toBe(2);
    expect(report.tree.every(isAlive)).toBe(true);
    return { child, report, lines, reading };
  }

  test("SIGTERM to the host: the shutdown hooks stop the whole tree", async () => {
    const { child, report, lines, reading } = await host();
    child.kill("SIGTERM");
    await child.exited;
    await reading;
    expect(child.signalCode).toBe("SIGTERM");
    expect(survivors(report.tree)).toEqual([]);
    expect(JSON.parse(lines[1] as string)).toMatchObject({
      exit: { signalCode: "SIGTERM", stopped: true, escaped: 2 },
    });
  }, 15_000);

  test("SIGKILL to the host: the orphan guard ends the whole tree within a second", async () => {
    const { child, report } = await host();
    child.kill("SIGKILL");
    await child.exited;
    const killedAt = performance.now();
    await waitFor(() => survivors(report.tree).length === 0, {
      timeout: 5_000,
      message: "the orphan guard ended the group, the session and the marked daemon",
    });
    expect(performance.now() - killedAt).toBeLessThan(3_000); // about 0.1 s here
  }, 15_000);
});
