/**
 * `bun run test:faults`: runs each fault group in its own process, checks that the process ends by
 * itself afterwards (nothing pending: no timer, worker, socket or child), and prints every figure
 * as a table. Last line: "faults: N passed, M failed".
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { CheckLine, FaultLine, LeakLine } from "./lib.ts";

const GROUP_TIMEOUT_MS = 180_000;
const EXIT_AFTER_DONE_MS = 5_000;
const dir = join(import.meta.dir, "groups");
const only = process.argv.slice(2);
const groups = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && (only.length === 0 || only.some((o) => f.includes(o))))
  .sort();

const checks: CheckLine[] = [];
const leaks: (LeakLine & { exitedByItself: boolean; exitCode: number | null })[] = [];

for (const file of groups) {
  const name = file.replace(/\.ts$/, "");
  process.stderr.write(`faults: ${name}...\n`);
  const child = Bun.spawn([process.execPath, join(dir, file)], {
    stdout: "pipe",
    stderr: "inherit",
  });
  let leak: LeakLine | undefined;
  let doneAt: number | undefined;
  const killer = setTimeout(() => child.kill("SIGKILL"), GROUP_TIMEOUT_MS);
  const reading = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout) {
      buffer += new TextDecoder().decode(chunk);
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("FAULT ")) continue;
        const parsed = JSON.parse(line.slice(6)) as FaultLine;
        if (parsed.type === "check") checks.push(parsed);
        else {
          leak = parsed;
          doneAt = performance.now();
        }
      }
    }
  })();
  // Once the group reports, it must end on its own: anything pending would keep it alive.
  const lingering = setInterval(() => {
    if (doneAt !== undefined && performance.now() - doneAt > EXIT_AFTER_DONE_MS)
      child.kill("SIGKILL");
  }, 100);
  const exitCode = await child.exited;
  clearTimeout(killer);
  clearInterval(lingering);
  await reading;
  const exitedByItself = leak !== undefined && exitCode === 0;
  leaks.push({
    ...(leak ?? {
      type: "leaks",
      group: name,
      children: -1,
      fdsAtStart: -1,
      fdsAtEnd: -1,
      workers: -1,
    }),
    exitedByItself,
    exitCode,
  });
  if (!leak)
    checks.push({
      type: "check",
      group: name,
      check: "group ran to the end",
      figure: `exit code ${exitCode}`,
      promise: "completes",
      ok: false,
    });
}

for (const l of leaks) {
  checks.push({
    type: "check",
    group: l.group,
    check: "left behind after the group",
    figure: `children ${l.children}, fds ${l.fdsAtStart}→${l.fdsAtEnd}, workers ${l.workers}, ended by itself: ${l.exitedByItself}`,
    promise:
      "no child process, fds back to the start, no worker, nothing pending (the process ends by itself)",
    ok: l.children === 0 && l.fdsAtEnd <= l.fdsAtStart && l.workers === 0 && l.exitedByItself,
  });
}

const width = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
console.log("\nFault, leak and bad-input suite\n");
console.log(`${width("group", 10)} ${width("check", 52)} ${width("ok", 4)} figure`);
console.log("-".repeat(140));
for (const c of checks)
  console.log(
    `${width(c.group, 10)} ${width(c.check, 52)} ${width(c.ok ? "ok" : "FAIL", 4)} ${c.figure}`,
  );
console.log("\nLeaks after each group\n");
console.log(
  `${width("group", 10)} ${width("children", 9)} ${width("fds start→end", 14)} ${width("workers", 8)} ${width("ended by itself (no timer pending)", 34)}`,
);
for (const l of leaks) {
  console.log(
    `${width(l.group, 10)} ${width(String(l.children), 9)} ${width(`${l.fdsAtStart}→${l.fdsAtEnd}`, 14)} ${width(String(l.workers), 8)} ${l.exitedByItself}`,
  );
}
const failed = checks.filter((c) => !c.ok);
if (failed.length) {
  console.log("\nFailed promises:");
  for (const c of failed)
    console.log(`- ${c.group} / ${c.check}: promised ${c.promise}; measured ${c.figure}`);
}
console.log(`\nfaults: ${checks.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length === 0 ? 0 : 1);
