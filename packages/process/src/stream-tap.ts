/**
 * One output stream of a managed process (stdout or stderr) and everyone watching it. It outlives
 * the child: each run's `ReadableStream` is read into the same tap (by reader.ts), so watchers
 * stay attached across restarts. Line watchers with the same `maxLineLength`/`overflow` share one
 * splitter, so each chunk is decoded once however many callbacks there are.
 *
 * The per-line fan-out is written out here instead of using the shared `Listeners`: it runs once
 * per line at tens of millions of lines per second, where a Set iterator and a rest-args wrapper
 * per call cost a measurable share (see bench/process.bench.ts).
 */
import { type LineInfo, LineSplitter } from "@specter/core";
import type { WatchConfig } from "./options.ts";
import type { ChunkCallback, LineCallback, StreamStats } from "./types.ts";

type OnError = (error: unknown) => void;

/** Callbacks of one kind; copy-on-write so a callback may (un)subscribe during delivery. */
class Fanout<F> {
  fns: F[] = [];

  add(fn: F): () => void {
    const entry = { fn };
    this.#entries = [...this.#entries, entry];
    this.fns = this.#entries.map((e) => e.fn);
    return () => {
      if (!this.#entries.includes(entry)) return;
      this.#entries = this.#entries.filter((e) => e !== entry);
      this.fns = this.#entries.map((e) => e.fn);
    };
  }

  #entries: { fn: F }[] = [];
}

class LineGroup {
  /** `splitter.lines` when this group started counting for the stream's stats. */
  offset = 0;
  readonly callbacks = new Fanout<LineCallback>();
  readonly splitter: LineSplitter;

  constructor(config: Extract<WatchConfig, { mode: "lines" }>, onError: OnError) {
    const callbacks = this.callbacks;
    const reject = (error: unknown) => onError(error);
    this.splitter = new LineSplitter(
      config.maxLineLength,
      config.overflow,
      (line: string, info: LineInfo): void => {
        const fns = callbacks.fns;
        for (let i = 0; i < fns.length; i++) {
          try {
            const result = (fns[i] as LineCallback)(line, info);
            if (result !== undefined && result instanceof Promise) result.catch(reject);
          } catch (error) {
            onError(error);
          }
        }
      },
    );
  }
}

export class StreamTap {
  #groups = new Map<string, LineGroup>();
  #chunks = new Fanout<ChunkCallback>();
  #bytes = 0;
  /**
   * Lines are counted by the oldest line group (all groups see the same lines); when it goes,
   * its count moves here and the next one takes over from its current count.
   */
  #linesBase = 0;
  #retiredOverflows = 0;
  readonly #onError: OnError;

  constructor(onError: OnError) {
    this.#onError = onError;
  }

  /** Callbacks watching this stream. */
  get watchers(): number {
    let n = this.#chunks.fns.length;
    for (const group of this.#groups.values()) n += group.callbacks.fns.length;
    return n;
  }

  watch(config: WatchConfig, callback: LineCallback | ChunkCallback): () => void {
    if (config.mode === "chunks") return this.#chunks.add(callback as ChunkCallback);
    const key = `${config.maxLineLength}/${config.overflow}`;
    let group = this.#groups.get(key);
    if (!group) {
      group = new LineGroup(config, this.#onError);
      this.#groups.set(key, group);
    }
    const owner = group;
    const remove = owner.callbacks.add(callback as LineCallback);
    return () => {
      remove();
      if (owner.callbacks.fns.length === 0 && this.#groups.get(key) === owner) {
        const wasPrimary = this.#primary() === owner;
        this.#groups.delete(key);
        this.#retiredOverflows += owner.splitter.overflows;
        if (wasPrimary) {
          this.#linesBase += owner.splitter.lines - owner.offset;
          const next = this.#primary();
          if (next) next.offset = next.splitter.lines;
        }
      }
    };
  }

  push(chunk: Uint8Array): void {
    this.#bytes += chunk.byteLength;
    const chunkFns = this.#chunks.fns;
    for (let i = 0; i < chunkFns.length; i++) {
      try {
        const result = (chunkFns[i] as ChunkCallback)(chunk);
        if (result !== undefined && result instanceof Promise) result.catch(this.#onError);
      } catch (error) {
        this.#onError(error);
      }
    }
    for (const group of this.#groups.values()) group.splitter.push(chunk);
  }

  /** The current run's stream ended: flush partial lines. */
  end(): void {
    for (const group of this.#groups.values()) group.splitter.end();
  }

  stats(): StreamStats {
    const primary = this.#primary();
    const lines = this.#linesBase + (primary ? primary.splitter.lines - primary.offset : 0);
    let overflows = this.#retiredOverflows;
    for (const group of this.#groups.values()) overflows += group.splitter.overflows;
    return { lines, bytes: this.#bytes, overflows, watchers: this.watchers };
  }

  #primary(): LineGroup | undefined {
    return this.#groups.values().next().value;
  }
}
