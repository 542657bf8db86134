/**
 * Fault group: workers. Sources that kill, block or exhaust the Worker they share: stray
 * timers, polls stuck in native calls, a source that runs out of memory (issue 15, items 1, 2, 4).
 */

import { readFileSync } from "node:fs";
import { descendants, isAlive, waitFor } from "@specter/core/testing";
import { Watcher } from "@specter/watcher";
import { group, pool, since } from "../lib.ts";

const g = group("workers");
const sources = new URL("../fixtures/sources.ts", import.meta.url);
const fixtures = new URL("../fixtures/", import.meta.url);

/**
 * A culprit whose poll returns normally but leaves a timer that kills the worker, with three busy
 * neighbours on a one-worker pool, and a fourth neighbour started right after the first death
 * (its module loads while the worker keeps dying). Issue 15 measured 10 s; 6 s here.
 */
async function strayTimer(how: "throw" | "exit") {
  const p = pool({ size: 1 });
  const start = (name: string) => {
    const w = new Watcher(name, {
      poll: { module: sources, export: "counter" },
      interval: "100ms",
      timeout: "1s",
      pool: p,
    });
    w.onError(() => {});
    return w.start();
  };
  const ns = [1, 2, 3].map((i) => start(`neighbour-${i}`));
  const culprit = new Watcher(`stray-${how}`, {
    poll: { module: sources, export: "leavesKillerTimer", args: [how, 50] },
    interval: "300ms",
    initialBackoff: "100ms",
    pool: p,
  });
  let culpritErrors = 0;
  culprit.onError(() => void culpritErrors++);
  const t0 = performance.now();
  culprit.start();
  await waitFor(() => p.stats().deaths > 0, { timeout: 3000 });
  ns.push(start("late-neighbour"));
  await waitFor(() => culprit.health().quarantined, { timeout: 6000 });
  const deathsToQuarantine = p.stats().deaths;
  await Bun.sleep(Math.max(0, 6000 - since(t0))); // the rest of a fixed window, as the issue measured
  const hs = ns.map((w) => w.health());
  const neighbourErrors = hs.map((h) => h.errorCount);
  const failed = hs.filter((h) => h.state === "failed").length;
  const quarantined = culprit.health().quarantined;
  const deaths = p.stats().deaths;
  await Promise.all([culprit, ...ns].map((w) => w.stop()));
  return {
    figure: `in 6 s: ${deaths} worker deaths; culprit ${culpritErrors} errors, quarantined ${quarantined} after ${deathsToQuarantine} deaths; 4 neighbours' errors ${neighbourErrors.join("/")}, ended failed ${failed}, delivered ${hs.map((h) => h.delivered).join("/")}`,
    ok:
      quarantined &&
      culpritErrors > 0 &&
      deathsToQuarantine <= 5 &&
      failed === 0 &&
      neighbourErrors.every((e) => e === 0),
  };
}

for (const [how, does] of [
  ["throw", "throws"],
  ["exit", "calls process.exit"],
] as const) {
  await g.check(
    `source whose leftover setTimeout ${does}, 3 busy neighbours on a shared worker`,
    "the culprit is blamed and quarantined within a few deaths; neighbours get no error and never end failed",
    () => strayTimer(how),
  );
}

await g.check(
  "module with a top-level for(;;){} on a one-worker pool (10 s; issue 15 measured 15 s)",
  "the culprit is blamed (load error), not imported again; its neighbour keeps delivering",
  async () => {
    const p = pool({ size: 1 });
    const neighbour = new Watcher("neighbour", {
      poll: { module: sources, export: "counter" },
      interval: "200ms",
      timeout: "1s",
      pool: p,
    });
    neighbour.onError(() => {});
    neighbour.start();
    const spins = new Watcher("spins", {
      poll: { module: new URL("spin-at-load.ts", fixtures), export: "poll" },
      interval: "200ms",
      timeout: "200ms",
      initialBackoff: "200ms",
      pool: p,
    });
    const errors: string[] = [];
    spins.onError((e) => void errors.push(`${e.phase}: ${e.message}`));
    const t0 = performance.now();
    spins.start();
    await Bun.sleep(10_000); // a fixed window: values delivered in it are the figure
    const delivered = neighbour.health().delivered;
    const window = since(t0);
    const { state } = spins.health();
    const load = errors.find((e) => e.startsWith("load:")) ?? "none";
    const deaths = p.stats().deaths;
    await Promise.all([neighbour.stop(), spins.stop()]);
    return {
      figure: `neighbour delivered ${delivered} of ~${Math.round(window / 200)} values; culprit ${errors.length} errors, ended ${state} (${load.slice(0, 120)}…); ${deaths} worker deaths`,
      ok: state === "failed" && load !== "none" && deaths <= 2 && delivered >= 35,
    };
  },
);

