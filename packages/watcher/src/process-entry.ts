/**
 * The program of a source subprocess (`isolation: "process"`): source-host.ts over Bun's IPC
 * channel. It leads its own process group (the host spawns it with `detached`), so whatever the
 * source starts is in that group and ends with it. Internal.
 */
import type { FromWorker, ToWorker } from "./protocol.ts";
import { hostSources } from "./source-host.ts";

const send = process.send?.bind(process);
if (!send)
  throw new Error("process-entry.ts runs as a watcher's source subprocess (no IPC channel)");

/** Ends the group: this process, the guard below and everything the source started in it. */
const endGroup = () => process.kill(-process.pid, "SIGKILL");

const handle = hostSources({ post: (message: FromWorker) => send(message) });
process.on("message", (message) => handle(message as ToWorker));
// The host is gone (however it ended) or let go of the channel: nobody is left to report to.
process.on("disconnect", endGroup);

// The same when this process is stuck in synchronous source code and cannot see the channel
// close: a `sh` in the group reads stdin, a pipe whose only writer is the host, and at its end
// (the host died) kills the group. Blocked in `read`, it costs no CPU.
Bun.spawn(
  ["sh", "-c", 'while read -r _; do :; done; kill -9 -"$1"', "specter-guard", `${process.pid}`],
  {
    stdin: "inherit",
    stdout: "ignore",
    stderr: "ignore",
  },
).unref();
