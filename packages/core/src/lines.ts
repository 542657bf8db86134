/**
 * Splits a byte stream into lines: decodes each chunk once with a streaming UTF-8 `TextDecoder`
 * (so a character split across chunks comes out whole) and cuts the text at "\n" with `indexOf`.
 * "\r\n" endings lose their "\r"; a last line without a newline is delivered by `end()`; a
 * byte-order mark is kept as content. A line longer than `maxLineLength` is delivered in pieces
 * (`overflow: "split"`) or cut (`overflow: "truncate"`), and the `LineInfo` passed with it says
 * so; memory stays bounded by `maxLineLength` either way.
 *
 * The designs measured (bench/process.bench.ts): searching the bytes for 10 and decoding each line
 * ("bare-bytes") is 2-3x slower: one decode() per line costs far more than one per chunk. Cutting
 * each chunk at its last newline byte and decoding the part before it without `stream: true`
 * ("bare-segments") is faster as a bare loop (about 1.2x the bare `indexOf` loop in
 * bench/results.json), but a version of it tried inside watchStream measured no faster there
 * (per its author), so it was dropped: more code for no gain. The partial line is kept as string pieces rather than
 * prepended to the next chunk, so a long line is not copied again with every chunk.
 */

/** What a delivered line is. The objects for the common cases are shared: never mutate one. */
export interface LineInfo {
  /** `true` for a piece of an overlong line (`overflow: "split"`) when more of that line follows. */
  readonly continued: boolean;
  /** Characters cut from the end of this line because it was overlong (`overflow: "truncate"`). */
  readonly truncated: number;
}

/** What to do with a line longer than `maxLineLength`. */
export type LineOverflow = "split" | "truncate";

/** Receives each line (without its ending) and what it is. */
export type LineSink = (line: string, info: LineInfo) => void;

/** A whole line: the `info` of nearly every line. */
export const WHOLE_LINE: LineInfo = Object.freeze({ continued: false, truncated: 0 });
const CONTINUED: LineInfo = Object.freeze({ continued: true, truncated: 0 });

const LF = "\n";
const CR = 13;

/**
 * Reusable: after `end()` it starts a fresh stream (counters keep counting). Not re-entrant: a sink
 * must not push into the splitter that called it.
 */
export class LineSplitter {
  /** Lines delivered (a line split into pieces counts once, when it ends). */
  lines = 0;
  /** Lines that were longer than `maxLineLength`. */
  overflows = 0;

  readonly #max: number;
  readonly #truncate: boolean;
  readonly #sink: LineSink;
  /** Streaming, so a character split across chunks comes out whole; a byte-order mark is content. */
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** Text of the current line seen so far (no newline yet), in pieces. */
  #pending: string[] = [];
  #pendingLength = 0;
  /** Truncate mode: characters of the current line dropped so far. */
  #dropped = 0;
  /** Truncate mode: the last dropped character was "\r" (it belongs to a "\r\n" ending). */
  #droppedCR = false;
  /** The current line already counted as an overflow. */
  #overflowing = false;

  constructor(maxLineLength: number, overflow: LineOverflow, sink: LineSink) {
    this.#max = maxLineLength;
    this.#truncate = overflow === "truncate";
    this.#sink = sink;
  }

