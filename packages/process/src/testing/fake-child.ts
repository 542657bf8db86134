/**
 * `fakeChild()`: a small real program that behaves the way a test needs (prints these lines, waits,
 * exits with this code, ignores SIGTERM, leaves grandchildren...), written as an `sh` script to a
 * temporary folder and returned as an argv for `ManagedProcess.start()` or `Bun.spawn()`.
 *
 * Why `sh` and not a Bun script: measured here (Bun 1.4.5, Linux x64, 2 cores), spawning a script
 * that prints one line and exits takes 1.3 ms with dash against 4.5 ms with `bun`, and peaks at
 * 1.6 MB of resident memory against 23 MB. Tests start many of them (a crash loop is one per
 * restart), and `sh` leaves a plain process tree whose signals behave like any program's (no
 * runtime of ours in between). Durations need a `sleep` that takes fractions of a second, which
 * POSIX does not promise but GNU coreutils, busybox and the BSDs/macOS all do.
 */
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Duration, durationSchema, parseOptions } from "@specter/core";
import { z } from "zod";

/** What the fake child does; every option is optional. See `fakeChild`. */
export interface FakeChildOptions {
  /** Lines printed on stdout, in order, each followed by `\n`. */
  stdout?: readonly string[] | undefined;
  /** Lines printed on stderr, in order, after the stdout lines. */
  stderr?: readonly string[] | undefined;
  /** Pause before each line after the first (and before `partialLastLine`); default 0. */
  lineInterval?: Duration | undefined;
  /** Written to stdout last, without a newline. */
  partialLastLine?: string | undefined;
  /** Exit code when it exits by itself after `exitAfter`; 0 to 255, default 0. */
  exitCode?: number | undefined;
  /** Exit (with `exitCode`) this long after its last line; absent: wait until signalled. */
  exitAfter?: Duration | undefined;
  /** Ignore SIGTERM (the whole tree does, grandchildren included): only SIGKILL ends it. */
  ignoreSigterm?: boolean | undefined;
  /** Long-lived processes it starts in its process group before its first line; 0 to 100. */
  grandchildren?: number | undefined;
  /** Exit with code 1 this long after it started, cutting short any output and `exitAfter`. */
  crashAfter?: Duration | undefined;
}

const LINE_RULE = 'strings without "\\n" or NUL (one string per line)';
const lineSchema = z
  .string({ error: LINE_RULE })
  .refine((line) => !/[\n\0]/.test(line), { error: LINE_RULE });
const linesSchema = z.array(lineSchema, { error: `an array of ${LINE_RULE}` });

const wholeNumber = (max: number) => {
  const error = `a whole number from 0 to ${max}`;
  return z.number({ error }).int({ error }).min(0, { error }).max(max, { error });
};

const optionsSchema = z.strictObject(
  {
    stdout: linesSchema.default([]),
    stderr: linesSchema.default([]),
    lineInterval: durationSchema().default(0),
    partialLastLine: z
      .string({ error: 'a non-empty string without "\\n" or NUL' })
      .refine((text) => text !== "" && !/[\n\0]/.test(text), {
        error: 'a non-empty string without "\\n" or NUL',
      })
      .optional(),
    exitCode: wholeNumber(255).default(0),
    exitAfter: durationSchema().optional(),
    ignoreSigterm: z.boolean({ error: "true or false" }).default(false),
    // A bound so that a typo (1e6) cannot fork-bomb the machine running the tests.
    grandchildren: wholeNumber(100).default(0),
    crashAfter: durationSchema().optional(),
  },
  { error: "an options object, or nothing" },
);

type FakeChildConfig = z.output<typeof optionsSchema>;

/** `sleep` for "until signalled": 2^31 - 1 seconds, a number every `sleep` accepts (68 years). */
const FOREVER = "2147483647";

/**
 * Returns the argv of a new fake child program: `["/bin/sh", "<tmp>/child-<n>.sh"]`. Nothing is
 * started; each start of the argv runs the program afresh (so a restarted one behaves the same).
 *
 * What the program does, in order: ignores SIGTERM if asked; starts its `grandchildren` (in its
 * process group, their stdio on /dev/null so that its output ends when it ends); prints the
 * `stdout` lines, then the `stderr` lines, then `partialLastLine`, with `lineInterval` before each
 * write but the first; then exits with `exitCode` `exitAfter` later, or, without `exitAfter`,
 * waits until a signal ends it. `crashAfter`, counted from the start, cuts all of that short: at
 * that moment it exits with code 1, and lines due at or after it are never written.
 *
 * Lines are written exactly, byte for byte (quotes, backslashes, `$`, `%`, any Unicode); a line
 * may not contain `\n` (give two lines) or NUL. Timing is by `sleep`, each pause about 1 ms longer
 * than asked. Grandchildren outlive a child that exits by itself, as a careless program's would:
 * `ManagedProcess` ends them with the group. As a safety net, a fake child or grandchild waiting
 * "until signalled" also ends when the process that called `fakeChild()` is gone, so none outlives
 * the test run even when nothing stopped it.
 *
 * The scripts live in one folder per test process (`specter-fake-child-*` in the temporary
 * directory), removed when that process ends, however it ends: by an "exit" listener, and by a
 * detached `sh` that waits for the process to be gone (`bun test` runs no "exit" listeners, a
 * SIGKILL runs nothing). That `sh` is not a descendant of the test process.
 *
 * @throws {OptionsError} at once, for a bad option, naming it and what is allowed.
 */
