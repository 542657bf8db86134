import { expect, test } from "bun:test";
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { OptionsError } from "@specter/core";
import { openFds, waitFor } from "@specter/core/testing";
import { type TailOptions, tail, Watcher } from "../src/index.ts";
import { fileTestKit } from "./file-kit.ts";

const { tempDir, running, drain } = fileTestKit("tail");

/** Follows `path` as a Watcher would, collecting lines; `stop()` aborts and waits for the end. */
function follow(path: string, options?: TailOptions) {
  const lines: string[] = [];
  const { stop, done } = drain(tail(path, options), lines);
  return { lines, stop, done };
}

/**
 * Waits until a tail from the end is reading: a primer line is written until one comes through
 * (one written before the tail opened the file is rightly skipped). Primers are then forgotten.
 */
async function primed(path: string, t: { lines: string[] }) {
  let n = 0;
  await waitFor(
    () => {
      if (t.lines.length > 0) return true;
      appendFileSync(path, `primer ${n++}\n`);
      return false;
    },
    { every: 20, message: "the tail is reading" },
  );
  await waitFor(() => t.lines.includes(`primer ${n - 1}`));
  t.lines.length = 0;
}

/** Whether this process has an inotify watch on `dir` (the tail's, once it has looked). */
function watching(dir: string): boolean {
  const ino = `ino:${statSync(dir).ino.toString(16)} `;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (!readlinkSync(`/proc/self/fd/${fd}`).includes("inotify")) continue;
      if (readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").includes(ino)) return true;
    } catch {
      // Closed meanwhile.
    }
  }
  return false;
}

test("from the end (the default) yields only lines appended after the start", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "old 1\nold 2\n");
  const t = follow(path);
  await primed(path, t);
  appendFileSync(path, "new 1\nnew 2\n");
  await waitFor(() => t.lines.length === 2);
  expect(t.lines).toEqual(["new 1", "new 2"]);
});

test("from the start yields what is there, then what is appended", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "old 1\nold 2\n");
  const t = follow(path, { from: "start" });
  await waitFor(() => t.lines.length === 2);
  appendFileSync(path, "new\n");
  await waitFor(() => t.lines.length === 3);
  expect(t.lines).toEqual(["old 1", "old 2", "new"]);
});

test("appends are seen through file-system events well before the poll interval", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "");
  const t = follow(path, { pollInterval: "10s" });
  await primed(path, t);
  const started = performance.now();
  appendFileSync(path, "fast\n");
  await waitFor(() => t.lines.includes("fast"), { timeout: 2_000 });
  expect(performance.now() - started).toBeLessThan(1_000);
});

test("a partial last line is held until its newline arrives", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "");
  const t = follow(path, { from: "start", pollInterval: 20 });
  appendFileSync(path, "first\nhal");
  await waitFor(() => t.lines.includes("first"));
  appendFileSync(path, "f a line");
  appendFileSync(path, "\nnext\n");
  await waitFor(() => t.lines.length === 3);
  expect(t.lines).toEqual(["first", "half a line", "next"]);
});

test("CRLF endings lose their \\r, and a character split across writes stays whole", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "");
  const t = follow(path, { from: "start", pollInterval: 20 });
  appendFileSync(path, "dos\r\nline\r");
  await waitFor(() => t.lines.includes("dos"));
  appendFileSync(path, "\n");
  const euro = Buffer.from("price: 5€\n");
  appendFileSync(path, euro.subarray(0, euro.length - 2)); // cut inside "€" (3 bytes)
  await waitFor(() => t.lines.includes("line"));
  appendFileSync(path, euro.subarray(euro.length - 2));
  await waitFor(() => t.lines.length === 3);
  expect(t.lines).toEqual(["dos", "line", "price: 5€"]);
});

test("a truncated file is followed from the top", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "one line that is long enough\nand another\n");
  const t = follow(path, { from: "start", pollInterval: 20 });
  await waitFor(() => t.lines.length === 2);
  writeFileSync(path, "short\n");
  await waitFor(() => t.lines.includes("short"));
  appendFileSync(path, "after\n");
  await waitFor(() => t.lines.includes("after"));
  expect(t.lines).toEqual(["one line that is long enough", "and another", "short", "after"]);
});

test("rotation by rename and create: the old file's last lines come first, then the new file from its start", async () => {
  const dir = tempDir();
  const path = join(dir, "app.log");
  writeFileSync(path, "");
  const t = follow(path, { from: "start", pollInterval: "10s" });
  appendFileSync(path, "old 1\n");
  await waitFor(() => t.lines.includes("old 1"));
  renameSync(path, join(dir, "app.log.1"));
  appendFileSync(join(dir, "app.log.1"), "old 2\nold 3 without newline");
  writeFileSync(path, "new 1\n");
  await waitFor(() => t.lines.includes("new 1"));
  appendFileSync(path, "new 2\n");
  await waitFor(() => t.lines.includes("new 2"));
  expect(t.lines).toEqual(["old 1", "old 2", "old 3 without newline", "new 1", "new 2"]);
});

