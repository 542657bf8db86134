/**
 * `leftovers()`: the processes a test left running below it, without the helpers Specter runs on
 * its own (orphan guards, the fake-child folder cleaner) that a test should not have to know about.
 */
import { commandLine, descendants, readStat } from "@specter/core";
import { CLEANER_NAME } from "./fake-child.ts";

/** Arguments that mark a Specter helper `sh` (see orphan-guard.ts and fake-child.ts). */
const HELPER_MARKS = ["specter-orphan-guard", CLEANER_NAME];

/**
 * How long a process whose identity is not known yet may take to show it. Bun forks and then
 * execs: in between the child shows this process's command line (under load, for a few ms); a
 * process that is exiting shows none until it is a zombie.
 */
const SETTLE_MS = 250;

/**
 * Pids of the live descendants of the calling process, children before grandchildren, Specter's
 * own helper processes (and anything below them) left out. Bun itself starts no helper processes.
 *
 * A child that Bun has forked but that has not exec'd its program yet carries this process's
 * command line, so it cannot be told from a guard being started; an exiting process carries none.
 * Such pids are looked at again every 2 ms until they show what they are, have gone, or 250 ms
 * have passed (then they count). So right after `start()`, `leftovers()` is exactly the managed
 * child, and right after `await stop()` it is empty.
 */
export async function leftovers(): Promise<number[]> {
  const host = commandLine(process.pid).join("\0");
  const deadline = performance.now() + SETTLE_MS;
  for (;;) {
    const found = survey(host);
    const settled = !found.some(({ kind }) => kind === "unsure");
    if (settled || performance.now() >= deadline) {
      return found.filter(({ kind }) => kind !== "helper").map(({ pid }) => pid);
    }
    await Bun.sleep(2);
  }
}

type Kind = "counted" | "helper" | "unsure";

/** Each descendant, parents before their children, with what it is. */
function survey(host: string): { pid: number; kind: Kind }[] {
  const found: { pid: number; kind: Kind }[] = [];
  const helpers = new Set<number>();
  for (const pid of descendants()) {
    const ppid = readStat(pid)?.ppid;
    const argv = commandLine(pid);
    let kind: Kind = "counted";
    // Below a helper (the `sleep` of a guard taking its group down), or a helper itself.
    if ((ppid !== undefined && helpers.has(ppid)) || HELPER_MARKS.some((m) => argv.includes(m))) {
      helpers.add(pid);
      kind = "helper";
    } else if (argv.length === 0 || (ppid === process.pid && argv.join("\0") === host)) {
      kind = "unsure";
    }
    found.push({ pid, kind });
  }
  return found;
}