export function fakeChild(options?: FakeChildOptions): Promise<string[]> {
  const config = parseOptions(optionsSchema, options ?? {}, "fakeChild()");
  return write(config);
}

async function write(config: FakeChildConfig): Promise<string[]> {
  const { dir, hostEnd } = await folder();
  const path = join(dir, `child-${++made}.sh`);
  await Bun.write(path, script(config, hostEnd));
  return ["/bin/sh", path];
}

let made = 0;

/** Shell single-quoting: everything is literal between single quotes, except `'` itself. */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** Milliseconds as seconds for `sleep` (whole milliseconds: "0.05", "1.5", "30"). */
function seconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

function script(config: FakeChildConfig, hostEnd: string | undefined): string {
  const sleep = quote(Bun.which("sleep") ?? "sleep");
  const lines = ["# Written by fakeChild() from @specter/process/testing."];
  if (config.ignoreSigterm) lines.push("trap '' TERM");
  // The read end of the FIFO the test process holds open (see the cleaner below): a `read` on it
  // returns once the test process is gone, so a fake child or grandchild waiting "until
  // signalled" never outlives the test run, even one nobody stopped. Opened first, while the
  // test process is surely alive (a FIFO's open waits for a writer). Without the FIFO, a sleep.
  if (hostEnd !== undefined) lines.push(`exec 3<${quote(hostEnd)}`);
  const untilHostEnds = hostEnd === undefined ? `${sleep} ${FOREVER}` : "read _ <&3";
  // A pause must not hold stdout or stderr: if only this sh is killed, its output ends with it.
  lines.push(`pause() { ${sleep} "$1" </dev/null >/dev/null 2>&1; }`);
  for (let i = 0; i < config.grandchildren; i++) {
    lines.push(`(${untilHostEnds}) </dev/null >/dev/null 2>&1 &`);
  }

  const writes = [
    ...config.stdout.map((line) => `printf '%s\\n' ${quote(line)}`),
    ...config.stderr.map((line) => `printf '%s\\n' ${quote(line)} >&2`),
  ];
  if (config.partialLastLine !== undefined) {
    writes.push(`printf '%s' ${quote(config.partialLastLine)}`);
  }
  const interval = Math.round(config.lineInterval);
  const lastWrite = Math.max(0, writes.length - 1) * interval;
  const exitAt =
    config.exitAfter === undefined
      ? Number.POSITIVE_INFINITY
      : lastWrite + Math.round(config.exitAfter);
  const crashAt =
    config.crashAfter === undefined ? Number.POSITIVE_INFINITY : Math.round(config.crashAfter);

  let now = 0;
  const waitUntil = (at: number) => {
    if (at > now) lines.push(`pause ${seconds(at - now)}`);
    now = at;
  };
  for (const [i, write] of writes.entries()) {
    const at = i * interval;
    if (at >= crashAt) break;
    waitUntil(at);
    lines.push(write);
  }
  if (crashAt <= exitAt && crashAt !== Number.POSITIVE_INFINITY) {
    waitUntil(crashAt);
    lines.push("exit 1");
  } else if (exitAt !== Number.POSITIVE_INFINITY) {
    waitUntil(exitAt);
    lines.push(`exit ${config.exitCode}`);
  } else if (hostEnd === undefined) {
    lines.push(`exec ${untilHostEnds}`); // one process: the sh becomes the sleep (same pid)
  } else {
    lines.push(untilHostEnds, "exit 0");
  }
  return `${lines.join("\n")}\n`;
}

// The cleaner: a detached `sh` that blocks reading a FIFO this process holds open for writing.
// When this process is gone, however it died, the FIFO has no writer left, `read` returns and the
// folder is removed. The outer sh opens the FIFO (so it is open before we go on) and exits; its
// background subshell carries on, reparented, so it is not among our descendants (tests that
// count them are not disturbed). `leftovers()` knows its name in case it is reparented to us.
export const CLEANER_NAME = "specter-fake-child-cleanup";
const CLEANER = `exec 3<"$1/.host"
(read _ <&3; rm -rf -- "$1") </dev/null >/dev/null 2>&1 &`;

interface Folder {
  dir: string;
  /** The FIFO that reaches end-of-file when this process is gone; absent without mkfifo. */
  hostEnd: string | undefined;
}

let folderMade: Promise<Folder> | undefined;

function folder(): Promise<Folder> {
  folderMade ??= makeFolder();
  return folderMade;
}

async function makeFolder(): Promise<Folder> {
  const dir = mkdtempSync(join(tmpdir(), "specter-fake-child-"));
  // A plain exit removes it at once (synchronously, the only kind of work "exit" allows).
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, ".host");
  try {
    if (Bun.spawnSync(["mkfifo", "-m", "600", fifo]).exitCode !== 0)
      return { dir, hostEnd: undefined };
    // Read-write, so this open never blocks (Linux, and the BSDs in practice) and readers find a
    // writer. The fd is never closed: this process's end closes it. Node and Bun open with
    // O_CLOEXEC, so no child inherits it (a child holding it would keep the readers waiting).
    openSync(fifo, "r+");
    const cleaner = Bun.spawn(["/bin/sh", "-c", CLEANER, CLEANER_NAME, dir], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
      detached: true, // its own session: a Ctrl-C to the test's terminal does not reach it
    });
    await cleaner.exited;
  } catch {
    // No mkfifo or sh: the "exit" listener alone removes the folder.
    return { dir, hostEnd: undefined };
  }
  return { dir, hostEnd: fifo };
}
