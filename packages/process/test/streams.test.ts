import { afterEach, describe, expect, test } from "bun:test";
import { descendants, isAlive } from "@specter/core/testing";
import { type LineInfo, type ProcessError, ProcessStateError } from "../src/index.ts";
import { fakeChild, waitFor } from "../src/testing/index.ts";
import { bunScript, cleanup, collect, make, pgidOf, sh } from "./helpers.ts";

afterEach(cleanup);

describe("watchStream", () => {
  test("delivers every line of a fast printer, in order", async () => {
    const proc = make("seq").start(sh("print-lines.sh", "200000"), { stdout: "pipe" });
    let count = 0;
    let inOrder = true;
    proc.watchStream("stdout", (line) => {
      count++;
      if (line !== String(count)) inOrder = false;
    });
    const exit = await proc.wait("10s");
    expect(exit?.exitCode).toBe(0);
    expect(count).toBe(200_000);
    expect(inOrder).toBe(true);
    expect(proc.health().streams.stdout).toMatchObject({ lines: 200_000, overflows: 0 });
  });

  test("a last line without newline is delivered", async () => {
    const argv = await fakeChild({
      stdout: ["one", "two"],
      partialLastLine: "three",
      exitAfter: 0,
    });
    const proc = make("partial").start(argv, { stdout: "pipe" });
    const out = collect(proc, "stdout");
    await proc.wait();
    expect(out.lines).toEqual(["one", "two", "three"]);
  });

  test("CRLF endings are removed; a bare CR inside a line is kept", async () => {
    const proc = make("crlf").start(sh("crlf.sh"), { stdout: "pipe" });
    const out = collect(proc, "stdout");
    await proc.wait();
    expect(out.lines).toEqual(["alpha", "beta", "", "ga\rmma", "last"]);
  });

  test("empty lines are delivered as empty strings", async () => {
    const argv = await fakeChild({ stdout: ["", "", "a", "", "b", ""], exitAfter: 0 });
    const proc = make("empty").start(argv, { stdout: "pipe" });
    const out = collect(proc, "stdout");
    await proc.wait();
    expect(out.lines).toEqual(["", "", "a", "", "b", ""]);
  });

  test("multi-byte characters split across writes arrive whole", async () => {
    const proc = make("utf8").start(bunScript("utf8-split.ts"), { stdout: "pipe" });
    const chunks: number[] = [];
    proc.watchStream(
      "stdout",
      (chunk) => {
        chunks.push(chunk.length);
      },
      { mode: "chunks" },
    );
    const out = collect(proc, "stdout");
    await proc.wait("5s");
    expect(chunks.length).toBeGreaterThan(1); // the split really reached us in pieces
    expect(out.lines).toEqual(["café € 😀"]);
  });

  test("a 10 MB line is delivered in pieces of maxLineLength by default, and says so", async () => {
    const proc = make("long").start(bunScript("long-line.ts"), { stdout: "pipe" });
    const pieces: [number, boolean][] = [];
    const after: string[] = [];
    proc.watchStream("stdout", (line, info) => {
      if (line.startsWith("x")) pieces.push([line.length, info.continued]);
      else after.push(line);
    });
    await proc.wait("10s");
    const total = pieces.reduce((sum, [n]) => sum + n, 0);
    expect(total).toBe(10 * 1024 * 1024);
    expect(pieces.length).toBe(10);
    expect(pieces.every(([n]) => n <= 1_048_576)).toBe(true);
    expect(pieces.slice(0, -1).every(([, continued]) => continued)).toBe(true);
    expect(pieces.at(-1)?.[1]).toBe(false);
    expect(after).toEqual(["after"]);
    expect(proc.health().streams.stdout).toMatchObject({ lines: 2, overflows: 1 });
  }, 15_000);

  test('a 10 MB line with overflow: "truncate" is cut, and says how much', async () => {
    const proc = make("long").start(bunScript("long-line.ts"), { stdout: "pipe" });
    const got: [number, LineInfo][] = [];
    proc.watchStream(
      "stdout",
      (line, info) => {
        got.push([line.length, info]);
      },
      { maxLineLength: 1000, overflow: "truncate" },
    );
    await proc.wait("10s");
    expect(got).toEqual([
      [1000, { continued: false, truncated: 10 * 1024 * 1024 - 1000 }],
      [5, { continued: false, truncated: 0 }],
    ]);
  }, 15_000);

  test('binary output in { mode: "chunks" } arrives as raw bytes', async () => {
    const proc = make("binary").start(sh("binary.sh"), { stdout: "pipe" });
    const chunks: Uint8Array[] = [];
    proc.watchStream(
      "stdout",
      (chunk) => {
        chunks.push(chunk);
      },
      { mode: "chunks" },
    );
    await proc.wait();
    expect(chunks.every((c) => c instanceof Uint8Array)).toBe(true);
    expect([...Buffer.concat(chunks)]).toEqual([0x00, 0x01, 0xff, 0x0a, 0xfe]);
  });

  test("stderr is watched like stdout", async () => {
    const argv = await fakeChild({
      stdout: ["out 1"],
      stderr: ["err 1", "err 2", "err 3"],
      exitAfter: 0,
    });
    const proc = make("stderr").start(argv, { stdout: "pipe", stderr: "pipe" });
    const out = collect(proc, "stdout");
    const err = collect(proc, "stderr");
    await proc.wait();
    expect(out.lines).toEqual(["out 1"]);
    expect(err.lines).toEqual(["err 1", "err 2", "err 3"]);
  });

  test("several callbacks on one stream all get every line; unsubscribing stops one", async () => {
    const proc = make("fan").start(sh("print-lines.sh", "1000"), { stdout: "pipe" });
    const a = collect(proc, "stdout");
    const b = collect(proc, "stdout");
    const c = collect(proc, "stdout", { maxLineLength: 2 });
    const dropped: string[] = [];
    const off = proc.watchStream("stdout", (line) => {
      dropped.push(line);
    });
    off();
    off(); // harmless twice
    expect(proc.health().streams.stdout.watchers).toBe(3);
    await proc.wait();
    const expected = Array.from({ length: 1000 }, (_, i) => String(i + 1));
    expect(a.lines).toEqual(expected);
    expect(b.lines).toEqual(expected);
    expect(c.lines.length).toBeGreaterThan(1000); // 3- and 4-digit numbers came in pieces
    expect(dropped).toEqual([]);
  });

  test("a throwing callback is isolated and reported; the others get every line", async () => {
    const argv = await fakeChild({ stdout: ["1", "2", "3", "4", "5"], exitAfter: 0 });
    const proc = make("throws").start(argv, { stdout: "pipe" });
    const errors: ProcessError[] = [];
    proc.on("error", (e) => {
      errors.push(e);
    });
    proc.watchStream("stdout", (line) => {
      if (line === "3") throw new Error("bad line");
    });
    proc.watchStream("stdout", async (line) => {
      if (line === "4") throw new Error("async bad line");
    });
    const good = collect(proc, "stdout");
    await proc.wait();
    await waitFor(() => errors.length === 2);
    expect(good.lines).toEqual(["1", "2", "3", "4", "5"]);
    expect(errors.map((e) => [e.phase, e.message])).toEqual([
      ["callback", 'ManagedProcess "throws": a stdout watcher threw: bad line'],
      ["callback", 'ManagedProcess "throws": a stdout watcher threw: async bad line'],
    ]);
    expect(errors[0]?.cause).toBeInstanceOf(Error);
    expect(proc.health().callbackErrors).toBe(2);
  });

  test("watching a stream that was not piped is a clear error", async () => {
    const proc = make("unpiped").start(["sleep", "30"], { stdout: "ignore" });
    expect(() => proc.watchStream("stdout", () => {})).toThrow(ProcessStateError);
    expect(() => proc.watchStream("stderr", () => {})).toThrow(
      'ManagedProcess "unpiped": cannot watch stderr: it was started with stderr: "inherit"; start it with { stderr: "pipe" } to watch it',
    );
    await proc.stop();
    // Watchers registered before start() require the pipe at start().
    const early = make("early");
    early.watchStream("stdout", () => {});
    expect(() => early.start(["sleep", "30"])).toThrow(
      'option "stdout" got "inherit": expected "pipe": watchStream("stdout") has watchers',
    );
    expect(early.running).toBe(false);
  });

  test("a watcher registered before start() gets everything", async () => {
    const proc = make("early");
    const out = collect(proc, "stdout");
    proc.start(await fakeChild({ stdout: ["1", "2", "3"], exitAfter: 0 }), { stdout: "pipe" });
    await proc.wait();
    expect(out.lines).toEqual(["1", "2", "3"]);
  });

  test("reading stops and is cleaned up on stop(); lines before stop were delivered", async () => {
    const proc = make("reader", { terminateTimeout: "2s" });
    proc.start(["sh", "-c", "echo first; echo second; exec sleep 30"], { stdout: "pipe" });
    const out = collect(proc, "stdout");
    await waitFor(() => out.lines.length === 2);
    await proc.stop();
    expect(out.lines).toEqual(["first", "second"]);
    expect(proc.health().streams.stdout.watchers).toBe(1);
  });

  test("a callback may stop the process; the lines already read are still delivered", async () => {
    const proc = make("self-stopping");
    // One write: "three" is in the pipe before anyone reads "stop".
    proc.start(["sh", "-c", "printf 'one\\nstop\\nthree\\n'; exec sleep 30"], { stdout: "pipe" });
    const lines: string[] = [];
    let stopping: Promise<unknown> | undefined;
    proc.watchStream("stdout", (line) => {
      lines.push(line);
      if (line === "stop") stopping = proc.stop();
    });
    await waitFor(() => stopping);
    const exit = await stopping;
    expect(exit).toMatchObject({ signalCode: "SIGTERM", stopped: true });
    expect(lines).toEqual(["one", "stop", "three"]);
  });

  test("output still held by a process out of reach does not hang stop()", async () => {
    // The grandchild leaves the session (setsid) without the run's marker (env -i) and its parent
    // exits: nothing ties it to the run any more, and it keeps stdout open.
    const proc = make("escapee", { terminateTimeout: "1s", killTimeout: "200ms" });
    const errors: ProcessError[] = [];
    proc.on("error", (e) => {
      errors.push(e);
    });
    proc.start(["sh", "-c", "(env -i setsid sleep 3 & echo $!); exec sleep 30"], {
      stdout: "pipe",
    });
    const out = collect(proc, "stdout");
    await waitFor(() => out.lines.length === 1);
    const escaped = Number(out.lines[0]);
    // setsid ran (a group of its own) and its parent is gone (no longer below the child).
    await waitFor(
      () => pgidOf(escaped) === escaped && !descendants(proc.pid as number).includes(escaped),
    );
    const started = performance.now();
    await proc.stop();
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(errors.map((e) => e.phase)).toEqual(["stream"]);
    expect(errors[0]?.message).toContain("a process out of reach");
    // stop() could not find it: the test ends it.
    process.kill(escaped, "SIGKILL");
    await waitFor(() => !isAlive(escaped));
  });

  test("a piped stream nobody watches is drained, not buffered; a later watcher gets later lines", async () => {
    const proc = make("unwatched", { terminateTimeout: "1s" });
    const rss = process.memoryUsage().rss;
    // 200 MB of "junk\n" on stderr, then one more line once stdin says so.
    proc.start(["sh", "-c", "yes junk | head -c 200000000 >&2; read go; echo late >&2"], {
      stdin: "pipe",
      stderr: "pipe",
    });
    await waitFor(() => proc.health().streams.stderr.bytes === 200_000_000, {
      timeout: 15_000,
      message: "the unwatched stderr was not read",
    });
    expect(process.memoryUsage().rss - rss).toBeLessThan(100_000_000);
    const err = collect(proc, "stderr");
    proc.stdin?.write("go\n");
    proc.stdin?.flush();
    await waitFor(() => err.lines.length > 0, { timeout: 5_000 });
    expect((await proc.wait("5s"))?.exitCode).toBe(0);
    expect(err.lines).toEqual(["late"]);
    expect(proc.health().streams.stderr.bytes).toBe(200_000_005);
  }, 30_000);

  // Each write is its own chunk: the "\r" | "\n" of a line of exactly maxLineLength, and a cut
  // right before an astral character that starts the next write (no lone surrogate).
  test("maxLineLength: \\r\\n split across writes; a cut before a surrogate pair across writes", async () => {
    const proc = make("crlf-split");
    proc.start(
      [
        "sh",
        "-c",
        "printf 'abcde\\r'; sleep 0.1; printf '\\nabcd'; sleep 0.1; printf '\\360\\237\\230\\200xyz'; sleep 0.1; printf '\\n'",
      ],
      { stdout: "pipe" },
    );
    const split = collect(proc, "stdout", { maxLineLength: 5 });
    const cut = collect(proc, "stdout", { maxLineLength: 5, overflow: "truncate" });
    await proc.wait("5s");
    expect(split.lines).toEqual(["abcde", "abcd", "😀xyz"]);
    expect(split.infos.map((i) => i.continued)).toEqual([false, true, false]);
    expect(cut.lines).toEqual(["abcde", "abcd"]);
    expect(cut.infos.map((i) => i.truncated)).toEqual([0, 5]);
    expect(cut.lines.every((line) => line.isWellFormed())).toBe(true);
    expect(proc.health().streams.stdout.overflows).toBe(2);
  });
});
