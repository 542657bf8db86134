/**
 * The last line of defence against orphans, one per host: a tiny `sh` blocked reading a pipe from
 * the host, to which the host writes a line per child group it starts (`+ pgid tenths signum
 * token`: its run's marker token) and one per group that is gone (`- pgid`). When the pipe
 * reaches end-of-file the host is gone, however it died (SIGKILL, a crash, `bun test` ending
 * without running "exit" listeners): the guard stops what is still registered the way `stop()`
 * would — each run's graceful signal to its group, its session and the processes carrying its
 * marker, up to its terminateTimeout for them to go, then SIGKILL. Only registered runs: one
 * started with `hostShutdown: false` is left alone, marked processes included.
 *
 * The guard lives while at least one group is registered; once the last one is gone it is killed
 * and reaped, so a host with nothing running has no guard (and a stopped process leaves no
 * process of ours behind). One guard for any number of children: 200 children cost 1 process
 * and 2 fds in the host (the guard's pipe and its pidfd) instead of 200 processes and 400 fds.
 */

import { constants } from "node:os";
import { settlesWithin } from "@specter/core";
import type { FileSink, Subprocess } from "bun";

// $1 = the host's pid (to tell guards apart). The host writes `+ pgid tenths signum token` for
// each run it starts and `- token` for each that is gone; an entry is " pgid:tenths:signum:token"
// (delimited by " " and ":", so group 1 is never group 12; removed by its token, unique where a
// pgid may come back; signals by number, which every sh's kill takes; tokens only ever come
// through the pipe, never argv, which anyone can read).
// Only builtins in the read loop and the stat scan (no fork per process: 50 ms for 320 processes
// with dash); one grep per scan finds the processes carrying a registered run's marker (only those:
// a run started with hostShutdown: false is not ours to end), and, with several groups, one grep
// per such process tells whose it is, so it gets its own run's signal and terminateTimeout.
export const SCRIPT = `groups=' '
while read -r op id tenths sig token; do
  case $op in
  +) groups="$groups$id:$tenths:$sig:$token " ;;
  -) case $groups in *":$id "*)
       rest=\${groups#*":$id "}
       head=\${groups%%":$id "*}
       groups="\${head% *} $rest" ;;
     esac ;;
  esac
done
[ "$groups" = ' ' ] && exit 0
max=0
n=0
for g in $groups; do t=\${g#*:}; t=\${t%%:*}; [ "$t" -gt "$max" ] && max=$t; n=$((n + 1)); done
# hit PID ENTRY: the graceful signal on the first pass, SIGKILL once the entry's time is up.
hit() {
  t=\${2%%:*}
  if [ "$now" -lt 0 ]; then s=\${2#*:}; kill -"\${s%%:*}" "$1" 2>/dev/null
  elif [ "$now" -ge "$t" ]; then kill -9 "$1" 2>/dev/null; fi
}
# The registered tokens as grep patterns (never an empty one: it would match every process).
marked() {
  set --
  for g in $groups; do
    k=\${g##*:}
    [ "\${#k}" -ge 16 ] && set -- "$@" -e "$k"
  done
  [ "$#" -gt 0 ] && grep -l -F "$@" /proc/[0-9]*/environ 2>/dev/null
}
scan() {
  alive=0
  seen=' '
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    set -- \${line##*") "}
    [ "$1" = Z ] && continue
    case $groups in
    *" $3:"*) e=\${groups#*" $3:"} ;;
    *" $4:"*) e=\${groups#*" $4:"} ;;
    *) continue ;;
    esac
    p=\${f#/proc/}
    p=\${p%/stat}
    alive=$((alive + 1))
    seen="$seen$p "
    hit "$p" "\${e%% *}"
  done
  for f in $(marked); do
    p=\${f#/proc/}
    p=\${p%/environ}
    case $seen in *" $p "*) continue ;; esac
    e=
    for g in $groups; do
      if [ "$n" -eq 1 ] || grep -q -F -e "\${g##*:}" "$f" 2>/dev/null; then e=\${g#*:}; break; fi
    done
    [ -n "$e" ] || continue
    alive=$((alive + 1))
    hit "$p" "$e"
  done
}
now=-1
scan
i=0
step=1
quiet=0
while [ "$i" -le $((max + 10)) ]; do
  # Done after two scans in a row find nothing: one may miss a process in the middle of an exec.
  if [ "$alive" -gt 0 ]; then quiet=0; else quiet=$((quiet + 1)); fi
  [ "$quiet" -ge 2 ] && break
  next=$((max + 10))
  for g in $groups; do t=\${g#*:}; t=\${t%%:*}; [ "$t" -gt "$i" ] && [ "$t" -lt "$next" ] && next=$t; done
  [ $((i + step)) -gt "$next" ] && step=$((next - i))
  [ "$step" -lt 1 ] && step=1
  sleep "$((step / 10)).$((step % 10))"
  i=$((i + step))
  now=$i
  scan
  step=$((step * 2))
  [ "$step" -gt 5 ] && step=5
done`;

