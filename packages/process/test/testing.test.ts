/**
 * The testing kit, `@specter/process/testing`: each fakeChild option is observable in what the
 * child really does, leftovers() counts what a test left and nothing of Specter's own, and the
 * fake children's folder goes when the test process does.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { groupHasLiveMember, liveProcesses, OptionsError } from "@specter/core";
import { commandLine, descendants, isAlive } from "@specter/core/testing";
import { WaitTimeoutError } from "../src/index.ts";
import { CLEANER_NAME } from "../src/testing/fake-child.ts";
import { fakeChild, leftovers, waitFor } from "../src/testing/index.ts";
import { collect, fixture, make, pgidOf, straysAfterEach } from "./helpers.ts";

/** Pids a test started outside `make()`; killed after it whatever happened. */
const strays = straysAfterEach();

/** Runs argv with plain Bun.spawn and returns its exact output bytes and exit code. */
async function runRaw(argv: string[]) {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).bytes(),
    new Response(child.stderr).bytes(),
    child.exited,
  ]);
  return { stdout, stderr, code };
}

const bytes = (text: string) => new TextEncoder().encode(text);

/** Lines a shell would love to interpret: each must come out exactly as given. */
const TRICKY = [
  "plain",
  "",
  "it's 'quoted'",
  "'",
  '"double" quotes',
  "back\\slash \\n \\t \\\\ \\0 not escapes",
  "\\",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax that must come out as is
  "$HOME ${PATH} $(echo no) `echo no` $1 $@ $$ $?",
  "100% %s %d %% %b",
  "-n",
  "--",
  "*",
  "; exit 9 # not a command",
  "  spaces around  ",
  "tab\there",
  "cr\rinside",
  "é € 😀 中文",
];

