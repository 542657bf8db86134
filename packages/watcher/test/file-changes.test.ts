import { expect, test } from "bun:test";
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OptionsError } from "@specter/core";
import { openFds, waitFor } from "@specter/core/testing";
import { type FileChange, type FileChangesOptions, fileChanges, Watcher } from "../src/index.ts";
import { fileTestKit } from "./file-kit.ts";

const { tempDir, running, drain } = fileTestKit("changes");

/** Collects the changes at `path`; `stop()` aborts and waits for the end. */
function collect(path: string, options?: FileChangesOptions) {
  const changes: FileChange[] = [];
  const { stop, failed } = drain(fileChanges(path, options), changes);
  return { changes, stop, failed };
}

/**
 * Writes to `file` until a change is reported: the watch starts asynchronously, and a write made
 * before it runs is not seen. The changes seen so far are then forgotten.
 */
async function ready(file: string, c: { changes: FileChange[] }) {
  await waitFor(
    () => {
      if (c.changes.length > 0) return true;
      appendFileSync(file, "x");
      return false;
    },
    { every: 100, message: "the watch runs" },
  );
}

test("ten quick writes to a file are one change event", async () => {
  const path = join(tempDir(), "config.json");
  writeFileSync(path, "{}");
  const c = collect(path, { debounce: "100ms" });
  await ready(path, c);
  c.changes.length = 0;
  for (let i = 0; i < 10; i++) appendFileSync(path, `${i}`);
  await waitFor(() => c.changes.length === 1);
  expect(c.changes).toEqual([{ type: "change", path }]);
  // Nothing more comes for that burst: a further write is the next event.
  appendFileSync(path, "later");
  await waitFor(() => c.changes.length === 2);
  expect(c.changes[1]).toEqual({ type: "change", path });
});

test("a folder's files are reported by path, one event per path; rename wins within a burst", async () => {
  const dir = tempDir();
  const probe = join(dir, "probe");
  const c = collect(dir);
  await ready(probe, c);
  c.changes.length = 0;
  const a = join(dir, "a.txt");
  const b = join(dir, "b.txt");
  writeFileSync(a, "1");
  appendFileSync(a, "2");
  appendFileSync(b, "1"); // created: a rename, then a change
  await waitFor(() => c.changes.some((e) => e.path === a) && c.changes.some((e) => e.path === b));
  expect(c.changes.filter((e) => e.path === a)).toEqual([{ type: "rename", path: a }]);
  expect(c.changes.filter((e) => e.path === b)).toEqual([{ type: "rename", path: b }]);
  appendFileSync(a, "3");
  await waitFor(() => c.changes.filter((e) => e.path === a).length === 2);
  expect(c.changes.filter((e) => e.path === a)[1]).toEqual({ type: "change", path: a });
});

test("a rename in a folder reports both names", async () => {
  const dir = tempDir();
  const from = join(dir, "old.txt");
  const to = join(dir, "new.txt");
  writeFileSync(from, "x");
  const c = collect(dir);
  await ready(join(dir, "probe"), c);
  renameSync(from, to);
  await waitFor(
    () =>
      c.changes.some((e) => e.path === from && e.type === "rename") &&
      c.changes.some((e) => e.path === to && e.type === "rename"),
  );
});

test("recursive reports files in subfolders; without it they are not watched", async () => {
  const dir = tempDir();
  mkdirSync(join(dir, "sub"));
  const deep = join(dir, "sub", "deep.txt");
  const all = collect(dir, { recursive: true });
  const top = collect(dir);
  await ready(join(dir, "probe"), all);
  await ready(join(dir, "probe"), top);
  writeFileSync(deep, "x");
  await waitFor(() => all.changes.some((e) => e.path === deep));
  // The top-level watch sees at most the folder "sub" itself, never the file inside it.
  appendFileSync(join(dir, "probe"), "after");
  await waitFor(() => top.changes.filter((e) => e.path === join(dir, "probe")).length >= 2);
  expect(top.changes.some((e) => e.path === deep)).toBe(false);
});

test("stops at once on the signal, closing its watch; a Watcher runs it", async () => {
  const dir = tempDir();
  const before = openFds();
  const w = new Watcher("changes", { stream: fileChanges(dir, { debounce: "200ms" }) });
  const seen: FileChange[] = [];
  w.subscribe((change) => {
    seen.push(change);
  });
  w.start();
  running.push(() => w.stop());
  const probe = join(dir, "probe");
  await waitFor(
    () => {
      appendFileSync(probe, "x");
      return seen.length > 0;
    },
    { every: 300, timeout: 5_000 },
  );
  appendFileSync(probe, "pending"); // a burst still debouncing when the watcher stops
  const started = performance.now();
  await w.stop();
  expect(performance.now() - started).toBeLessThan(200);
  expect(openFds()).toBeLessThanOrEqual(before + 1); // Bun may keep one inotify descriptor
});

test("a stop with an event still debouncing leaves no timer or watch: the process can end", async () => {
  const dir = tempDir();
  const module = JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname);
  const script = `
    import { appendFileSync } from "node:fs";
    const { fileChanges } = await import(${module});
    const controller = new AbortController();
    const source = fileChanges(${JSON.stringify(dir)}, { debounce: "20s" });
    const done = (async () => { for await (const _ of source({ signal: controller.signal })); })();
    await Bun.sleep(50);
    appendFileSync(${JSON.stringify(join(dir, "file"))}, "x");
    await Bun.sleep(50);
    controller.abort();
    await done;
    console.log("ended");
  `;
  const check = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe" });
  const exit = await Promise.race([check.exited, Bun.sleep(5_000).then(() => "hung")]);
  if (exit === "hung") check.kill();
  expect(exit).toBe(0);
  expect(await new Response(check.stdout).text()).toBe("ended\n");
});

test("a missing path fails the stream", async () => {
  const c = collect(join(tempDir(), "missing"));
  await waitFor(() => c.failed());
  expect((c.failed() as { code?: string }).code).toBe("ENOENT");
});

test("bad options throw an OptionsError naming the option", () => {
  const bad: [unknown, unknown, string][] = [
    ["", undefined, "path"],
    ["/x", { recursive: "yes" }, "recursive"],
    ["/x", { debounce: "soon" }, "debounce"],
    ["/x", { depth: 2 }, "depth"],
  ];
  for (const [path, options, option] of bad) {
    const call = () => fileChanges(path as string, options as FileChangesOptions);
    expect(call).toThrow(OptionsError);
    expect(call).toThrow(`option "${option}"`);
  }
  expect(() => fileChanges("/x", "fast" as never)).toThrow(OptionsError);
});
