import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectLines, isAlive } from "@specter/core/testing";

export const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

/**
 * Live processes started by one demo run, wherever they were reparented: the demo passes its
 * environment on, so they carry the run's marker variable.
 */
function leftFrom(runId: string): number[] {
  const marker = `SPECTER_DEMO_TEST_RUN=${runId}`;
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (
        readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(marker) &&
        isAlive(Number(entry))
      )
        found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * Each run's own TMPDIR (a demo killed with SIGKILL cannot tidy up). Every test file that calls
 * `runDemo` registers `afterEach(removeRunDirs)` itself: a hook registered here, in a module that
 * `bun test` evaluates once for all files, would only run for the first file.
 */
const tmpDirs: string[] = [];
export function removeRunDirs(): void {
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Starts `argv` (by default the demo with `args`) and collects its output lines as they come.
 * The run has its own marker variable and TMPDIR, so what it leaves behind can be found.
 */
export function runDemo(args: string[], argv = [process.execPath, MAIN, ...args]) {
  const runId = crypto.randomUUID();
  const tmp = mkdtempSync(join(tmpdir(), "specter-demo-test-"));
  tmpDirs.push(tmp);
  const child = Bun.spawn(argv, {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, SPECTER_DEMO_TEST_RUN: runId, TMPDIR: tmp },
  });
  const [forLines, forText] = child.stdout.tee();
  const { lines, done: read } = collectLines(forLines);
  /** All of stdout as it came, escape sequences and carriage returns included. */
  const output = new Response(forText).text();
  const stderr = new Response(child.stderr).text();
  /** The demo's temporary folders still there (it removes its own when it stops). */
  const folders = () => readdirSync(tmp).filter((name) => name.startsWith("specter-demo-"));
  return { child, lines, read, output, stderr, left: () => leftFrom(runId), folders };
}
