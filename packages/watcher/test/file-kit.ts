import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Temporary folders and running file sources of one test file, all ended after each test. Call it
 * at the file's top level: a hook registered inside a shared module would run for one file only.
 */
export function fileTestKit(prefix: string) {
  const dirs: string[] = [];
  const running: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((stop) => stop()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), `specter-${prefix}-`));
    dirs.push(dir);
    return dir;
  }

  /**
   * Runs a stream source as a Watcher would, pushing what it yields into `into`. `stop()` aborts it
   * and resolves with how long it took to end (ms); `failed()` is what it threw, if anything.
   */
  function drain<T>(source: (context: { signal: AbortSignal }) => AsyncIterable<T>, into: T[]) {
    const controller = new AbortController();
    let failed: unknown;
    const done = (async () => {
      for await (const item of source({ signal: controller.signal })) into.push(item);
    })();
    const ended = done.catch((error: unknown) => {
      failed = error;
    });
    const stop = async () => {
      const started = performance.now();
      controller.abort();
      await ended;
      return performance.now() - started;
    };
    running.push(stop);
    return { stop, done, failed: () => failed };
  }

  return { tempDir, running, drain };
}