  /** Feeds one chunk of bytes. */
  push(chunk: Uint8Array): void {
    this.pushText(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Feeds already decoded text (the hot path of `push`). */
  pushText(text: string): void {
    let i = text.indexOf(LF);
    if (i === -1) {
      if (text.length !== 0) this.#hold(text);
      return;
    }
    let start = 0;
    if (this.#pendingLength !== 0 || this.#dropped !== 0) {
      this.#finishPending(text.slice(0, i));
      start = i + 1;
      i = text.indexOf(LF, start);
    }
    const sink = this.#sink;
    const max = this.#max;
    let lines = 0;
    while (i !== -1) {
      const end = i > start && text.charCodeAt(i - 1) === CR ? i - 1 : i;
      if (end - start > max) this.#overlong(text.slice(start, end), 0);
      else sink(text.slice(start, end), WHOLE_LINE);
      lines++;
      start = i + 1;
      i = text.indexOf(LF, start);
    }
    this.lines += lines;
    if (start < text.length) this.#hold(text.slice(start));
  }

  /** The stream ended: delivers a last line that had no newline, and resets for the next stream. */
  end(): void {
    const tail = this.#decoder.decode(); // flushes (an incomplete character becomes U+FFFD) and resets
    if (tail.length !== 0) this.pushText(tail);
    if (this.#pendingLength !== 0 || this.#dropped !== 0) {
      const line = this.#takePending();
      this.#deliverEnded(line, this.#dropped);
      this.lines++;
    }
    this.#dropped = 0;
    this.#droppedCR = false;
    this.#overflowing = false;
  }

  /**
   * Remembers the start of a line whose newline has not come yet, within `maxLineLength`. A "\r"
   * at the end of `text` does not count towards the limit until the next chunk shows whether it
   * is the start of a "\r\n" ending, so the pending text may be one "\r" longer than the limit.
   */
  #hold(text: string): void {
    const max = this.#max;
    const endsCR = text.charCodeAt(text.length - 1) === CR;
    if (this.#truncate) {
      if (this.#dropped !== 0) {
        // Already past the limit: the rest of this line is dropped.
        this.#dropped += text.length;
        this.#droppedCR = endsCR;
        return;
      }
      if (this.#pendingLength > max) {
        // The "\r" held past the limit was content after all: cut there.
        const last = this.#pending.length - 1;
        this.#pending[last] = (this.#pending[last] as string).slice(0, -1);
        this.#pendingLength--;
        this.#dropped = 1 + text.length;
        this.#droppedCR = endsCR;
        this.#markOverflow();
        return;
      }
      const room = max - this.#pendingLength;
      if (text.length - (endsCR ? 1 : 0) > room) {
        const keep = safeCut(text, room);
        this.#dropped += text.length - keep;
        this.#droppedCR = endsCR;
        this.#markOverflow();
        text = text.slice(0, keep);
      }
      if (text.length === 0) return;
    }
    this.#pending.push(text);
    this.#pendingLength += text.length;
    const limit = endsCR ? max + 1 : max;
    if (!this.#truncate && this.#pendingLength > limit) {
      // Deliver full pieces now so memory stays bounded; keep the remainder (at most max, plus
      // a "\r" that may be the start of the line ending).
      this.#markOverflow();
      let rest = this.#takePending();
      while (rest.length > limit) {
        const cut = safeCut(rest, max, true);
        this.#sink(rest.slice(0, cut), CONTINUED);
        rest = rest.slice(cut);
      }
      this.#pending.push(rest);
      this.#pendingLength = rest.length;
    }
  }

  /** The newline of the pending line came; `head` is its text in the current chunk. */
  #finishPending(head: string): void {
    const pending = this.#takePending();
    if (this.#dropped === 0) {
      const line = pending + head;
      this.#deliverEnded(line.charCodeAt(line.length - 1) === CR ? line.slice(0, -1) : line, 0);
    } else {
      // Truncating: the text after the cut, `head` included, is dropped; "\r\n" is not content.
      const endsCR = head.length === 0 ? this.#droppedCR : head.charCodeAt(head.length - 1) === CR;
      this.#sink(pending, {
        continued: false,
        truncated: this.#dropped + head.length - (endsCR ? 1 : 0),
      });
    }
    this.lines++;
    this.#dropped = 0;
    this.#droppedCR = false;
    this.#overflowing = false;
  }

  #deliverEnded(line: string, truncated: number): void {
    if (line.length > this.#max) this.#overlong(line, truncated);
    else if (truncated > 0) this.#sink(line, { continued: false, truncated });
    else this.#sink(line, WHOLE_LINE);
  }

  /** A complete line longer than the limit (`alreadyDropped` characters were cut before). */
  #overlong(line: string, alreadyDropped: number): void {
    this.#markOverflow();
    this.#overflowing = false;
    const max = this.#max;
    if (this.#truncate) {
      const keep = safeCut(line, max);
      this.#sink(line.slice(0, keep), {
        continued: false,
        truncated: alreadyDropped + line.length - keep,
      });
      return;
    }
    let rest = line;
    while (rest.length > max) {
      const cut = safeCut(rest, max, true);
      this.#sink(rest.slice(0, cut), CONTINUED);
      rest = rest.slice(cut);
    }
    this.#sink(rest, WHOLE_LINE);
  }

  #markOverflow(): void {
    if (this.#overflowing) return;
    this.#overflowing = true;
    this.overflows++;
  }

  #takePending(): string {
    const pending = this.#pending;
    const text = pending.length === 1 ? (pending[0] as string) : pending.join("");
    this.#pending = [];
    this.#pendingLength = 0;
    return text;
  }
}

/**
 * `n`, or `n - 1` when cutting at `n` would split a UTF-16 surrogate pair. Cutting to 0 is fine
 * when the rest is dropped (truncate); a split loop passes `progress` so that a piece is never
 * empty (with `maxLineLength` 1 an astral character is then split: there is no better choice).
 */
function safeCut(text: string, n: number, progress = false): number {
  if (n <= 0 || n >= text.length) return Math.max(0, n);
  const code = text.charCodeAt(n - 1);
  return code >= 0xd800 && code <= 0xdbff && (n > 1 || !progress) ? n - 1 : n;
}
