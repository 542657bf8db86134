/**
 * The demo's live screen on a terminal, redrawn in place like `pm2 monit`: each frame goes home and
 * overwrites the lines before it (clearing what is left of each), so nothing scrolls or flickers.
 * Redraws come at most every 250 ms however much happens, and once a second when nothing does
 * (clocks and ages move). The cursor is hidden while it runs and given back when it closes, also
 * when the process exits without closing it.
 */
import { writeSync } from "node:fs";

const ESC = "\x1b[";
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const HOME = `${ESC}H`;
const CLEAR_SCREEN = `${ESC}2J`;
const CLEAR_TO_LINE_END = `${ESC}K`;
const CLEAR_TO_SCREEN_END = `${ESC}J`;

/** Least time between two frames, in milliseconds. */
const MIN_GAP = 250;
const TICK = 1000;

export interface Screen {
  /** Something changed: draw a new frame soon (throttled). */
  update(): void;
  /**
   * Draws a last frame, gives the cursor back and moves below the frame, so what is printed next
   * reads as normal lines under it. Idempotent.
   */
  close(): void;
}

/** A terminal to draw on: `process.stdout` when it is a TTY. */
export interface Terminal {
  readonly fd: number;
  readonly columns?: number;
  readonly rows?: number;
  write(text: string): unknown;
  on(event: "resize", fn: () => void): unknown;
  off(event: "resize", fn: () => void): unknown;
}

/**
 * Takes over the terminal; `draw` returns the frame's lines for the size it is given (at most `rows`
 * lines of at most `columns` columns; `columns` is one less than the terminal's).
 */
export function openScreen(
  terminal: Terminal,
  draw: (columns: number, rows: number) => string[],
): Screen {
  let closed = false;
  let last = -Infinity;
  let pending: Timer | undefined;
  // The first frame, and the first after a resize, clear the whole screen: what was there (or
  // the old frame, wrapped to the new width) would otherwise show between the lines.
  let clearAll = true;

  const render = () => {
    pending = undefined;
    last = performance.now();
    // One column short of the terminal's width: a line that filled it would leave the cursor
    // waiting on the last column, where clearing the rest of the line (xterm) takes the line's
    // last character with it. No newline after the last line: a frame as high as the terminal
    // must not scroll it.
    const lines = draw(Math.max(1, (terminal.columns || 80) - 1), terminal.rows || 24);
    const body = lines.join(`${CLEAR_TO_LINE_END}\n`);
    terminal.write(
      `${clearAll ? CLEAR_SCREEN : ""}${HOME}${body}${CLEAR_TO_LINE_END}${CLEAR_TO_SCREEN_END}`,
    );
    clearAll = false;
  };
  const update = () => {
    if (closed || pending) return;
    pending = setTimeout(render, Math.max(0, last + MIN_GAP - performance.now()));
  };
  const onResize = () => {
    clearAll = true;
    update();
  };
  // Synchronous: at exit there is no later turn for a buffered write.
  const restore = () => writeSync(terminal.fd, `\n${SHOW_CURSOR}`);

  const tick = setInterval(update, TICK);
  terminal.on("resize", onResize);
  process.on("exit", restore);
  terminal.write(HIDE_CURSOR);
  render();

  return {
    update,
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(pending);
      clearInterval(tick);
      terminal.off("resize", onResize);
      process.off("exit", restore);
      render();
      terminal.write(`\n${SHOW_CURSOR}`);
    },
  };
}
