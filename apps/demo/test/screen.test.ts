import { afterEach, expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { waitFor } from "@specter/core/testing";
import { openScreen } from "../src/screen.ts";
import { MAIN, removeRunDirs, runDemo } from "./run.ts";
import { replay } from "./terminal.ts";

afterEach(removeRunDirs);

const COLUMNS = 100;
const ROWS = 30;
/** For the shell that `script` starts: single quotes keep a path with spaces one word. */
const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

test("on a terminal the demo shows a live screen, then leaves a normal summary line", async () => {
  if (!Bun.which("script"))
    throw new Error("needs script(1) from util-linux (.ci/run installs it)");
  // script(1) gives the demo a pseudo-terminal; stty sets its size as a real terminal would.
  const command = [
    `stty cols ${COLUMNS} rows ${ROWS};`,
    `exec ${quote(process.execPath)} ${quote(MAIN)} --port 0 --duration 4s`,
  ].join(" ");
  const demo = runDemo([], ["script", "-qfec", command, "/dev/null"]);
  try {
    expect(await demo.child.exited).toBe(0);
    expect(await demo.stderr).toBe("");
    const { text, frames, sequences } = replay(await demo.output, ROWS);

    // Redrawn in place a few times a second, the cursor hidden meanwhile and given back.
    expect(frames.length).toBeGreaterThanOrEqual(4);
    expect(frames.length).toBeLessThanOrEqual(4 * 5 + 2);
    expect(sequences[0]).toBe("?25l");
    expect(sequences.at(-1)).toBe("?25h");
    for (const frame of frames) {
      expect(frame.length).toBeLessThanOrEqual(ROWS);
      for (const line of frame) expect(Bun.stringWidth(line)).toBeLessThanOrEqual(COLUMNS);
    }

    const last = frames.at(-1)?.join("\n") ?? "";
    expect(last).toMatch(/^Specter demo · up \ds of 4s · Ctrl-C stops$/m);
    expect(last).toMatch(/^status http:\/\/127\.0\.0\.1:\d+\/ · \/status \/events/m);
    for (const service of ["monitor", "logs", "supervisor"])
      expect(last).toMatch(new RegExp(`^${service} +running +up \\ds`, "m"));
    expect(last).toMatch(/^ {2}load +\d+(\.\d+)? \(1-minute average\) +\ds ago$/m);
    expect(last).toMatch(/^ {2}memory +[\d.]+% of \d+ GiB in use/m);
    expect(last).toMatch(/^recent events$/m);
    // The child may be between a crash and its restart in the last frame, but not in all.
    const child = /^ {2}child +pid (\d+|–) +\w+ +up \S+ +restarts \d+ +cpu \S+ +mem /m;
    expect(last).toMatch(child);
    expect(frames.some((f) => /^ {2}child +pid \d+ +running /m.test(f.join("\n")))).toBe(true);

    // Below the last frame: normal lines, the summary last.
    expect(text.at(-2)).toBe("ran for 4s: stopping services in reverse order...");
    expect(text.at(-1)).toMatch(
      /^stopped in \d+ms after .* — left behind: 0 processes, 0 workers, 0 timers$/,
    );
    expect(demo.left()).toEqual([]);
    expect(demo.folders()).toEqual([]);
  } finally {
    demo.child.kill("SIGKILL");
  }
}, 30_000);

type Event = {
  type: string;
  service?: string;
  event?: string;
  value?: unknown;
  status?: string;
};

test("the followed log holds the requests the status server answered", async () => {
  const demo = runDemo(["--port", "0", "--json"]);
  try {
    const events = () => demo.lines.map((l) => JSON.parse(l) as Event);
    const ready = await waitFor(() => events().find((e) => e.type === "ready"), {
      timeout: 10_000,
    });
    const status = ready.status as string;
    const logged = () =>
      events()
        .filter((e) => e.type === "watcher-value" && e.service === "logs")
        .map((e) => e.value as string);
    await waitFor(() => logged().length > 0, { timeout: 10_000 }); // the tail runs

    // The query is not logged: it may carry a token.
    expect((await fetch(`${status}?token=hunter2`)).status).toBe(200);
    expect((await fetch(new URL("/nowhere", status))).status).toBe(404);
    const lines = logged;
    await waitFor(() => lines().some((l) => l.startsWith("GET /nowhere ")), { timeout: 5_000 });
    expect(lines()).toContainEqual(expect.stringMatching(/^GET \/status 200 \d+ms$/));
    expect(lines()).toContainEqual(expect.stringMatching(/^GET \/nowhere 404 \d+ms$/));
    expect(lines().join("\n")).not.toContain("hunter2");

    // Enough requests make the log rotate (renamed, a new one started): the tail reads the old
    // file to its end, then follows the new one from its start. Each request is awaited in the
    // log, so which lines land in which file does not depend on timing.
    const rotated = () => events().some((e) => e.type === "event" && e.event === "rotated");
    for (let i = 0; i < 12; i++) {
      await (await fetch(new URL(`/nowhere/${i}`, status))).arrayBuffer();
      await waitFor(() => lines().some((l) => l.startsWith(`GET /nowhere/${i} 404 `)), {
        timeout: 5_000,
      });
    }
    await waitFor(rotated, { timeout: 5_000 });
    // Written after the rotation, so to the new file.
    await (await fetch(new URL("/after-rotation", status))).arrayBuffer();
    await waitFor(() => lines().some((l) => l.startsWith("GET /after-rotation 404 ")), {
      timeout: 5_000,
    });
    const numbered = lines().flatMap((l) => /^GET \/nowhere\/(\d+) /.exec(l)?.[1] ?? []);
    expect(numbered).toEqual(numbered.map((_, i) => String(i))); // none lost, none twice
    demo.child.kill("SIGINT");
    expect(await demo.child.exited).toBe(0);
    await demo.read;
    expect(events().at(-1)).toMatchObject({ type: "summary", clean: true });
    expect(demo.left()).toEqual([]);
  } finally {
    demo.child.kill("SIGKILL");
  }
}, 30_000);

test("frames are drawn one column short of the terminal, so clearing after a line never takes its last character", () => {
  // A line that fills the terminal leaves the cursor on the last column, where the erase that
  // follows each line (xterm) would clear that column too.
  const fd = openSync("/dev/null", "w");
  const written: string[] = [];
  const sizes: [number, number][] = [];
  const terminal = {
    fd,
    columns: 10,
    rows: 5,
    write: (text: string) => written.push(text),
    on: () => {},
    off: () => {},
  };
  try {
    const screen = openScreen(terminal, (columns, rows) => {
      sizes.push([columns, rows]);
      return ["x".repeat(columns), "short"];
    });
    screen.close();
  } finally {
    closeSync(fd);
  }
  expect(sizes[0]).toEqual([9, 5]);
  // The terminal's driver turns each "\n" into "\r\n" (onlcr), as under script(1).
  const { frames } = replay(written.join("").replaceAll("\n", "\r\n"), 5);
  expect(frames[0]).toEqual(["xxxxxxxxx", "short"]);
});