/**
 * An innocent async poll (timeout 200 ms) and a source whose poll returns but leaves a timer that
 * blocks the worker's event loop, on a one-worker pool, over 5 s as the issue measured. The
 * culprit has a 200 ms timeout too: without one its hung poll is never noticed (README), so it
 * could not be quarantined.
 */
async function blockingTimer(how: "spin" | "sleepSync") {
  const p = pool({ size: 1 });
  const blockers = new URL("stray-blockers.ts", fixtures);
  const innocent = new Watcher("innocent", {
    poll: { module: blockers, export: "asyncCounter" },
    interval: "20ms",
    timeout: "200ms",
    initialBackoff: "20ms",
    pool: p,
  });
  const culprit = new Watcher(`blocks-${how}`, {
    poll: { module: blockers, export: "leavesBlockingTimer", args: [how, 1000] },
    interval: "50ms",
    timeout: "200ms",
    initialBackoff: "50ms",
    stopTimeout: "100ms",
    pool: p,
  });
  const innocentErrors: string[] = [];
  innocent.onError((e) => void innocentErrors.push(e.phase));
  let culpritErrors = 0;
  culprit.onError(() => void culpritErrors++);
  innocent.start();
  culprit.start();
  await waitFor(() => culprit.health().quarantined, { timeout: 5000 }).catch(() => {});
  const deathsToQuarantine = p.stats().deaths;
  await Bun.sleep(5000 - 200); // the rest of a fixed 5 s window, as the issue measured
  const h = innocent.health();
  const quarantined = culprit.health().quarantined;
  const deaths = p.stats().deaths;
  await Promise.all([innocent.stop(), culprit.stop()]);
  const phases = [...new Set(innocentErrors)].join(",") || "none";
  return {
    figure: `in 5 s: ${deaths} worker deaths; innocent ${innocentErrors.length} errors (${phases}), delivered ${h.delivered}, ${h.state}; culprit ${culpritErrors} errors, quarantined ${quarantined} after ${deathsToQuarantine} deaths`,
    ok:
      quarantined &&
      deathsToQuarantine <= 3 &&
      innocentErrors.length <= 2 &&
      innocentErrors.every((phase) => phase === "timeout") &&
      h.state === "running" &&
      h.delivered >= 100,
  };
}

for (const [how, call] of [
  ["spin", "for(;;){}"],
  ["sleepSync", "Bun.sleepSync(1000)"],
] as const) {
  await g.check(
    `source whose leftover setTimeout blocks the loop (${call}) next to an innocent timed poll, one-worker pool (issue 15 review: 13 deaths, innocent 21 errors, culprit never quarantined)`,
    "the innocent is not blamed nor refused (at most a timeout or two while blocked); the culprit is quarantined within 3 deaths",
    () => blockingTimer(how),
  );
}

