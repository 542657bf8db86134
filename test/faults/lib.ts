/**
 * The fault suite's reporting: each group script runs checks that measure a promise of the
 * packages and print one `FAULT {json}` line per check; `run.ts` collects them into a table.
 */

import { descendants, openFds } from "@specter/core/testing";
import { WorkerPool } from "@specter/watcher";

export interface CheckLine {
  type: "check";
  group: string;
  check: string;
  /** What was measured, in words and numbers. */
  figure: string;
  /** What the packages promise. */
  promise: string;
  ok: boolean;
}

export interface LeakLine {
  type: "leaks";
  group: string;
  children: number;
  fdsAtStart: number;
  fdsAtEnd: number;
  workers: number;
}

export type FaultLine = CheckLine | LeakLine;

const emit = (line: FaultLine) => console.log(`FAULT ${JSON.stringify(line)}`);

/** Pools a group made: their workers count as leaks if any is left at the end. */
const pools: WorkerPool[] = [];
export function pool(options: ConstructorParameters<typeof WorkerPool>[0] = {}): WorkerPool {
  const p = new WorkerPool(options);
  pools.push(p);
  return p;
}

export function group(name: string) {
  let fdsAtStart = openFds();
  return {
    /**
     * Takes the fd count again, after warming up runtime machinery that stays for the life of the
     * process (Bun's HTTP client opens an epoll and an eventfd on the first fetch).
     */
    baseline(): void {
      fdsAtStart = openFds();
    },
    /** Runs one check; a throw counts as a failed check with the error as its figure. */
    async check(
      check: string,
      promise: string,
      fn: () => Promise<{ figure: string; ok: boolean }>,
    ): Promise<void> {
      try {
        const { figure, ok } = await fn();
        emit({ type: "check", group: name, check, figure, promise, ok });
      } catch (error) {
        emit({
          type: "check",
          group: name,
          check,
          figure: `threw: ${(error as Error).message}`,
          promise,
          ok: false,
        });
      }
    },
    /** Reports what is left; the runner then expects this process to exit by itself. */
    async done(): Promise<void> {
      // Sockets closed by a peer and ended workers are released asynchronously: allow a moment.
      const deadline = performance.now() + 2000;
      while (openFds() > fdsAtStart && performance.now() < deadline) {
        Bun.gc(true);
        await Bun.sleep(20);
      }
      const workers = [WorkerPool.default, ...pools].reduce((n, p) => n + p.stats().workers, 0);
      emit({
        type: "leaks",
        group: name,
        children: descendants().length,
        fdsAtStart,
        fdsAtEnd: openFds(),
        workers,
      });
    },
  };
}

/** Milliseconds since `t0`, rounded. */
export const since = (t0: number) => Math.round(performance.now() - t0);
