import { describe, expect, test } from "bun:test";
import { type LineInfo, type LineOverflow, LineSplitter } from "../src/index.ts";

const encoder = new TextEncoder();
const WHOLE = { continued: false, truncated: 0 };

/** Splits `chunks` (strings are UTF-8 encoded) and returns [line, info] pairs. */
function split(
  chunks: (string | Uint8Array)[],
  max = 1_000_000,
  overflow: LineOverflow = "split",
): { out: [string, LineInfo][]; splitter: LineSplitter } {
  const out: [string, LineInfo][] = [];
  const splitter = new LineSplitter(max, overflow, (line, info) => {
    out.push([line, info]);
  });
  for (const chunk of chunks) {
    splitter.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
  }
  splitter.end();
  return { out, splitter };
}

const lines = (chunks: (string | Uint8Array)[], max?: number, overflow?: LineOverflow) =>
  split(chunks, max, overflow).out.map(([line]) => line);

describe("LineSplitter", () => {
  test("splits on \\n, without the ending, across and within chunks", () => {
    expect(lines(["a\nb", "c\n", "d\ne\n"])).toEqual(["a", "bc", "d", "e"]);
  });

  test("\\r\\n endings lose the \\r, also when \\r and \\n are in different chunks", () => {
    expect(lines(["a\r\nb\r", "\nc\r\n"])).toEqual(["a", "b", "c"]);
    expect(lines(["a\r", "\n"])).toEqual(["a"]);
    // A bare \r inside a line is content.
    expect(lines(["x\ry\n"])).toEqual(["x\ry"]);
  });

  test("a last line without newline is delivered at end(); a trailing newline adds no line", () => {
    expect(lines(["one\ntwo"])).toEqual(["one", "two"]);
    expect(lines(["one\n"])).toEqual(["one"]);
    expect(lines([])).toEqual([]);
    expect(lines(["", ""])).toEqual([]);
  });

  test("empty lines are lines", () => {
    expect(lines(["\n\na\n\n", "b\n\n"])).toEqual(["", "", "a", "", "b", ""]);
    expect(lines(["\r\n\r\n"])).toEqual(["", ""]);
  });

  test("a multi-byte character split at every possible byte is decoded whole", () => {
    const text = "a€b😀c\né\n";
    const bytes = encoder.encode(text);
    for (let i = 1; i < bytes.length; i++) {
      for (let j = i; j < bytes.length; j++) {
        const got = lines([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
        expect(got).toEqual(["a€b😀c", "é"]);
      }
    }
  });

  test("long lines without newline for many chunks (past the undecoded-bytes limit) stay exact", () => {
    const line = "é€😀x".repeat(20_000); // 200,000 bytes
    const bytes = encoder.encode(`${line}\nnext\n${line}`);
    for (const size of [7_777, 65_536, 65_537, 100_003]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(lines(chunks)).toEqual([line, "next", line]);
    }
  });

  test("byte by byte with a small maxLineLength, pieces join back to the text", () => {
    const text = `${"é€😀x".repeat(20)}\nz`;
    const chunks = [...encoder.encode(text)].map((b) => new Uint8Array([b]));
    const joined: string[] = [];
    let current = "";
    for (const [piece, info] of split(chunks, 5).out) {
      current += piece;
      if (!info.continued) {
        joined.push(current);
        current = "";
      }
    }
    expect(joined).toEqual(["é€😀x".repeat(20), "z"]);
  });

  test("a byte-order mark is content, not stripped", () => {
    expect(lines(["\ufeffa\n", "\ufeffb\n"])).toEqual(["\ufeffa", "\ufeffb"]);
  });

  test("an incomplete character at the very end becomes U+FFFD", () => {
    expect(lines([new Uint8Array([0x61, 0xe2, 0x82])])).toEqual(["a\ufffd"]);
  });

  test("invalid UTF-8 becomes U+FFFD without losing the line structure", () => {
    expect(lines([new Uint8Array([0xff, 0x0a, 0x61, 0x0a])])).toEqual(["\ufffd", "a"]);
  });

  test("counts lines; after end() it starts a fresh stream", () => {
    const out: string[] = [];
    const s = new LineSplitter(100, "split", (line) => {
      out.push(line);
    });
    s.push(encoder.encode("a\nb"));
    s.end();
    s.push(encoder.encode("c\n"));
    s.end();
    expect(out).toEqual(["a", "b", "c"]);
    expect(s.lines).toBe(3);
  });

  describe("maxLineLength", () => {
    test('"split": an overlong line within one chunk comes in pieces; all but the last say continued', () => {
      const { out, splitter } = split(["abcdefghij\nok\n"], 4);
      expect(out.map(([l, i]) => [l, i.continued])).toEqual([
        ["abcd", true],
        ["efgh", true],
        ["ij", false],
        ["ok", false],
      ]);
      expect(out.every(([, i]) => i.truncated === 0)).toBe(true);
      expect(splitter.lines).toBe(2);
      expect(splitter.overflows).toBe(1);
    });

    test('"split": an overlong line across chunks is delivered before its end arrives', () => {
      const out: [string, boolean][] = [];
      const s = new LineSplitter(4, "split", (line, info) => {
        out.push([line, info.continued]);
      });
      s.push(encoder.encode("abc"));
      expect(out).toEqual([]);
      s.push(encoder.encode("defghi"));
      // Memory stays bounded: full pieces go out as soon as there are more than max characters.
      expect(out).toEqual([
        ["abcd", true],
        ["efgh", true],
      ]);
      s.push(encoder.encode("j\r\nnext\n"));
      s.end();
      expect(out).toEqual([
        ["abcd", true],
        ["efgh", true],
        ["ij", false],
        ["next", false],
      ]);
      expect(s.overflows).toBe(1);
      expect(s.lines).toBe(2);
    });

    test('"split": pieces joined give back the line, for lines of every length around the limit', () => {
      for (let n = 0; n <= 13; n++) {
        const line = "x".repeat(n);
        for (const cut of [1, 2, 3, 5]) {
          const text = `${line}\nend\n`;
          const chunks = [];
          for (let i = 0; i < text.length; i += cut) chunks.push(text.slice(i, i + cut));
          const { out } = split(chunks, 4);
          const joined: string[] = [];
          let current = "";
          for (const [l, info] of out) {
            expect(l.length).toBeLessThanOrEqual(4);
            current += l;
            if (!info.continued) {
              joined.push(current);
              current = "";
            }
          }
          expect(joined).toEqual([line, "end"]);
        }
      }
    });

    test('"truncate": an overlong line is cut and says how many characters were cut', () => {
      expect(split(["abcdefghij\r\nok\n"], 4, "truncate").out).toEqual([
        ["abcd", { continued: false, truncated: 6 }],
        ["ok", { continued: false, truncated: 0 }],
      ]);
      // The same line in small chunks, "\r" and "\n" in different chunks.
      const chunks = ["ab", "cdef", "ghi", "j\r", "\nok\n"];
      expect(split(chunks, 4, "truncate").out).toEqual([
        ["abcd", { continued: false, truncated: 6 }],
        ["ok", { continued: false, truncated: 0 }],
      ]);
      // An overlong last line without newline.
      expect(split(["abcdef"], 4, "truncate").out).toEqual([
        ["abcd", { continued: false, truncated: 2 }],
      ]);
    });

    test("never splits a surrogate pair", () => {
      const { out } = split(["a😀b😀\n"], 2);
      expect(out.map(([l]) => l)).toEqual(["a", "😀", "b", "😀"]);
      const t = split(["a😀bc\n"], 2, "truncate").out;
      expect(t).toEqual([["a", { continued: false, truncated: 4 }]]);
    });

    test('"truncate" never delivers a lone surrogate when the cut falls before a pair in a later chunk', () => {
      const t = split(["abcd", "😀xyz", "\n"], 5, "truncate");
      expect(t.out).toEqual([["abcd", { continued: false, truncated: 5 }]]);
      expect(t.out.every(([line]) => line.isWellFormed())).toBe(true);
      expect(t.splitter.overflows).toBe(1);
      // maxLineLength 1 and a line starting with an astral character: cut to nothing.
      expect(split(["😀", "a\n"], 1, "truncate").out).toEqual([
        ["", { continued: false, truncated: 3 }],
      ]);
    });

    test("a line of exactly maxLineLength whose \r\n is split across chunks is not overlong", () => {
      for (const overflow of ["split", "truncate"] as const) {
        const { out, splitter } = split(["abcde\r", "\nab\r", "\n"], 5, overflow);
        expect(out).toEqual([
          ["abcde", WHOLE],
          ["ab", WHOLE],
        ]);
        expect(splitter.overflows).toBe(0);
      }
      // The held "\r" turns out to be content: then the line is overlong after all.
      expect(split(["abcde\r", "x\n"], 5).out).toEqual([
        ["abcde", { continued: true, truncated: 0 }],
        ["\rx", WHOLE],
      ]);
      const t = split(["abcde\r", "x", "\r\n"], 5, "truncate");
      expect(t.out).toEqual([["abcde", { continued: false, truncated: 2 }]]);
      expect(t.splitter.overflows).toBe(1);
      expect(split(["abcde\r"], 5, "truncate").out).toEqual([
        ["abcde", { continued: false, truncated: 1 }],
      ]);
      expect(split(["abcde\r"], 5).out).toEqual([
        ["abcde", { continued: true, truncated: 0 }],
        ["\r", WHOLE],
      ]);
    });
  });
});