/** Runs native-poller.ts in a child process: what is left after stop(), and when it exits. */
async function nativePoller(how: "sleepSync" | "spawnSync") {
  const child = Bun.spawn(
    ["bun", new URL("native-poller.ts", fixtures).pathname, how, "5000", "10000"],
    { stdout: "pipe", stderr: "ignore" },
  );
  const out = await new Response(child.stdout).text();
  await child.exited;
  const exitedAt = Date.now();
  const r = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
  const exitMs = exitedAt - r.stoppedAt;
  const figure = `5 s of 200 ms timeouts, each call blocked 10 s: ${r.kills} kill(s), ${r.errors} errors, unkillable reported ${r.unkillable}; after stop() (${r.stopMs} ms): +${r.threads} threads, ${r.sleeps} sleep processes, +${r.rssMb} MB RSS; host exited ${(exitMs / 1000).toFixed(1)} s after stop()`;
  const stopped = r.stopMs < 1000;
  if (how === "sleepSync")
    return { figure, ok: r.kills === 1 && r.unkillable && stopped && exitMs < 10_000 };
  // Each kill ends the child, so the thread ends and the source runs again on a fresh worker. A
  // host that ran one Worker (which called Bun.spawnSync) and saw it close has +3 threads of Bun's
  // own, measured; so up to 3 is no thread held, where the issue saw one more per kill.
  return {
    figure,
    ok:
      r.kills >= 2 && !r.unkillable && stopped && r.sleeps === 0 && r.threads <= 3 && exitMs < 1000,
  };
}

for (const [how, call, promise] of [
  [
    "spawnSync",
    "Bun.spawnSync(['sleep','10'])",
    "its child is killed with the worker, so the call returns and the thread ends; the source runs again; no sleep process after stop(); the host exits at once",
  ],
  [
    "sleepSync",
    "Bun.sleepSync(10_000)",
    "killed once; no other worker for it while its thread lives (unkillable in health); stop() is not held; the host exits when the native call returns",
  ],
] as const) {
  await g.check(
    `poll blocked in ${call} with a 200 ms timeout (issue 15: 30 s, over 10 s)`,
    promise,
    () => nativePoller(how),
  );
}

/** Resident MB of `pid`, from /proc (0 once it is gone). */
function rssMb(pid = process.pid): number {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return Math.round((pages * 4096) / 2 ** 20);
  } catch {
    return 0;
  }
}

/**
 * A source that doubles a string until JavaScriptCore throws "Out of memory" (~2 GB held). Its
 * RSS is the host's with a Worker, its subprocess's (sampled every 20 ms) with a process.
 */
async function outOfMemory(isolation: "worker" | "process") {
  const p = pool({ size: 1 });
  const hog = new Watcher("hog", {
    poll: { module: sources, export: "fillsMemory" },
    interval: "1h",
    initialBackoff: "1h",
    ...(isolation === "process" ? { isolation } : { pool: p }),
  });
  hog.onError(() => {});
  let subprocess: number | undefined;
  const mb = () => (isolation === "worker" ? rssMb() : subprocess ? rssMb(subprocess) : 0);
  let peak = mb();
  const sampler = setInterval(() => {
    subprocess ??= descendants()[0];
    peak = Math.max(peak, mb());
  }, 20);
  hog.start();
  await waitFor(() => hog.health().workerRestarts === 1, { timeout: 20_000 });
  clearInterval(sampler);
  await waitFor(() => p.stats().workers === 0, { timeout: 3000 });
  // An ended worker's heap is unmapped a moment after its close event; a killed process's pages
  // are gone when its pid is.
  const t0 = performance.now();
  const ended = () => isolation === "worker" || (subprocess !== undefined && !isAlive(subprocess));
  await waitFor(() => mb() < 200 && ended(), { timeout: 5000 }).catch(() => {});
  const after = mb();
  const releasedMs = since(t0);
  const gone = ended();
  const reason = hog.health().lastWorkerRestart?.reason ?? "none";
  await hog.stop();
  const what = isolation === "worker" ? "host RSS" : `source process RSS (pid gone: ${gone})`;
  return {
    figure: `${what} peak ${peak} MB, ${after} MB ${releasedMs} ms after the recycle (before stop); restart: "${reason}"`,
    ok: peak > 1000 && after < 200 && reason.includes("ran out of memory") && gone,
  };
}

await g.check(
  "worker whose source allocates until 'Out of memory' (~2 GB held)",
  "the worker is recycled and the memory given back; the restart shows in health",
  () => outOfMemory("worker"),
);

await g.check(
  "isolation: \"process\" source that allocates until 'Out of memory' (~2 GB held)",
  "the subprocess throws RangeError like a Worker and stays alive holding it: its group is killed and the next call starts a new one; the restart shows in health",
  () => outOfMemory("process"),
);

await g.done();