test("rotation by delete and create: the old file's remaining lines are read through its open descriptor", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "");
  const t = follow(path, { from: "start", pollInterval: "10s" });
  appendFileSync(path, "old 0\n");
  await waitFor(() => t.lines.includes("old 0"));
  // The writer still holds the old file open after it is deleted.
  const fd = openSync(path, "a");
  try {
    unlinkSync(path);
    writeSync(fd, "old last\n");
    writeFileSync(path, "new first\n");
    await waitFor(() => t.lines.includes("new first"));
    expect(t.lines).toEqual(["old 0", "old last", "new first"]);
  } finally {
    closeSync(fd);
  }
});

test("waits for a file that does not exist yet, then reads it from its start", async () => {
  const dir = tempDir();
  const path = join(dir, "app.log");
  const t = follow(path, { pollInterval: "10s" });
  await waitFor(() => watching(dir), { message: "the tail has looked for the file" });
  writeFileSync(path, "born\n");
  await waitFor(() => t.lines.includes("born"));
  appendFileSync(path, "grown\n");
  await waitFor(() => t.lines.includes("grown"));
  expect(t.lines).toEqual(["born", "grown"]);
});

test("waits for a folder that does not exist yet, by polling", async () => {
  const dir = join(tempDir(), "later");
  const path = join(dir, "app.log");
  const t = follow(path, { from: "start", pollInterval: 20 });
  mkdirSync(dir);
  writeFileSync(path, "born\n");
  await waitFor(() => t.lines.includes("born"));
  expect(t.lines).toEqual(["born"]);
});

test("maxLineLength splits or truncates an overlong line, as watchStream does", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "abcdefgh\nok\n");
  const split = follow(path, { from: "start", maxLineLength: 3 });
  const cut = follow(path, { from: "start", maxLineLength: 3, overflow: "truncate" });
  await waitFor(() => split.lines.includes("ok") && cut.lines.includes("ok"));
  expect(split.lines).toEqual(["abc", "def", "gh", "ok"]);
  expect(cut.lines).toEqual(["abc", "ok"]);
});

test("stops at once on the signal, leaving no descriptor, watch or timer", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "");
  const before = openFds();
  const t = follow(path, { from: "start", pollInterval: "10s" });
  appendFileSync(path, "read\n");
  await waitFor(() => t.lines.includes("read"));
  expect(openFds()).toBeGreaterThan(before);
  const took = await t.stop();
  expect(took).toBeLessThan(200);
  expect(openFds()).toBe(before);
  // A timer or watch left behind would keep this process alive.
  const check = Bun.spawn([process.execPath, "-e", stopScript(path)], { stdout: "pipe" });
  const exit = await Promise.race([check.exited, Bun.sleep(5_000).then(() => "hung")]);
  if (exit === "hung") check.kill();
  expect(exit).toBe(0);
  expect(await new Response(check.stdout).text()).toBe("ended\n");
});

function stopScript(path: string): string {
  const module = JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname);
  return `
    const { tail } = await import(${module});
    const controller = new AbortController();
    const done = (async () => { for await (const _ of tail(${JSON.stringify(path)}, { pollInterval: "10s" })({ signal: controller.signal })); })();
    setTimeout(() => controller.abort(), 50);
    await done;
    console.log("ended");
  `;
}

test("a Watcher follows the file and stops promptly", async () => {
  const path = join(tempDir(), "app.log");
  writeFileSync(path, "a\n");
  const w = new Watcher("log", { stream: tail(path, { from: "start" }) });
  const values: string[] = [];
  w.subscribe((line) => {
    values.push(line);
  });
  w.start();
  running.push(() => w.stop());
  appendFileSync(path, "b\n");
  await waitFor(() => values.length === 2);
  expect(values).toEqual(["a", "b"]);
  const started = performance.now();
  await w.stop();
  expect(performance.now() - started).toBeLessThan(200);
});

test("bad options throw an OptionsError naming the option", () => {
  const bad: [unknown, unknown, string][] = [
    ["", undefined, "path"],
    ["/x", { from: "middle" }, "from"],
    ["/x", { pollInterval: 0 }, "pollInterval"],
    ["/x", { maxLineLength: 0 }, "maxLineLength"],
    ["/x", { overflow: "drop" }, "overflow"],
    ["/x", { follow: true }, "follow"],
  ];
  for (const [path, options, option] of bad) {
    const call = () => tail(path as string, options as TailOptions);
    expect(call).toThrow(OptionsError);
    expect(call).toThrow(`option "${option}"`);
  }
  expect(() => tail("/x", 5 as never)).toThrow(OptionsError);
});
