/**
 * The run marker: tokens are unguessable and matched whole, so one run's marker never reaches the
 * processes of another run (or of another host), however close their numbers.
 */
import { describe, expect, test } from "bun:test";
import type { ProcStat } from "@specter/core";
import { HOST_TOKEN, members, newRunToken, type Snapshot } from "../src/run-tree.ts";

/** A process outside every group and session of the tests, with marker value `marker`. */
function proc(pid: number, marker: string): ProcStat & { marker: string } {
  return {
    pid,
    marker,
    state: "S",
    ppid: 1,
    pgrp: pid,
    session: pid,
    cpuSeconds: 0,
    childCpuSeconds: 0,
    residentMemoryBytes: 0,
    startTime: pid,
  };
}

function fakeSnapshot(live: (ProcStat & { marker: string })[]): Snapshot {
  return {
    readable: true,
    uncertain: false,
    live,
    tokens: (stat) => (stat as ProcStat & { marker: string }).marker,
    childrenOf: () => [],
  };
}

describe("run tokens", () => {
  test("random past the host part and the run number: another run's cannot be guessed", () => {
    const a = newRunToken();
    const b = newRunToken();
    expect(a).toMatch(new RegExp(`^${HOST_TOKEN}-\\d+\\.[0-9a-f]{16}$`));
    const [, n, tailA] = /-(\d+)\.([0-9a-f]+)$/.exec(a) as RegExpExecArray;
    const [, m, tailB] = /-(\d+)\.([0-9a-f]+)$/.exec(b) as RegExpExecArray;
    expect(Number(m)).toBe(Number(n) + 1);
    expect(tailB).not.toBe(tailA);
    // What a child of run n would guess for run n + 1 knowing only the host part and numbering.
    expect(b).not.toBe(`${HOST_TOKEN}-${m}.${tailA}`);
  });

  test("matched whole: run -1. is not -10. or -11., a token inside a longer one is not it", () => {
    const token = "0123456789abcdef-1.00112233aabbccdd";
    const live = [
      proc(901, token),
      proc(902, `outer-3.ffff,${token}`), // a run of a host that is itself a run
      proc(903, "0123456789abcdef-10.00112233aabbccdd"),
      proc(904, "0123456789abcdef-11.00112233aabbccdd"),
      proc(905, `${token}x`),
      proc(906, `x${token}`),
      proc(907, "0123456789abcdef-1."),
      proc(908, ""),
    ];
    const found = members(fakeSnapshot(live), { pgid: 900, token }).map((p) => p.pid);
    expect(found.sort()).toEqual([901, 902]);
  });
});
