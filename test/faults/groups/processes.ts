/** Fault group: processes. */

import { descendants, isAlive, openFds, waitFor } from "@specter/core/testing";
import { ManagedProcess } from "@specter/process";
import { ESCAPES, has } from "../../../packages/process/test/escapees.ts";
import { escapeCase, guardEndsEscapees, lingeringGroups, manyChildren } from "../fixtures/trees.ts";
import { group, since } from "../lib.ts";

const g = group("processes");
const tree = new URL("../fixtures/tree.sh", import.meta.url).pathname;

await g.check(
  "child that ignores SIGTERM",
  "SIGKILLed after terminateTimeout; stop() resolves",
  async () => {
    const proc = new ManagedProcess("stubborn", { terminateTimeout: "500ms", killTimeout: "1s" });
    proc.start(["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], {
      stdout: "pipe",
    });
    const ready = Promise.withResolvers<void>();
    proc.watchStream("stdout", (line) => line === "ready" && ready.resolve());
    await ready.promise;
    const t0 = performance.now();
    const exit = await proc.stop();
    const ms = since(t0);
    return {
      figure: `stop took ${ms} ms (terminateTimeout 500 ms), ended by ${exit?.signalCode}, killed=${exit?.killed}`,
      ok: ms >= 480 && ms < 1500 && exit?.signalCode === "SIGKILL" && descendants().length === 0,
    };
  },
);

await g.check("process tree of depth 3 with 10 descendants", "none left after stop()", async () => {
  const proc = new ManagedProcess("tree", { terminateTimeout: "2s" });
  proc.start(["sh", tree]);
  const pid = proc.pid as number;
  await waitFor(() => descendants(pid).length === 10, { timeout: 5000 });
  const all = [pid, ...descendants(pid)];
  const t0 = performance.now();
  await proc.stop();
  const alive = all.filter(isAlive);
  return {
    figure: `${all.length - 1} descendants before, ${alive.length} alive after a ${since(t0)} ms stop`,
    ok: alive.length === 0,
  };
});

await g.check("crash loop", "gives up after maxRestarts within window; state failed", async () => {
  const proc = new ManagedProcess("crasher", {
    restart: {
      policy: "on-failure",
      maxRestarts: 5,
      window: "10s",
      initialBackoff: "10ms",
      maxBackoff: "50ms",
    },
  });
  proc.on("error", () => {});
  const gaveUp = Promise.withResolvers<number>();
  proc.on("giveUp", ({ restarts }) => gaveUp.resolve(restarts));
  const t0 = performance.now();
  proc.start(["sh", "-c", "exit 3"]);
  const restarts = await gaveUp.promise;
  const ms = since(t0);
  await waitFor(() => proc.state === "failed");
  await proc.stop();
  return {
    figure: `gave up after ${restarts} restarts in ${ms} ms; state ${proc.state}`,
    ok: restarts === 5 && proc.state === "failed",
  };
});

await g.check(
  "child that closes stdout early but runs on",
  "its reader ends; the process still stops cleanly",
  async () => {
    const proc = new ManagedProcess("quiet", { terminateTimeout: "1s" });
    proc.start(["sh", "-c", "echo bye; exec 1>&-; sleep 30"], { stdout: "pipe" });
    const lines: string[] = [];
    proc.watchStream("stdout", (line) => void lines.push(line));
    await waitFor(() => lines.length === 1);
    await Bun.sleep(100); // it keeps running with stdout closed
    const running = proc.running;
    const t0 = performance.now();
    const exit = await proc.stop();
    return {
      figure: `read ${lines.length} line, still running after close: ${running}; stop took ${since(t0)} ms (${exit?.signalCode})`,
      ok: running && exit?.signalCode === "SIGTERM",
    };
  },
);

await g.check(
  "child writing 100 MB as fast as it can to a slow callback",
  "memory stays bounded (the pipe pushes back)",
  async () => {
    Bun.gc(true);
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const proc = new ManagedProcess("firehose", { terminateTimeout: "1s" });
    // 1,000,000 lines of 100 bytes.
    proc.start(
      [
        "sh",
        "-c",
        "yes 012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678 | head -n 1000000",
      ],
      {
        stdout: "pipe",
      },
    );
    let lines = 0;
    let bytes = 0;
    proc.watchStream("stdout", (line) => {
      lines++;
      bytes += line.length + 1;
      if (lines % 2000 === 0) Bun.sleepSync(1); // a slow consumer
    });
    const t0 = performance.now();
    await proc.wait("60s");
    await waitFor(() => proc.health().streams.stdout.lines === 1_000_000, { timeout: 10_000 });
    clearInterval(sampler);
    const peakMb = (peak - base) / 1048576;
    return {
      figure: `${lines} lines (${(bytes / 1e6).toFixed(0)} MB) in ${since(t0)} ms; peak RSS +${peakMb.toFixed(1)} MB`,
      ok: lines === 1_000_000 && peakMb < 100,
    };
  },
);

await g.check(
  "1,000 sequential and 100 concurrent start/stop cycles",
  "no process and no file descriptor left",
  async () => {
    const fds = openFds();
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      const proc = new ManagedProcess(`cycle${i}`, { terminateTimeout: "1s" });
      proc.start(["sleep", "30"], { stdout: "pipe", stderr: "pipe" });
      proc.watchStream("stdout", () => {});
      await proc.stop();
    }
    const sequentialMs = since(t0);
    const t1 = performance.now();
    const procs = Array.from({ length: 100 }, (_, i) =>
      new ManagedProcess(`par${i}`, { terminateTimeout: "1s" }).start(["sleep", "30"], {
        stdout: "pipe",
      }),
    );
    await Promise.all(procs.map((p) => p.stop()));
    const concurrentMs = since(t1);
    Bun.gc(true);
    await Bun.sleep(50);
    const left = descendants().length;
    const fdsAfter = openFds();
    return {
      figure: `1000 sequential in ${sequentialMs} ms, 100 concurrent in ${concurrentMs} ms; processes left ${left}, fds ${fds}→${fdsAfter}`,
      ok: left === 0 && fdsAfter <= fds,
    };
  },
);

for (const [name, tree] of Object.entries(ESCAPES)) {
  if (!has(tree.needs)) continue;
  await g.check(`escape: ${name}`, "stop() ends it: 0 survivors, counted in escaped", () =>
    escapeCase(name, tree),
  );
}

await g.check(
  "host SIGKILLed, its child's tree escaping",
  "the orphan guard ends group, session and marked daemon within 1 s",
  guardEndsEscapees,
);

await g.check(
  "200 supervised children",
  "1 process (the guard) and ≤ 3 fds per child beyond them; stop() of all ≤ 500 ms",
  () => manyChildren(200),
);

await g.check(
  "stopping 50 lingering groups at once",
  "≤ 20% of a core during the 3 s terminateTimeout",
  () => lingeringGroups(50),
);

await g.done();
