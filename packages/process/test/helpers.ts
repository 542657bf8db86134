import { afterEach, expect } from "bun:test";
import { OptionsError } from "@specter/core";
import { descendants, readStat } from "@specter/core/testing";
import {
  type LineInfo,
  ManagedProcess,
  type ProcessOptions,
  type StreamName,
  type WatchLinesOptions,
} from "../src/index.ts";
import { waitFor } from "../src/testing/index.ts";

/** Absolute path of a fixture. */
export function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

/** argv that runs a shell fixture with `sh` (so the executable bit does not matter). */
export function sh(name: string, ...args: string[]): string[] {
  return ["sh", fixture(name), ...args];
}

/** argv that runs a Bun fixture. */
export function bunScript(name: string, ...args: string[]): string[] {
  return [process.execPath, fixture(name), ...args];
}

const made: ManagedProcess[] = [];

/** A ManagedProcess that `cleanup()` stops after the test. */
export function make(name: string, options: ProcessOptions = {}): ManagedProcess {
  const proc = new ManagedProcess(name, options);
  made.push(proc);
  return proc;
}

/**
 * For afterEach: stops every process made by `make`, then checks that no child is left, orphan
 * guards included (stricter than `leftovers()`, which a user's test would use: the library's own
 * helpers must go too).
 */
export async function cleanup(): Promise<void> {
  await Promise.all(made.splice(0).map((proc) => proc.stop().catch(() => {})));
  await waitFor(() => descendants().length === 0, {
    timeout: 3_000,
    message: "a child process outlived its test",
  });
}

/** Collects the lines of one stream (and their infos). */
export function collect(proc: ManagedProcess, stream: StreamName, options?: WatchLinesOptions) {
  const lines: string[] = [];
  const infos: LineInfo[] = [];
  proc.watchStream(
    stream,
    (line, info) => {
      lines.push(line);
      infos.push(info);
    },
    options,
  );
  return { lines, infos };
}

/** Process group id of `pid`, from /proc; `undefined` when it is gone. */
export function pgidOf(pid: number): number | undefined {
  return readStat(pid)?.pgrp;
}

/** Live descendants of this process in process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return descendants().filter((pid) => pgidOf(pid) === pgid);
}

/** The message of the OptionsError (a TypeError) that `fn` throws; fails the test if it throws none. */
export function optionsError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error("expected an OptionsError");
}

/**
 * The list a test file pushes pids it started outside `make()` to: after each test they are
 * SIGKILLed whatever happened, then `cleanup()` runs. Call it at the file's top level.
 */
export function straysAfterEach(): number[] {
  const strays: number[] = [];
  afterEach(async () => {
    for (const pid of strays.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await cleanup();
  });
  return strays;
}