/** Marks the guard's argv, so that tests (`leftovers()`) can tell it from the processes they started. */
export const GUARD_NAME = "specter-orphan-guard";

type Guard = Subprocess<"pipe", "ignore", "ignore">;

/** How long a guard must have run for its death to be worth a new one (not a broken `sh`). */
const RESPAWN_AFTER_MS = 1_000;

class HostGuard {
  #guard: Guard | undefined;
  #pipe: FileSink | undefined;
  #spawnedAt = 0;
  /** Supervisors that may register another run soon (see `hold`). */
  #holds = 0;
  /** The line of each registered run, by token: written again to a new guard. */
  readonly #lines = new Map<string, string>();

  /**
   * Registers group `pgid` and the run's marker `token` (its `terminateTimeout` and graceful
   * signal), starting the guard.
   */
  register(
    pgid: number,
    token: string,
    terminateTimeout: number,
    signal: NodeJS.Signals = "SIGTERM",
  ): void {
    const tenths = Math.ceil(terminateTimeout / 100);
    const signum =
      (constants.signals as Record<string, number>)[signal] ?? constants.signals.SIGTERM;
    const line = `+ ${pgid} ${tenths} ${signum} ${token}\n`;
    this.#lines.set(token, line);
    if (this.#guard) this.#write(line);
    else this.#spawn();
  }

  /**
   * Forgets the run of `token` (its tree is gone). After the last one (and without a `hold`) the
   * guard is closed; the promise resolves once it has been reaped (at most 1 s), else at once.
   */
  async unregister(token: string): Promise<void> {
    if (!this.#lines.delete(token)) return;
    const guard = this.#guard;
    if (!guard) return;
    if (this.#lines.size > 0 || this.#holds > 0) {
      this.#write(`- ${token}\n`);
      return;
    }
    await this.#close();
  }

  /**
   * Keeps the guard while a supervisor may start another run (a restart policy): without a hold,
   * a crash loop would kill the guard at each run's end and spawn a new one at the next start.
   * Returns the release, which closes the guard if nothing is registered any more.
   */
  hold(): () => Promise<void> {
    this.#holds++;
    let held = true;
    return async () => {
      if (!held) return;
      held = false;
      this.#holds--;
      if (this.#holds === 0 && this.#lines.size === 0) await this.#close();
    };
  }

  /** Kills and reaps the guard (at most 1 s), if there is one. */
  async #close(): Promise<void> {
    const guard = this.#guard;
    if (!guard) return;
    // Killed rather than left to read end-of-file: nothing of ours is left for it to guard, and a
    // killed guard cannot signal a group id reused later. 0.4 ms against 1.2 ms for an exit.
    this.#guard = undefined;
    guard.ref(); // keep the host alive until it is reaped, or `await stop()` could be its end
    guard.kill("SIGKILL");
    try {
      this.#pipe?.end();
    } catch {
      // Already closed (the guard died).
    }
    this.#pipe = undefined;
    await settlesWithin(guard.exited, 1_000);
  }

  /** The live guard's pid, if any (for tests). */
  get pid(): number | undefined {
    return this.#guard?.pid;
  }

  #spawn(): void {
    let guard: Guard;
    try {
      guard = Bun.spawn(["sh", "-c", SCRIPT, GUARD_NAME, String(process.pid)], {
        stdin: "pipe",
        stdout: "ignore",
        stderr: "ignore",
        detached: true, // not in the host's group: a Ctrl-C to the host must not kill the guard
      });
    } catch {
      return; // No sh: the SIGINT/SIGTERM/exit hooks still apply.
    }
    guard.unref();
    this.#guard = guard;
    this.#pipe = guard.stdin;
    this.#spawnedAt = performance.now();
    this.#write([...this.#lines.values()].join(""));
    // Killed by someone else while groups are registered: a new guard takes over.
    guard.exited.then(() => {
      if (this.#guard !== guard) return;
      this.#guard = undefined;
      this.#pipe = undefined;
      if (this.#lines.size > 0 && performance.now() - this.#spawnedAt > RESPAWN_AFTER_MS) {
        this.#spawn();
      }
    });
  }

  #write(text: string): void {
    try {
      this.#pipe?.write(text);
      this.#pipe?.flush();
    } catch {
      // The guard died; its exit handler starts a new one.
    }
  }
}

/** The host's one orphan guard. */
export const hostGuard = new HostGuard();
