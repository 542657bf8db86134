/**
 * What tests of "nothing escapes" need: the programs whose descendants leave the process group
 * (each case measured in the issue: all survived `stop()` when only the group was signalled), and
 * a look at a run's tree from the outside, independent of the code under test.
 */
import { environVariable, isAlive, liveProcesses, type ProcStat } from "@specter/core";

/** A case: its argv (prints "ready" once its tree is complete) and how many leave the group. */
export interface EscapeCase {
  argv: string[];
  /** Processes outside the child's group once it is ready. */
  outside: number;
  /** A program it needs, or none. */
  needs?: string;
}

export const ESCAPES: Record<string, EscapeCase> = {
  // Job control: each background job gets a group of its own, in the child's session.
  "bash set -m (2 job groups)": {
    argv: ["bash", "-c", "set -m; sleep 300 & sleep 300 & echo ready; wait"],
    outside: 2,
    needs: "bash",
  },
  "perl setpgrp": {
    argv: [
      "perl",
      "-e",
      '$| = 1; if (fork() == 0) { setpgrp(0, 0); sleep 300; exit } print "ready\\n"; sleep 300',
    ],
    outside: 1,
    needs: "perl",
  },
  "python3 os.setpgid(0, 0)": {
    argv: [
      "python3",
      "-c",
      [
        "import os, time",
        "if os.fork() == 0:",
        "    os.setpgid(0, 0)",
        "    time.sleep(300)",
        "else:",
        "    print('ready', flush=True)",
        "    time.sleep(300)",
      ].join("\n"),
    ],
    outside: 1,
    needs: "python3",
  },
  // Its parent (a subshell) exits at once: reparented to init, found by the run's marker only.
  "setsid grandchild": {
    argv: ["sh", "-c", "(setsid sleep 300 &); echo ready; exec sleep 300"],
    outside: 1,
  },
  // A daemon: fork, setsid, its parent exits, and it starts a worker of its own.
  "double-fork setsid daemon": {
    argv: ["sh", "-c", "(setsid sh -c 'sleep 300 & exec sleep 300' &); echo ready; exec sleep 300"],
    outside: 2,
  },
};

/** Whether `program` can be run here. */
export function has(program: string | undefined): boolean {
  return program === undefined || Bun.which(program) !== null;
}

/**
 * The live processes of the run led by `pid`, as an outside observer finds them: its group, its
 * session, and what carries the run's marker (read from the leader's environment).
 */
export function runTree(pid: number): ProcStat[] {
  const marker = environVariable(pid, "SPECTER_RUN");
  const token = marker?.split(",").at(-1);
  return liveProcesses().filter(
    (p) =>
      p.pgrp === pid ||
      p.session === pid ||
      (token !== undefined && (environVariable(p.pid, "SPECTER_RUN") ?? "").includes(token)),
  );
}

/** Kills what is left of `pids` (for cleanup after a failed test). */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** The ones still alive. */
export function survivors(pids: readonly number[]): number[] {
  return pids.filter(isAlive);
}
