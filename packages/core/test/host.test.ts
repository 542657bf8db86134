/**
 * Host signal hooks, tried on real host processes: a handler runs on the first signal, and the
 * signal ends the host only when the last handler has finished, as if nobody had handled it.
 */
import { afterEach, expect, test } from "bun:test";
import { handleHostSignals } from "../src/index.ts";
import { collectLines, waitFor } from "../src/testing/index.ts";

const FIXTURE = new URL("./fixtures/signals.ts", import.meta.url).pathname;
const hosts: ReturnType<typeof Bun.spawn>[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.kill("SIGKILL");
});

async function host(mode: string) {
  const child = Bun.spawn([process.execPath, FIXTURE, mode], { stdout: "pipe", stderr: "pipe" });
  hosts.push(child);
  const { lines, done } = collectLines(child.stdout);
  await waitFor(() => lines.includes("ready"), { timeout: 5_000 });
  return { child, lines, done };
}

test("the handler runs, then the signal ends the host the default way", async () => {
  const { child, lines, done } = await host("reraise");
  child.kill("SIGTERM");
  await child.exited;
  await done;
  expect(child.signalCode).toBe("SIGTERM");
  expect(lines).toEqual(["ready", "stopping on SIGTERM", "stopped"]);
  expect(await new Response(child.stderr).text()).toBe("");
}, 10_000);

test('after: "remove" leaves the ending to the host, which exits by itself', async () => {
  const { child, lines, done } = await host("remove");
  child.kill("SIGINT");
  expect(await child.exited).toBe(0);
  await done;
  expect(lines).toEqual(["ready", "stopped"]);
}, 10_000);

test("a second signal while the handler runs ends the host at once", async () => {
  const { child, lines } = await host("hang");
  child.kill("SIGTERM");
  await waitFor(() => lines.includes("stopping"), { timeout: 5_000 });
  child.kill("SIGTERM");
  await child.exited;
  expect(child.signalCode).toBe("SIGTERM");
}, 10_000);

test("with two handlers the signal ends the host only after the slower one", async () => {
  const { child, lines, done } = await host("two");
  child.kill("SIGTERM");
  await child.exited;
  await done;
  expect(child.signalCode).toBe("SIGTERM");
  expect(lines).toEqual(["ready", "fast done", "slow done"]);
}, 10_000);

test("remove() takes away every handler it installed, also for a signal listed twice", () => {
  const before = process.listenerCount("SIGHUP");
  const remove = handleHostSignals({ signals: ["SIGHUP", "SIGHUP"], onSignal: () => {} });
  expect(process.listenerCount("SIGHUP")).toBe(before + 1);
  remove();
  remove();
  expect(process.listenerCount("SIGHUP")).toBe(before);
});