describe("fakeChild", () => {
  test("returns an sh argv; the script lives in a specter-fake-child-* temporary folder", async () => {
    const a = await fakeChild();
    const b = await fakeChild({ stdout: ["x"] });
    expect(a[0]).toBe("/bin/sh");
    expect(a).toHaveLength(2);
    expect(dirname(a[1] as string)).toMatch(/\/specter-fake-child-[^/]+$/);
    expect(dirname(b[1] as string)).toBe(dirname(a[1] as string)); // one folder per process
    expect(b[1]).not.toBe(a[1]);
    expect(existsSync(a[1] as string)).toBe(true);
  });

  test("prints stdout lines, then stderr lines, in order and byte for byte", async () => {
    const argv = await fakeChild({ stdout: TRICKY, stderr: TRICKY.toReversed(), exitAfter: 0 });
    const { stdout, stderr, code } = await runRaw(argv);
    expect(code).toBe(0);
    expect(stdout).toEqual(bytes(TRICKY.map((line) => `${line}\n`).join("")));
    expect(stderr).toEqual(
      bytes(
        TRICKY.toReversed()
          .map((line) => `${line}\n`)
          .join(""),
      ),
    );
    // And line by line through a ManagedProcess: the same strings (the CR is kept mid-line).
    const proc = make("tricky").start(argv, { stdout: "pipe", stderr: "pipe" });
    const out = collect(proc, "stdout");
    const err = collect(proc, "stderr");
    await proc.wait("5s");
    expect(out.lines).toEqual(TRICKY);
    expect(err.lines).toEqual(TRICKY.toReversed());
  });

  test("partialLastLine is written last, to stdout, without a newline", async () => {
    const argv = await fakeChild({
      stdout: ["one", "two"],
      stderr: ["err"],
      partialLastLine: "three 'and' $more",
      exitAfter: 0,
    });
    const { stdout, stderr } = await runRaw(argv);
    expect(new TextDecoder().decode(stdout)).toBe("one\ntwo\nthree 'and' $more");
    expect(new TextDecoder().decode(stderr)).toBe("err\n");
    const proc = make("partial").start(argv, { stdout: "pipe", stderr: "ignore" });
    const out = collect(proc, "stdout");
    await proc.wait("5s");
    expect(out.lines).toEqual(["one", "two", "three 'and' $more"]);
  });

  test("lineInterval spaces the writes; exitAfter counts from the last one", async () => {
    const argv = await fakeChild({
      stdout: ["a", "b", "c"],
      partialLastLine: "d",
      lineInterval: "60ms",
      exitAfter: "100ms",
      exitCode: 0,
    });
    const proc = make("paced");
    const at: number[] = [];
    proc.watchStream("stdout", () => {
      at.push(performance.now());
    });
    const started = performance.now();
    proc.start(argv, { stdout: "pipe" });
    const exit = await proc.wait("5s");
    const ended = performance.now();
    expect(exit?.exitCode).toBe(0);
    // A line cannot arrive before it was written, however late the reader is: lower bounds hold
    // under any load. "d" has no newline: it is delivered when the stream ends.
    expect(at).toHaveLength(4);
    const [, b = 0, c = 0, d = 0] = at;
    expect(b - started).toBeGreaterThanOrEqual(60);
    expect(c - started).toBeGreaterThanOrEqual(120);
    expect(d - started).toBeGreaterThanOrEqual(180);
    expect(ended - started).toBeGreaterThanOrEqual(180 + 100); // then exitAfter
    expect(ended - started).toBeLessThan(5_000);
  });

  test("exitCode and exitAfter; without exitAfter it waits until signalled", async () => {
    const seven = make("seven").start(await fakeChild({ exitAfter: "100ms", exitCode: 7 }));
    const exit = await seven.wait("5s");
    expect(exit).toMatchObject({ exitCode: 7, signalCode: null, stopped: false });
    expect(exit?.uptime).toBeGreaterThanOrEqual(90);
    expect(
      (
        await make("zero")
          .start(await fakeChild({ exitAfter: 0 }))
          .wait("5s")
      )?.exitCode,
    ).toBe(0);

    const waiting = make("waiting").start(await fakeChild({ stdout: ["up"] }), { stdout: "pipe" });
    const out = collect(waiting, "stdout");
    await waitFor(() => out.lines.length === 1);
    await expect(waiting.wait("200ms")).rejects.toBeInstanceOf(WaitTimeoutError);
    const stopped = await waiting.stop(); // an ordinary program: SIGTERM ends it at once
    expect(stopped).toMatchObject({ signalCode: "SIGTERM", killed: false });
    expect(stopped?.uptime).toBeGreaterThanOrEqual(200);
  });

  test("crashAfter exits with code 1 at that time; lines due later are never written", async () => {
    const argv = await fakeChild({
      stdout: ["a", "b", "c", "d"],
      lineInterval: "40ms",
      crashAfter: "100ms", // a at 0, b at 40, c at 80, crash at 100: d (120) never comes
      exitAfter: "5s",
      exitCode: 0,
    });
    const proc = make("crashy").start(argv, { stdout: "pipe" });
    const out = collect(proc, "stdout");
    const exit = await proc.wait("5s");
    expect(exit).toMatchObject({ exitCode: 1, stopped: false });
    expect(exit?.uptime).toBeGreaterThanOrEqual(90);
    expect(exit?.uptime).toBeLessThan(1_000);
    expect(out.lines).toEqual(["a", "b", "c"]);
    // A child that would wait for a signal crashes too.
    const waiting = make("crashy-waiting").start(await fakeChild({ crashAfter: "50ms" }));
    expect((await waiting.wait("5s"))?.exitCode).toBe(1);
  });

  test("ignoreSigterm: SIGTERM does nothing, stop() has to SIGKILL (grandchildren too)", async () => {
    const proc = make("stubborn", { terminateTimeout: "300ms", killTimeout: "1s" });
    proc.start(await fakeChild({ stdout: ["ready"], ignoreSigterm: true, grandchildren: 1 }), {
      stdout: "pipe",
    });
    const out = collect(proc, "stdout");
    await waitFor(() => out.lines.includes("ready"));
    const pid = proc.pid as number;
    const tree = [pid, ...descendants(pid)];
    expect(tree).toHaveLength(2);
    const started = performance.now();
    const exit = await proc.stop();
    expect(exit).toMatchObject({ signalCode: "SIGKILL", killed: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    for (const p of tree) expect(isAlive(p)).toBe(false);
    // Without it, the same child ends on SIGTERM.
    const polite = make("polite", { terminateTimeout: "5s" });
    polite.start(await fakeChild({ stdout: ["ready"], grandchildren: 1 }), { stdout: "pipe" });
    const politeOut = collect(polite, "stdout");
    await waitFor(() => politeOut.lines.includes("ready"));
    const before = performance.now();
    expect(await polite.stop()).toMatchObject({ signalCode: "SIGTERM", killed: false });
    expect(performance.now() - before).toBeLessThan(1_000);
  });

  test("grandchildren: in the child's process group, started before the first line, ended by stop()", async () => {
    const proc = make("tree");
    proc.start(await fakeChild({ stdout: ["ready"], grandchildren: 3 }), { stdout: "pipe" });
    const out = collect(proc, "stdout");
    await waitFor(() => out.lines.includes("ready"));
    const pid = proc.pid as number;
    const grandchildren = descendants(pid);
    expect(grandchildren).toHaveLength(3);
    for (const g of grandchildren) expect(pgidOf(g)).toBe(pid);
    expect(await leftovers()).toEqual([pid, ...grandchildren]);
    expect(await proc.stop()).toMatchObject({ signalCode: "SIGTERM", killed: false });
    for (const g of grandchildren) expect(isAlive(g)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  test("grandchildren do not hold the child's output open: it ends when the child exits", async () => {
    const argv = await fakeChild({ stdout: ["bye"], grandchildren: 2, exitAfter: 0 });
    const child = Bun.spawn(argv, { stdout: "pipe", detached: true });
    strays.push(-child.pid);
    expect(await new Response(child.stdout).text()).toBe("bye\n");
    expect(await child.exited).toBe(0);
    // Its grandchildren live on in its group (init's now): a careless program's leftovers.
    const group = () => liveProcesses().filter((p) => p.pgrp === child.pid);
    expect(group()).toHaveLength(2);
    process.kill(-child.pid, "SIGKILL");
    await waitFor(() => groupHasLiveMember(child.pid) === false);
  });

  test("a restarted fake child behaves the same each run", async () => {
    const proc = make("again", {
      restart: { policy: "on-failure", maxRestarts: 2, initialBackoff: 10 },
    });
    const out = collect(proc, "stdout");
    proc.start(await fakeChild({ stdout: ["run"], exitAfter: 0, exitCode: 2 }), { stdout: "pipe" });
    expect((await proc.wait("5s"))?.exitCode).toBe(2);
    expect(out.lines).toEqual(["run", "run", "run"]);
  });

  test("bad options throw OptionsError at once, naming the option and what is allowed", () => {
    const message = (options: unknown) => {
      try {
        fakeChild(options as never);
      } catch (error) {
        expect(error).toBeInstanceOf(OptionsError);
        return (error as Error).message;
      }
      throw new Error(`no error for ${JSON.stringify(options)}`);
    };
    expect(message({ exitCode: 256 })).toBe(
      'fakeChild(): option "exitCode" got 256: expected a whole number from 0 to 255',
    );
    expect(message({ exitCode: 1.5 })).toContain("a whole number from 0 to 255");
    expect(message({ stdout: "hello" })).toBe(
      'fakeChild(): option "stdout" got "hello": expected an array of strings without "\\n" or NUL (one string per line)',
    );
    expect(message({ stdout: ["ok", "two\nlines"] })).toContain(
      'option "stdout.1" got "two\\nlines": expected strings without "\\n" or NUL',
    );
    expect(message({ stderr: ["nul\0"] })).toContain('option "stderr.0"');
    expect(message({ lineInterval: "soon" })).toContain(
      'option "lineInterval" got "soon": expected a duration',
    );
    expect(message({ exitAfter: -1 })).toContain('option "exitAfter" got -1: expected a duration');
    expect(message({ crashAfter: "later" })).toContain('option "crashAfter"');
    expect(message({ grandchildren: 101 })).toContain(
      'option "grandchildren" got 101: expected a whole number from 0 to 100',
    );
    expect(message({ ignoreSigterm: "yes" })).toContain(
      'option "ignoreSigterm" got "yes": expected true or false',
    );
    expect(message({ partialLastLine: "" })).toContain(
      'option "partialLastLine" got "": expected a non-empty string',
    );
    expect(message({ stdin: ["x"] })).toContain(
      'option "stdin" got [ "x" ]: expected no such option; known options are stdout, stderr, lineInterval',
    );
    expect(message("fast")).toBe(
      'fakeChild(): value got "fast": expected an options object, or nothing',
    );
  });
});

describe("leftovers", () => {
  test("counts what a test started, not the orphan guard; empty after stop()", async () => {
    const proc = make("counted").start(await fakeChild());
    const pid = proc.pid as number;
    // At once, while the guard may not have exec'd its sh yet.
    expect(await leftovers()).toEqual([pid]);
    const guard = await waitFor(() =>
      descendants().find((p) => commandLine(p).includes("specter-orphan-guard")),
    );
    expect(descendants()).toContain(guard);
    expect(await leftovers()).toEqual([pid]);
    const sleeper = Bun.spawn(["sleep", "30"]);
    strays.push(sleeper.pid);
    expect((await leftovers()).toSorted()).toEqual([pid, sleeper.pid].toSorted());
    sleeper.kill("SIGKILL");
    await sleeper.exited;
    await proc.stop();
    expect(await leftovers()).toEqual([]);
  });

  test("the folder's cleaner is a process of its own, not a descendant", async () => {
    const folder = dirname((await fakeChild())[1] as string);
    const cleaners = liveProcesses().filter((p) => {
      const argv = commandLine(p.pid);
      return argv.includes(CLEANER_NAME) && argv.at(-1) === folder;
    });
    expect(cleaners).toHaveLength(1);
    expect(descendants()).not.toContain(cleaners[0]?.pid);
    expect(await leftovers()).toEqual([]);
  });
});

describe("the fake children's folder", () => {
  /** Runs fixtures/fake-child-host.ts in `mode` until it printed its report. */
  async function host(mode: "exit" | "end" | "kill") {
    const child = Bun.spawn([process.execPath, fixture("fake-child-host.ts"), mode], {
      stdout: "pipe",
      stderr: "inherit",
    });
    strays.push(child.pid);
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const report = JSON.parse(text) as { folder: string; child?: number; grandchildren: number[] };
    if (report.child) strays.push(-report.child);
    return { child, report };
  }

  test("is removed when the process exits (process.exit)", async () => {
    const { child, report } = await host("exit");
    expect(await child.exited).toBe(0);
    expect(existsSync(report.folder)).toBe(false); // by the "exit" listener, before the exit
  });

  test("does not keep a program alive, and goes when it ends by itself", async () => {
    const { child, report } = await host("end");
    let timer: Timer | undefined;
    const ended = await Promise.race([
      child.exited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(resolve, 5_000, false);
      }),
    ]);
    clearTimeout(timer);
    expect(ended).toBe(true);
    expect(existsSync(report.folder)).toBe(false);
  });

  test("is removed after a SIGKILL too, and a forgotten fake child ends with its maker", async () => {
    const { child, report } = await host("kill");
    const tree = [report.child as number, ...report.grandchildren];
    expect(tree).toHaveLength(2);
    expect(tree.every(isAlive)).toBe(true);
    child.kill("SIGKILL");
    await child.exited;
    await waitFor(() => !existsSync(report.folder), {
      message: `the cleaner removed ${report.folder}`,
    });
    // It ignores SIGTERM and waits for a signal, but its maker is gone: it ends, and so does
    // its grandchild.
    await waitFor(() => !tree.some(isAlive), { message: `${tree} ended with their maker` });
  }, 10_000);
});
